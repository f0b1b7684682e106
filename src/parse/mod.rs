//! Parse phase: bytes → a spanned node tree (every value and key keeps its byte span). Nothing
//! here knows what a workflow is.

mod load;
mod node;
mod yaml;

pub use load::{MAX_FILE_BYTES, SpecFormat, load_text, parse_document};
pub use node::{Node, Value};
