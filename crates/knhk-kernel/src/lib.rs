//! Executes YAWL nets: from a compiled specification, a case and a command, decides
//! what fires and what the case becomes.
//!
//! The kernel reads no clock, touches no file, spawns no task and keeps no global state.
//! Callers pass everything in (the specification, launch data, a seed for YAWL's random
//! choices, commands) and get everything out ([`Event`]s and the new [`Case`] state),
//! then persist what they were given. The same commands on the same case always give
//! the same events, which is what makes replay and recovery possible.
//!
//! - [`CompiledSpec::compile`] turns a validated [`knhk_model::ValidSpec`] into dense
//!   indices: places (with implicit conditions `c{a_b}`), tasks, presets and
//!   cancellation sets as [`Bitset`]s, expressions compiled once.
//! - [`Marking`] is the token multiset of one net instance, kept as an occupancy bitset
//!   plus counts beyond the first token; [`Marking::fire_plain`] is the hot path
//!   (enablement test and firing in a few word operations, no allocation).
//! - [`Case`] runs the root net and its subnets: work items, multiple instances,
//!   cancellation, deferred choice, partial joins, triggers, deadlock detection, the
//!   step budget of [`Limits`] and its bound on how deeply data nests.
//! - [`or_join_enabled`] is YAWL's non-local OR-join analysis (reset-net backward
//!   coverability), with a work budget; verdicts are cached per marking.
//!
//! ```
//! use std::sync::Arc;
//! use knhk_kernel::{Case, CaseState, Command, CompiledSpec, Limits};
//! use serde_json::json;
//!
//! let spec: knhk_model::Specification = serde_json::from_value(json!({
//!     "id": "hello", "root_net": "main",
//!     "nets": [{
//!         "id": "main",
//!         "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
//!         "tasks": [{"id": "greet", "kind": "atomic"}],
//!         "flows": [{"from": "i", "to": "greet"}, {"from": "greet", "to": "o"}]
//!     }]
//! }))?;
//! let spec = knhk_model::validate(spec).map_err(|problems| format!("{problems:?}"))?;
//! let spec = Arc::new(CompiledSpec::compile(&spec, &knhk_expr::CelEvaluator::default())?);
//!
//! let (mut case, _events) = Case::launch(spec, json!({"name": "Ada"}), 7, Limits::default())?;
//! let offer = case.work_items().next().map(|item| item.id).ok_or("no offer")?;
//! case.apply(&Command::StartWorkItem { work_item: offer })?;
//! case.apply(&Command::CompleteWorkItem { work_item: offer, output: json!({"greeted": true}) })?;
//! assert_eq!(case.state(), &CaseState::Completed);
//! assert_eq!(case.data(), json!({"name": "Ada", "greeted": true}));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bitset;
mod case;
mod compile;
mod marking;
mod orjoin;

pub use bitset::Bitset;
pub use case::*;
pub use compile::*;
pub use marking::Marking;
pub use orjoin::{OrJoinProbe, OrJoinVerdict, or_join_enabled};
