//! What an agent spent: usage parsed from each agent CLI's output format (live, line by line)
//! and from the usage file any agent may write, priced into credits.
//!
//! # The usage file (`$CODER_USAGE_FILE`)
//!
//! Any agent (the generic command adapter's included) may report what it spent by appending
//! JSON lines to the file `$CODER_USAGE_FILE` names, each an increment:
//! `{"model": "m", "input_tokens": 1000, "output_tokens": 200}` (also `cache_read_tokens`,
//! `cache_write_tokens`) or `{"cost_usd": 0.01}` (optionally with `model`). coder-step polls the
//! file while the agent runs and stops the agent when the run's credits are spent.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::workspace::config::ModelPrice;

/// One model's usage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelUsage {
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// What the agent itself said it cost.
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

/// The largest cost one report may claim, in US dollars. Usage comes from the agent, which may
/// be hostile: a cost outside `0..=MAX_COST_USD` (negative, which would refill the budget, or
/// as large as `1e308`, whose sum is infinite and unreadable once written) is not usage.
pub const MAX_COST_USD: f64 = 1e12;

/// `cost` when it is a cost an agent can have run up.
pub fn valid_cost(cost: f64) -> Option<f64> {
    (cost.is_finite() && (0.0..=MAX_COST_USD).contains(&cost)).then_some(cost)
}

impl ModelUsage {
    /// Sums saturate: token counts near `u64::MAX` stop there instead of wrapping to little.
    fn add(&mut self, other: &ModelUsage) {
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cache_read_tokens = self
            .cache_read_tokens
            .saturating_add(other.cache_read_tokens);
        self.cache_write_tokens = self
            .cache_write_tokens
            .saturating_add(other.cache_write_tokens);
        self.cost_usd = match (self.cost_usd, other.cost_usd) {
            (None, None) => None,
            (a, b) => Some(
                (a.and_then(valid_cost).unwrap_or(0.0) + b.and_then(valid_cost).unwrap_or(0.0))
                    .min(f64::MAX),
            ),
        };
    }
}

/// Usages summed per model (an invalid cost counts as none).
pub fn merge(into: &mut Vec<ModelUsage>, usage: &ModelUsage) {
    let usage = ModelUsage {
        cost_usd: usage.cost_usd.and_then(valid_cost),
        ..usage.clone()
    };
    match into.iter_mut().find(|u| u.model == usage.model) {
        Some(existing) => existing.add(&usage),
        None => into.push(usage),
    }
}

/// An agent step's usage and credits, as `run.json` records them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepUsage {
    pub models: Vec<ModelUsage>,
    pub credits: f64,
    /// Some credits came from the agent's own cost, not the price table.
    pub estimated: bool,
    /// Models with neither a price nor a reported cost: their tokens count no credits.
    #[serde(default)]
    pub unpriced_models: Vec<String>,
}

/// Tokens × the price table, in credits.
#[derive(Clone, Debug)]
pub struct Pricing {
    pub prices: Vec<(String, ModelPrice)>,
    pub credit_usd: f64,
}

/// One credit is one US cent unless `[budget] credit-usd` says otherwise.
pub const DEFAULT_CREDIT_USD: f64 = 0.01;

impl Pricing {
    pub fn from_config(config: &crate::workspace::Config) -> Pricing {
        Pricing {
            prices: config
                .agent
                .prices
                .iter()
                .map(|(model, price)| (model.clone(), *price))
                .collect(),
            credit_usd: config
                .budget
                .credit_usd
                .filter(|u| *u > 0.0)
                .unwrap_or(DEFAULT_CREDIT_USD),
        }
    }

    /// The price of `model`: exact, then without a `[1m]`-style suffix or a `provider/`
    /// prefix, then `"*"`.
    fn price(&self, model: &str) -> Option<&ModelPrice> {
        let base = model.split('[').next().unwrap_or(model);
        let bare = base.rsplit('/').next().unwrap_or(base);
        [model, base, bare, "*"]
            .iter()
            .find_map(|key| self.prices.iter().find(|(m, _)| m == key).map(|(_, p)| p))
    }

