//! `coder`: workflow-as-code for AI coding agents. A spec (YAML or JSON) is parsed into a
//! spanned tree, converted into a typed model, checked, lowered to a target-neutral IR and
//! emitted as each CI target's files; `coder-step` runs the steps those files call.
//!
//! [`pipeline`] is the whole front half as functions returning data (check a workspace or one
//! text, plan, compare, write, load a workflow to run); the command lines in [`cli`] only
//! parse arguments, call it and render. Layers, lowest first, each importing only those
//! below it (a test holds them to it): [`diag`]; [`parse`] → [`model`]; [`schedule`];
//! [`workspace`]; [`check`]; [`ir`]; the [`target`]s; [`pipeline`]; [`runner`] and [`lsp`]; [`cli`].

pub mod check;
pub mod cli;
pub mod diag;
pub mod fs;
pub mod graph;
pub mod init;
pub mod ir;
pub mod lsp;
pub mod model;
pub mod parse;
pub mod pipeline;
pub mod protocol;
pub mod runner;
pub mod schedule;
pub mod target;
pub mod workspace;
