//! `coder explain`.

use clap::{Args, ValueEnum};

use super::{EXIT_OK, print, usage_error};
use crate::diag::Code;
use crate::diag::suggest::did_you_mean;

#[derive(Debug, Args)]
#[command(arg_required_else_help = true)]
pub struct ExplainArgs {
    /// A code (`C0101`) or its name (`unknown-key`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    code: Option<String>,
    /// Every code.
    #[arg(long)]
    all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    format: ExplainFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Text,
    Json,
}

pub fn run(args: ExplainArgs) -> u8 {
    let codes: Vec<Code> = match &args.code {
        None => Code::ALL.to_vec(),
        Some(query) => match Code::lookup(query) {
            Some(code) => vec![code],
            None => {
                let names = Code::ALL
                    .iter()
                    .flat_map(|c| [c.info().code, c.info().name]);
                let hint = did_you_mean(query, names)
                    .map(|best| format!("; did you mean `{best}`?"))
                    .unwrap_or_default();
                return usage_error(&format!(
                    "unknown diagnostic code `{query}`{hint} (`coder explain --all` lists them)"
                ));
            }
        },
    };
    let text = match args.format {
        ExplainFormat::Json => {
            let infos: Vec<_> = codes.iter().map(|c| c.info()).collect();
            let mut json = serde_json::to_string_pretty(&infos).unwrap_or_default();
            json.push('\n');
            json
        }
        ExplainFormat::Text if args.all => crate::diag::codes::code_table(),
        ExplainFormat::Text => codes
            .iter()
            .map(|c| {
                let info = c.info();
                format!(
                    "{} ({}, {}): {}\n\n{}\n",
                    info.code,
                    info.name,
                    info.severity.as_str(),
                    info.summary,
                    info.explanation()
                )
            })
            .collect(),
    };
    let status = print(&text);
    if status == EXIT_OK { EXIT_OK } else { status }
}
