//! Executes YAWL nets: from a compiled net, a case, and a command, decides what fires
//! and what the case becomes.
//!
//! Reads no clock, touches no file, spawns no task.

mod bitset;
mod compile;
mod marking;
mod orjoin;

pub use bitset::Bitset;
pub use compile::*;
pub use marking::Marking;
pub use orjoin::{OrJoinVerdict, or_join_enabled};
mod case;

pub use case::*;
