//! Model phase: the typed spec (every value spanned), built by hand from the parse tree so that
//! every shape problem of a file is reported at its exact node, and the JSON Schema derived from
//! the same types.

mod convert;
pub mod events;
mod gates;
pub mod path_pattern;
pub mod schema;
mod spec;

pub use convert::convert;
pub use gates::Selector;
pub use spec::*;
