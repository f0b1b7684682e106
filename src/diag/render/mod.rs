//! Output formats of `coder check`: human (miette), short, json, sarif, and rustc-shaped JSON
//! lines for `--message-format json`.

mod human;
mod machine;

pub use human::{HumanOptions, render_human, summary_line};
pub use machine::{render_json, render_rustc_json, render_sarif, render_short};