    pub fn price_usage(&self, models: &[ModelUsage]) -> StepUsage {
        let mut out = StepUsage {
            models: models.to_vec(),
            ..StepUsage::default()
        };
        for usage in models {
            let usd = match self.price(&usage.model) {
                Some(price) => {
                    (usage.input_tokens as f64 * price.input
                        + usage.output_tokens as f64 * price.output
                        + usage.cache_read_tokens as f64 * price.cache_read.unwrap_or(price.input)
                        + usage.cache_write_tokens as f64
                            * price.cache_write.unwrap_or(price.input))
                        / 1_000_000.0
                }
                None => match usage.cost_usd.and_then(valid_cost) {
                    Some(cost) => {
                        out.estimated = true;
                        cost
                    }
                    None => {
                        if usage.input_tokens.saturating_add(usage.output_tokens) > 0 {
                            out.unpriced_models.push(usage.model.clone());
                            out.estimated = true;
                        }
                        0.0
                    }
                },
            };
            out.credits += usd / self.credit_usd;
        }
        // Whatever the counts, the credits stay a finite, non-negative number.
        out.credits = if out.credits.is_finite() {
            out.credits.max(0.0)
        } else {
            f64::MAX
        };
        out
    }
}

/// How an agent's stdout is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Plain text: nothing to parse (usage comes from the usage file only).
    Text,
    /// Claude Code `--output-format stream-json --verbose` (or `json`: its last line).
    Claude,
    /// Codex `exec --json`.
    Codex,
    /// Gemini CLI `--output-format json` (one object, possibly over many lines).
    Gemini,
    /// aider's `Tokens: … sent, … received. Cost: …` lines.
    Aider,
}

/// How the agent said it ended (never trusted alone: coder-step decides from git, the
/// deadline and the ledger too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Completed,
    AgentError(String),
    MaxTurns,
    BudgetExceeded,
}

/// What parsing the agent's output found.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// Increments seen so far (live metering).
    pub live: Vec<ModelUsage>,
    /// The agent's own final account, which replaces the increments (Claude's `result`).
    pub total: Option<Vec<ModelUsage>>,
    pub verdict: Option<Verdict>,
    pub summary: Option<String>,
    pub session_id: Option<String>,
    /// The counts are the CLI's rounded estimates (aider's `1.0k`).
    pub estimated: bool,
}

impl Parsed {
    pub fn usage(&self) -> &[ModelUsage] {
        self.total.as_deref().unwrap_or(&self.live)
    }
}

/// A line-by-line reader of one output format.
pub struct OutputParser {
    format: OutputFormat,
    /// The model to charge usage reported without one.
    default_model: String,
    /// Gemini's JSON, collected until the end.
    buffer: String,
    pub parsed: Parsed,
}

impl OutputParser {
    pub fn new(format: OutputFormat, default_model: Option<&str>) -> OutputParser {
        OutputParser {
            format,
            default_model: default_model.unwrap_or("unknown").to_string(),
            buffer: String::new(),
            parsed: Parsed::default(),
        }
    }

    pub fn line(&mut self, line: &str) {
        match self.format {
            OutputFormat::Text => {}
            OutputFormat::Claude => self.claude(line),
            OutputFormat::Codex => self.codex(line),
            OutputFormat::Gemini => {
                if self.buffer.len() < 16 << 20 {
                    self.buffer.push_str(line);
                    self.buffer.push('\n');
                }
            }
            OutputFormat::Aider => self.aider(line),
        }
    }

