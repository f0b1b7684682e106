//! The runner behind `coder-step`: what generated CI files call to start a job, run an agent,
//! deploy or command step, verify an approval, finish a job and publish the run's patch (the
//! command line, exit codes and environment are [`crate::protocol`]'s).
//!
//! Everything a run knows lives in its run directory ([`run_dir`]), outside the working tree:
//! `run.json` ([`record`]), `ledger.json` (the wall clock spent), `logs/`, `prompts/`,
//! `outputs/`, `approvals/`, `patch.diff`, `summary.md` and `logs.tar.gz`. CI carries the
//! directory from job to job as an artifact; each job restores the working tree from the base
//! plus `patch.diff`.
//!
//! The actions, one per `coder-step` subcommand: [`begin`], [`gate`], [`step`], [`finish`],
//! [`publish`], [`tz_gate`] and [`run`]; `coder approve` is [`approve`].

mod agent;
mod approval;
mod begin;
mod bundle;
pub mod cgroup;
mod ci_output;
mod context;
mod deploy;
mod env;
mod failure;
mod finish;
mod gate;
mod git;
mod handover;
mod http;
mod ignore;
mod junit;
pub mod ledger;
pub mod local;
pub mod paths;
mod presets;
mod process;
mod publish;
pub mod record;
mod redact;
pub mod run_dir;
pub mod sandbox;
mod schedule;
mod step;
pub mod test_report;
mod time;
pub mod usage;

pub use begin::begin;
pub use context::Context;
pub use failure::Failure;
pub use finish::finish;
pub use gate::gate;
pub use local::{approve, run};
pub use process::process_supervision;
pub use publish::publish;
pub use redact::Redactor;
pub use schedule::tz_gate;
pub use step::step;
