//! Output formats of `coder check`: human (miette), short, json, sarif, GitHub workflow
//! commands, GitLab code quality, and rustc-shaped JSON lines for `--message-format json`.

mod ci;
mod human;
mod machine;

pub use ci::{render_github, render_gitlab};
pub use human::{HumanOptions, render_human, summary_line};
pub use machine::{render_json, render_rustc_json, render_sarif, render_short};