    /// The output ended: formats read whole are parsed now, and the whole output (stdout
    /// and stderr, where CLIs print their errors) is searched for the CLI's error message.
    pub fn end(&mut self, exit_code: Option<i32>, output: &str) {
        match self.format {
            OutputFormat::Gemini => {
                let buffer = std::mem::take(&mut self.buffer);
                // On an API error its JSON goes to stderr, stdout stays empty.
                let text = if buffer.trim().is_empty() {
                    output
                } else {
                    &buffer
                };
                self.gemini(text, exit_code);
            }
            // aider prints an API error and exits 0.
            OutputFormat::Aider => {
                if let Some(line) = output.lines().find(|l| {
                    let l = l.trim_start();
                    l.starts_with("litellm.") && l.contains("Error")
                }) && !matches!(self.parsed.verdict, Some(Verdict::AgentError(_)))
                {
                    self.parsed.verdict = Some(Verdict::AgentError(line.trim().to_string()));
                }
            }
            _ => {}
        }
        // A CLI's failure it gave no reason for: its last error line.
        if self.format != OutputFormat::Text
            && exit_code.is_some_and(|c| c != 0)
            && self.parsed.verdict.is_none()
            && let Some(line) = output
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| l.to_lowercase().contains("error"))
        {
            self.parsed.verdict = Some(Verdict::AgentError(line.chars().take(2000).collect()));
        }
    }

    fn claude(&mut self, line: &str) {
        let Ok(event) = serde_json::from_str::<Value>(line.trim()) else {
            return;
        };
        match event.get("type").and_then(Value::as_str) {
            Some("system") => {
                if let Some(id) = str_field(&event, "session_id") {
                    self.parsed.session_id = Some(id);
                }
            }
            // Assistant usage comes from `message_start` and undercounts output; live only.
            Some("assistant") => {
                let message = &event["message"];
                let usage = &message["usage"];
                let model = str_field(message, "model").unwrap_or(self.default_model.clone());
                merge(
                    &mut self.parsed.live,
                    &ModelUsage {
                        model,
                        input_tokens: u64_field(usage, "input_tokens"),
                        output_tokens: u64_field(usage, "output_tokens"),
                        cache_read_tokens: u64_field(usage, "cache_read_input_tokens"),
                        cache_write_tokens: u64_field(usage, "cache_creation_input_tokens"),
                        cost_usd: None,
                    },
                );
            }
            Some("result") => self.claude_result(&event),
            _ => {}
        }
    }

    fn claude_result(&mut self, result: &Value) {
        let mut total = Vec::new();
        if let Some(models) = result.get("modelUsage").and_then(Value::as_object) {
            for (model, u) in models {
                merge(
                    &mut total,
                    &ModelUsage {
                        model: model.clone(),
                        input_tokens: u64_field(u, "inputTokens"),
                        output_tokens: u64_field(u, "outputTokens"),
                        cache_read_tokens: u64_field(u, "cacheReadInputTokens"),
                        cache_write_tokens: u64_field(u, "cacheCreationInputTokens"),
                        cost_usd: u.get("costUSD").and_then(Value::as_f64),
                    },
                );
            }
        }
        if total.is_empty() {
            let u = &result["usage"];
            total.push(ModelUsage {
                model: self.default_model.clone(),
                input_tokens: u64_field(u, "input_tokens"),
                output_tokens: u64_field(u, "output_tokens"),
                cache_read_tokens: u64_field(u, "cache_read_input_tokens"),
                cache_write_tokens: u64_field(u, "cache_creation_input_tokens"),
                cost_usd: result.get("total_cost_usd").and_then(Value::as_f64),
            });
        }
        self.parsed.total = Some(total);
        if let Some(id) = str_field(result, "session_id") {
            self.parsed.session_id = Some(id);
        }
        let subtype = result.get("subtype").and_then(Value::as_str).unwrap_or("");
        let is_error = result.get("is_error").and_then(Value::as_bool) == Some(true);
        let text = str_field(result, "result");
        let errors = result
            .get("errors")
            .and_then(Value::as_array)
            .map(|e| {
                e.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .filter(|e| !e.is_empty());
        self.parsed.verdict = Some(match subtype {
            "error_max_turns" => Verdict::MaxTurns,
            "error_max_budget_usd" => Verdict::BudgetExceeded,
            "success" if !is_error => Verdict::Completed,
            _ => Verdict::AgentError(
                errors
                    .or(text.clone())
                    .unwrap_or_else(|| format!("the agent reported `{subtype}`")),
            ),
        });
        self.parsed.summary = text;
    }

    fn codex(&mut self, line: &str) {
        let Ok(event) = serde_json::from_str::<Value>(line.trim()) else {
            return;
        };
        match event.get("type").and_then(Value::as_str) {
            Some("thread.started") => self.parsed.session_id = str_field(&event, "thread_id"),
            Some("turn.completed") => {
                let u = &event["usage"];
                // OpenAI counts cached tokens inside input_tokens.
                let cached = u64_field(u, "cached_input_tokens");
                merge(
                    &mut self.parsed.live,
                    &ModelUsage {
                        model: self.default_model.clone(),
                        input_tokens: u64_field(u, "input_tokens").saturating_sub(cached),
                        output_tokens: u64_field(u, "output_tokens"),
                        cache_read_tokens: cached,
                        cache_write_tokens: u64_field(u, "cache_write_input_tokens"),
                        cost_usd: None,
                    },
                );
                if self.parsed.verdict.is_none() {
                    self.parsed.verdict = Some(Verdict::Completed);
                }
            }
            Some("turn.failed") => {
                let message = event["error"]
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("the turn failed")
                    .to_string();
                self.parsed.verdict = Some(Verdict::AgentError(message));
            }
            Some("item.completed") if event["item"]["type"] == "agent_message" => {
                self.parsed.summary = str_field(&event["item"], "text");
            }
            _ => {}
        }
    }

    fn gemini(&mut self, text: &str, exit_code: Option<i32>) {
        // Anything printed before the object (warnings, a stack) is skipped: the object starts
        // a line.
        let parsed = std::iter::once(0)
            .chain(text.match_indices("\n{").map(|(i, _)| i + 1))
            .filter(|&i| text[i..].starts_with('{'))
            .find_map(|i| serde_json::from_str::<Value>(&text[i..]).ok());
        if let Some(output) = parsed {
            if let Some(models) = output["stats"]["models"].as_object() {
                for (model, stats) in models {
                    let t = &stats["tokens"];
                    let cached = u64_field(t, "cached");
                    let input = t
                        .get("input")
                        .and_then(Value::as_u64)
                        .unwrap_or_else(|| u64_field(t, "prompt").saturating_sub(cached));
                    merge(
                        &mut self.parsed.live,
                        &ModelUsage {
                            model: model.clone(),
                            input_tokens: input,
                            output_tokens: u64_field(t, "candidates")
                                .saturating_add(u64_field(t, "thoughts")),
                            cache_read_tokens: cached,
                            cache_write_tokens: 0,
                            cost_usd: None,
                        },
                    );
                }
            }
            self.parsed.session_id = str_field(&output, "session_id");
            self.parsed.summary = str_field(&output, "response");
            if let Some(error) = output.get("error").filter(|e| !e.is_null()) {
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("the agent reported an error");
                // An API error's message is the API's JSON: its own message is the reason.
                let message = serde_json::from_str::<Value>(message)
                    .ok()
                    .and_then(|v| str_field(&v["error"], "message"))
                    .unwrap_or_else(|| message.to_string());
                self.parsed.verdict = Some(Verdict::AgentError(message));
            }
        }
        if self.parsed.verdict.is_none() {
            self.parsed.verdict = Some(match exit_code {
                Some(0) => Verdict::Completed,
                // Gemini CLI's documented turn-limit exit code.
                Some(53) => Verdict::MaxTurns,
                Some(code) => Verdict::AgentError(format!("gemini exited with code {code}")),
                None => Verdict::AgentError("gemini was stopped".to_string()),
            });
        }
    }

    /// `Tokens: 2.1k sent, 1.2k cache hit, 19 received. Cost: $0.01 message, $0.02 session.`
    fn aider(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("Tokens:") else {
            return;
        };
        let (tokens, cost) = match rest.split_once("Cost:") {
            Some((tokens, cost)) => (tokens, Some(cost)),
            None => (rest, None),
        };
        let mut usage = ModelUsage {
            model: self.default_model.clone(),
            ..ModelUsage::default()
        };
        for part in tokens.split(',') {
            let part = part.trim().trim_end_matches('.');
            let Some((number, label)) = part.split_once(' ') else {
                continue;
            };
            let Some(count) = count(number) else { continue };
            match label.trim() {
                "sent" => usage.input_tokens = usage.input_tokens.saturating_add(count),
                "received" => usage.output_tokens = usage.output_tokens.saturating_add(count),
                "cache hit" => {
                    usage.cache_read_tokens = usage.cache_read_tokens.saturating_add(count);
                }
                "cache write" => {
                    usage.cache_write_tokens = usage.cache_write_tokens.saturating_add(count);
                }
                _ => {}
            }
        }
        // The message's cost, the first amount.
        usage.cost_usd = cost
            .and_then(|c| c.split(',').next())
            .and_then(|c| c.trim().trim_start_matches('$').split(' ').next())
            .and_then(|c| c.parse::<f64>().ok());
        merge(&mut self.parsed.live, &usage);
        // aider rounds to 0.1k above a thousand.
        self.parsed.estimated = true;
    }
}

/// `649`, `2.1k`, `1.5M`.
fn count(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, scale) = match text.chars().last()? {
        'k' | 'K' => (&text[..text.len() - 1], 1e3),
        'm' | 'M' => (&text[..text.len() - 1], 1e6),
        _ => (text, 1.0),
    };
    let value: f64 = number.parse().ok()?;
    Some((value * scale).round() as u64)
}

