//! The conformance suite: one test per workflow control-flow pattern, named
//! `wcp_NN_name` after the canonical numbering (Russell et al., BPM-06-22;
//! yawl-reference §4), each running its own spec from `examples/patterns/` and
//! asserting the observable behaviour step by step.

#[path = "../support/mod.rs"]
mod support;

mod advanced;
mod basic;
mod state;
