//! How a `coder-step` action ends short of success: an exit code of the protocol and what to
//! tell the user.

use crate::fs::WriteError;
use crate::protocol::{EXIT_FAILED, EXIT_USAGE, EXIT_WAITING};

#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// The step failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_FAILED,
            message: message.into(),
        }
    }

    /// A usage, I/O or internal error (exit 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// The run waits for an approval (exit 3).
    pub fn waiting(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_WAITING,
            message: message.into(),
        }
    }

    pub fn is_waiting(&self) -> bool {
        self.code == EXIT_WAITING
    }
}

/// I/O and internal errors are usage-or-internal failures (exit 2).
impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::usage(message)
    }
}

impl From<WriteError> for Failure {
    fn from(error: WriteError) -> Failure {
        Failure::usage(error.to_string())
    }
}
