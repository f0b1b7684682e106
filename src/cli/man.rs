//! `coder man`: manual pages from the same command definition as `--help` (clap_mangen), so
//! they cannot drift from it.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_OK, print, usage_error};

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `coder.1` and a page per subcommand (`coder-check.1`, …) into DIR instead of
    /// printing `coder.1`.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

pub fn run(args: ManArgs) -> u8 {
    let command = super::Cli::command_for_coder();
    match args.out_dir {
        Some(dir) => {
            if let Err(e) = std::fs::create_dir_all(&dir) {
                return usage_error(&format!("cannot create `{}`: {e}", dir.display()));
            }
            match clap_mangen::generate_to(command, &dir) {
                Ok(()) => EXIT_OK,
                Err(e) => usage_error(&format!("cannot write to `{}`: {e}", dir.display())),
            }
        }
        None => {
            let mut page = Vec::new();
            if let Err(e) = clap_mangen::Man::new(command).render(&mut page) {
                return usage_error(&format!("cannot render the manual page: {e}"));
            }
            print(&String::from_utf8_lossy(&page))
        }
    }
}