fn u64_field(value: &Value, name: &str) -> u64 {
    value.get(name).and_then(Value::as_u64).unwrap_or(0)
}

fn str_field(value: &Value, name: &str) -> Option<String> {
    value.get(name).and_then(Value::as_str).map(str::to_string)
}

/// One line of the usage file.
#[derive(Debug, Default, Deserialize)]
struct UsageLine {
    model: Option<String>,
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_tokens: u64,
    #[serde(default)]
    cache_write_tokens: u64,
    cost_usd: Option<f64>,
}

/// The usage file, read as it grows.
pub struct UsageFile {
    path: std::path::PathBuf,
    offset: u64,
    partial: String,
    default_model: String,
    pub usage: Vec<ModelUsage>,
    /// Lines that were not usage JSON, for the step's message.
    pub rejected: usize,
    /// Inside a line past [`MAX_USAGE_LINE`], skipped to its end.
    overlong: bool,
}

/// The longest line of the usage file taken as usage.
const MAX_USAGE_LINE: usize = 64 * 1024;

impl UsageFile {
    pub fn new(path: std::path::PathBuf, default_model: Option<&str>) -> UsageFile {
        UsageFile {
            path,
            offset: 0,
            partial: String::new(),
            default_model: default_model.unwrap_or("unknown").to_string(),
            usage: Vec::new(),
            rejected: 0,
            overlong: false,
        }
    }

