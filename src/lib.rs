//! `coder`: workflow-as-code for AI coding agents. A spec (YAML or JSON) is parsed into a spanned
//! tree, converted into a typed model, checked, and (later phases) lowered and emitted as CI.
//!
//! Phases, one module each: [`parse`] → [`model`] → [`check`], driven by [`driver`];
//! [`diag`] holds diagnostics and their output formats; [`workspace`] the repository around the
//! specs; [`cli`] the command lines of the three binaries.

pub mod check;
pub mod cli;
pub mod diag;
pub mod driver;
pub mod fs;
pub mod ir;
pub mod model;
pub mod parse;
pub mod protocol;
pub mod runner;
pub mod target;
pub mod workspace;
