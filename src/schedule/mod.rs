//! Schedules: what a cron means, on a calendar and in a time zone. The cron tokenizer,
//! civil-time matching (one implementation for every caller), DST gaps, IANA zones by name,
//! the emulation of zoned schedules as UTC crons for schedulers without time zones, and the
//! tz-gate's decision at run time.
//!
//! Imported by `check` (cron and zone checks), `target` (GitHub's emulated crons, systemd's
//! `OnCalendar=` and its DST warning) and `runner` (`coder-step tz-gate`) alike, so compile
//! time and run time read a schedule the same way. It imports only `diag` (the cron errors'
//! codes) and the engines: croner and jiff.
//!
//! What a schedule means (every target and the runner agree): a cron in zone Z fires at every
//! local wall-clock minute it matches; a matching local time that a daylight-saving jump skips
//! runs at the first valid instant after the jump; a local time that occurs twice runs once,
//! at its first (earlier) occurrence. Without a zone, Z is UTC.

pub mod civil;
pub mod cron;
pub mod dst;
pub mod emulation;
pub mod gate;
#[cfg(test)]
mod simulation;
pub mod zones;

pub use cron::{CronExpr, CronField, FieldKind, parse_cron};
pub use emulation::{Intent, TzEmulationError, ZonedCron, utc_crons};
pub use gate::{GateDecision, tz_gate};
pub use zones::time_zone;
