//! `ledger.json`: what the run has spent, across steps and CI jobs (it travels with the run
//! directory): wall clock between `begin` and `finish` (time waiting for an approval or a
//! runner does not count), and credits, one entry per agent step.
//!
//! ```text
//! {"schema_version": 1, "wall_clock_limit_sec", "wall_clock_used_sec", "job_started_at",
//!  "credit_limit", "credit_usd", "credits_used", "estimated",
//!  "entries": [{"step_id", "at", "models": [ModelUsage], "credits", "estimated",
//!               "unpriced_models"}]}
//! ```

use serde::{Deserialize, Serialize};

use super::Context;
use super::record::{Credits, SCHEMA_VERSION};
use super::time::{now, seconds_between};
use super::usage::{DEFAULT_CREDIT_USD, ModelUsage, Pricing, StepUsage};

const LEDGER_FILE: &str = "ledger.json";

/// The credit cap of a run when neither its spec (`max_credits`) nor the configuration
/// (`[budget] default-max-credits`) sets one: 1000 credits, ten US dollars at the default unit.
pub const DEFAULT_MAX_CREDITS: f64 = 1000.0;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ledger {
    pub schema_version: u32,
    pub wall_clock_limit_sec: i64,
    /// Spent by the jobs that finished.
    pub wall_clock_used_sec: i64,
    /// When the job running now began.
    pub job_started_at: Option<String>,
    /// Absent in ledgers written before credits were metered: filled in on load.
    #[serde(default)]
    pub credit_limit: Option<f64>,
    #[serde(default)]
    pub credit_usd: Option<f64>,
    #[serde(default)]
    pub credits_used: f64,
    #[serde(default)]
    pub estimated: bool,
    #[serde(default)]
    pub entries: Vec<LedgerEntry>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub step_id: String,
    pub at: String,
    #[serde(flatten)]
    pub usage: StepUsage,
}

impl Ledger {
    pub fn load(cx: &Context) -> Ledger {
        let mut ledger = std::fs::read_to_string(cx.run_dir.join(LEDGER_FILE))
            .ok()
            .and_then(|text| serde_json::from_str::<Ledger>(&text).ok())
            .unwrap_or_else(|| Ledger {
                schema_version: SCHEMA_VERSION,
                wall_clock_limit_sec: cx.workflow.policies.max_wall_clock_sec,
                ..Ledger::default()
            });
        if ledger.credit_limit.is_none() {
            ledger.credit_limit = Some(credit_limit(cx));
        }
        if ledger.credit_usd.is_none() {
            ledger.credit_usd = Some(super::usage::Pricing::from_config(&cx.config).credit_usd);
        }
        ledger
    }

    pub fn save(&self, cx: &Context) -> Result<(), String> {
        let json = cx
            .redactor
            .to_json(self)
            .map_err(|e| format!("cannot serialize the ledger: {e}"))?;
        Ok(crate::fs::atomic_write(
            &cx.run_dir.join(LEDGER_FILE),
            json.as_bytes(),
        )?)
    }

    /// Seconds of wall clock the run has left now.
    pub fn remaining_sec(&self) -> i64 {
        let running = self
            .job_started_at
            .as_deref()
            .map_or(0, |start| seconds_between(start, &now()).max(0));
        self.wall_clock_limit_sec - self.wall_clock_used_sec - running
    }

    pub fn credit_limit(&self) -> f64 {
        self.credit_limit.unwrap_or(DEFAULT_MAX_CREDITS)
    }

    pub fn credit_usd(&self) -> f64 {
        self.credit_usd
            .filter(|u| *u > 0.0)
            .unwrap_or(DEFAULT_CREDIT_USD)
    }

    pub fn remaining_credits(&self) -> f64 {
        self.credit_limit() - self.credits_used
    }

    /// Book an agent step's usage.
    pub fn charge(&mut self, step_id: &str, usage: &StepUsage) {
        self.credits_used += usage.credits;
        self.estimated |= usage.estimated;
        self.entries.push(LedgerEntry {
            step_id: step_id.to_string(),
            at: now(),
            usage: usage.clone(),
        });
    }

    /// The run record's view of the credits.
    pub fn credits(&self) -> Credits {
        Credits {
            used: round(self.credits_used),
            limit: self.credit_limit(),
            unit_usd: self.credit_usd(),
            estimated: self.estimated,
        }
    }
}

/// Credits to four decimals, for people reading the record.
pub fn round(credits: f64) -> f64 {
    (credits * 10_000.0).round() / 10_000.0
}

/// The spec's `max_credits`, else the configured default cap, else [`DEFAULT_MAX_CREDITS`].
fn credit_limit(cx: &Context) -> f64 {
    cx.workflow
        .policies
        .max_credits
        .or(cx.config.budget.default_max_credits)
        .unwrap_or(DEFAULT_MAX_CREDITS)
}

/// Whether the run's credits are capped on purpose: the spec's `max_credits` or the
/// configuration's `[budget] default-max-credits` (not only coder's default cap).
fn credit_cap_set(cx: &Context) -> bool {
    cx.workflow.policies.max_credits.is_some() || cx.config.budget.default_max_credits.is_some()
}

/// Of `models`, those `pricing` has no price for (a `"*"` price covers every model).
pub fn unpriced<'m>(pricing: &Pricing, models: impl IntoIterator<Item = &'m str>) -> Vec<String> {
    models
        .into_iter()
        .filter(|model| {
            let probe = ModelUsage {
                model: model.to_string(),
                input_tokens: 1,
                ..ModelUsage::default()
            };
            !pricing.price_usage(&[probe]).unpriced_models.is_empty()
        })
        .map(str::to_string)
        .collect()
}

/// What to say about tokens of `models` that count no credits: a warning always, and, when
/// the run's credits are capped on purpose, the refusal that fails the step (a cap that
/// cannot count is no cap). `None` when every model has a price.
pub fn unpriced_verdict(cx: &Context, models: &[String]) -> Option<(String, bool)> {
    if models.is_empty() {
        return None;
    }
    let names = models
        .iter()
        .map(|m| format!("`{m}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let fix = format!(
        "add `[agent.prices.\"{}\"]` (or a `\"*\"` price for every model) to `{}`",
        models[0],
        crate::workspace::config::CONFIG_FILE
    );
    Some(if credit_cap_set(cx) {
        (
            format!(
                "model {names} has no price, so the run's credit cap cannot count its tokens: {fix}"
            ),
            true,
        )
    } else {
        (
            format!("warning: model {names} has no price: its tokens count 0 credits; {fix}"),
            false,
        )
    })
}