    /// Read what was appended since the last poll.
    pub fn poll(&mut self) {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut text = String::new();
        let Ok(read) = file.take(1 << 20).read_to_string(&mut text) else {
            return;
        };
        self.offset += read as u64;
        self.partial.push_str(&text);
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            if std::mem::take(&mut self.overlong) {
                continue;
            }
            self.take_line(&line);
        }
        // A line longer than any usage record is not one: dropped up to its end, so an agent
        // cannot make coder hold an endless line.
        if self.partial.len() > MAX_USAGE_LINE {
            self.partial.clear();
            if !self.overlong {
                self.rejected += 1;
            }
            self.overlong = true;
        }
    }

    /// The agent ended: a last line without a newline counts too.
    pub fn finish(&mut self) {
        self.poll();
        let rest = std::mem::take(&mut self.partial);
        if !self.overlong {
            self.take_line(&rest);
        }
    }

    fn take_line(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        match serde_json::from_str::<UsageLine>(line.trim()) {
            Ok(u) if u.cost_usd.is_some_and(|c| valid_cost(c).is_none()) => self.rejected += 1,
            Ok(u) => merge(
                &mut self.usage,
                &ModelUsage {
                    model: u.model.unwrap_or_else(|| self.default_model.clone()),
                    input_tokens: u.input_tokens,
                    output_tokens: u.output_tokens,
                    cache_read_tokens: u.cache_read_tokens,
                    cache_write_tokens: u.cache_write_tokens,
                    cost_usd: u.cost_usd,
                },
            ),
            Err(_) => self.rejected += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUTS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/agents/outputs/"
    );

    fn parse(format: OutputFormat, file: &str, exit: i32) -> Parsed {
        let text = std::fs::read_to_string(format!("{OUTPUTS}{file}")).expect(file);
        let mut parser = OutputParser::new(format, Some("mock-model"));
        for line in text.lines() {
            parser.line(line);
        }
        parser.end(Some(exit), &text);
        parser.parsed
    }

    fn pricing() -> Pricing {
        Pricing {
            prices: vec![
                (
                    "claude-sonnet-4-5".to_string(),
                    ModelPrice {
                        input: 3.0,
                        output: 15.0,
                        cache_read: Some(0.3),
                        cache_write: None,
                    },
                ),
                (
                    "mock-model".to_string(),
                    ModelPrice {
                        input: 1.0,
                        output: 10.0,
                        cache_read: None,
                        cache_write: None,
                    },
                ),
            ],
            credit_usd: DEFAULT_CREDIT_USD,
        }
    }

    #[test]
    fn claude_stream_json_takes_the_result_as_the_total() {
        let parsed = parse(OutputFormat::Claude, "claude-stream.jsonl", 0);
        assert_eq!(parsed.verdict, Some(Verdict::Completed));
        assert_eq!(parsed.summary.as_deref(), Some("Added hello.txt."));
        assert_eq!(parsed.session_id.as_deref(), Some("6fb1c0de"));
        // Live increments undercount output; the result is authoritative.
        assert_eq!(parsed.live[0].output_tokens, 2);
        let usage = parsed.usage();
        assert_eq!(usage.len(), 1);
        assert_eq!(usage[0].model, "claude-sonnet-4-5");
        assert_eq!((usage[0].input_tokens, usage[0].output_tokens), (2000, 400));
        assert_eq!(usage[0].cost_usd, Some(0.012));
        let priced = pricing().price_usage(usage);
        assert!(!priced.estimated);
        assert!((priced.credits - 1.2).abs() < 1e-9, "{}", priced.credits);
    }

    #[test]
    fn claude_json_result_and_error_subtypes() {
        let parsed = parse(OutputFormat::Claude, "claude-result.json", 0);
        assert_eq!(parsed.verdict, Some(Verdict::Completed));
        assert_eq!(parsed.usage()[0].model, "claude-opus-4-8[1m]");
        // No price for opus: the agent's own cost, marked estimated.
        let priced = pricing().price_usage(parsed.usage());
        assert!(priced.estimated);
        assert!((priced.credits - 1.0).abs() < 1e-9);
        let budget = parse(OutputFormat::Claude, "claude-budget.json", 1);
        assert_eq!(budget.verdict, Some(Verdict::BudgetExceeded));
        let api = parse(OutputFormat::Claude, "claude-api-error.json", 1);
        assert!(
            matches!(&api.verdict, Some(Verdict::AgentError(m)) if m.contains("API Error: 500"))
        );
    }

    #[test]
    fn codex_sums_turns() {
        let parsed = parse(OutputFormat::Codex, "codex.jsonl", 0);
        assert_eq!(parsed.verdict, Some(Verdict::Completed));
        assert_eq!(parsed.summary.as_deref(), Some("Done"));
        let u = &parsed.usage()[0];
        assert_eq!(
            (u.input_tokens, u.cache_read_tokens, u.output_tokens),
            (1800, 200, 400)
        );
        let priced = pricing().price_usage(parsed.usage());
        // 1800 × $1 + 200 × $1 + 400 × $10 per million = $0.006.
        assert!((priced.credits - 0.6).abs() < 1e-9, "{}", priced.credits);
    }

    #[test]
    fn gemini_json_over_many_lines() {
        let parsed = parse(OutputFormat::Gemini, "gemini.json", 0);
        assert_eq!(parsed.verdict, Some(Verdict::Completed));
        assert_eq!(parsed.summary.as_deref(), Some("Added hello.txt."));
        let u = &parsed.usage()[0];
        assert_eq!(u.model, "gemini-2.5-flash");
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.cache_read_tokens),
            (900, 150, 100)
        );
        let turns = parse(OutputFormat::Gemini, "gemini.json", 53);
        assert_eq!(turns.verdict, Some(Verdict::MaxTurns));
    }

    #[test]
    fn aider_lines() {
        let parsed = parse(OutputFormat::Aider, "aider.txt", 0);
        let u = &parsed.usage()[0];
        assert_eq!(u.model, "mock-model");
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.cache_read_tokens),
            (649 + 2100, 19 + 1200, 300)
        );
        assert!((u.cost_usd.unwrap_or_default() - 0.0012).abs() < 1e-9);
        assert_eq!(count("1.5M"), Some(1_500_000));
        // Rounded to 0.1k: an estimate.
        assert!(parsed.estimated);
        let mut priced = pricing().price_usage(parsed.usage());
        priced.estimated |= parsed.estimated;
        assert!(priced.estimated);
    }

    /// aider 0.86.2 on a 400 from the API: the error printed, exit 0.
    #[test]
    fn an_aider_api_error_is_an_error_though_it_exits_0() {
        let parsed = parse(OutputFormat::Aider, "aider-api-error.txt", 0);
        assert_eq!(
            parsed.verdict,
            Some(Verdict::AgentError(
                "litellm.BadRequestError: OpenAIException - mock model says: this request is malformed".to_string()
            ))
        );
        assert!(!parsed.estimated);
    }

    /// Gemini CLI 0.61.0 on a 400: stdout empty, a stack and its JSON on stderr, exit 144.
    #[test]
    fn a_gemini_api_error_is_read_from_stderr() {
        let text = std::fs::read_to_string(format!("{OUTPUTS}gemini-api-error.txt")).expect("file");
        let mut parser = OutputParser::new(OutputFormat::Gemini, Some("gemini-2.5-flash"));
        parser.end(Some(144), &text);
        assert_eq!(
            parser.parsed.verdict,
            Some(Verdict::AgentError(
                "mock model says: this request is malformed".to_string()
            ))
        );
    }

    /// A preset's CLI that fails without saying so in its format: its last error line.
    #[test]
    fn a_failing_cli_without_a_verdict_gives_its_last_error_line() {
        let mut parser = OutputParser::new(OutputFormat::Codex, None);
        parser.end(Some(1), "starting\nError: stream disconnected\nbye\n");
        assert_eq!(
            parser.parsed.verdict,
            Some(Verdict::AgentError(
                "Error: stream disconnected".to_string()
            ))
        );
        let mut text = OutputParser::new(OutputFormat::Text, None);
        text.end(Some(1), "Error: ignored for commands\n");
        assert_eq!(text.parsed.verdict, None);
    }

    #[test]
    fn usage_file_increments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("usage.jsonl");
        std::fs::write(
            &path,
            "{\"model\":\"mock-model\",\"input_tokens\":1000,\"output_tokens\":100}\nnot json\n{\"cost_usd\":0.05}",
        )
        .expect("write");
        let mut file = UsageFile::new(path, Some("other"));
        file.poll();
        assert_eq!(file.usage.len(), 1);
        file.finish();
        assert_eq!(file.rejected, 1);
        let priced = pricing().price_usage(&file.usage);
        // $0.002 priced + $0.05 reported for an unpriced model.
        assert!((priced.credits - 5.2).abs() < 1e-9, "{}", priced.credits);
        assert!(priced.estimated);
    }
}
