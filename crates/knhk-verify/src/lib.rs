//! Verification of knhk specifications: YAWL's structural rules, and soundness by
//! state-space exploration.
//!
//! [`verify`] takes a *raw* [`Specification`] (not a [`knhk_model::ValidSpec`]), so
//! that one pass reports everything wrong with a file: the model's structural problems
//! ([`knhk_model::validate`]) and YAWL's verification rules (yawl-reference §1), each
//! as a [`Finding`] naming the net, the element and the [`Rule`]. When the
//! specification is structurally valid and [`VerifyOptions::soundness`] asks for it,
//! each net's state space is explored too (module `soundness`), with a budget, so
//! that verification always ends.
//!
//! The [`Report`] sorts findings into errors (the specification is rejected) and
//! warnings. Soundness violations are warnings unless
//! [`VerifyOptions::reject_unsound`]. `docs/verification.md` lists every rule with its
//! message.
//!
//! This crate leaves reading files to the format crates: what only an importer knows
//! (a YAWL decomposition that no task uses, an expression it could not translate)
//! reaches the user through the importer's warnings, which the caller adds to the
//! report ([`Report::push`] with [`Rule::UnusedDecomposition`] or [`Rule::Import`]); a
//! file that cannot be read at all is one [`Rule::Read`] error.
//!
//! ```
//! use knhk_verify::{verify, Rule, VerifyOptions};
//! let spec: knhk_model::Specification = serde_json::from_value(serde_json::json!({
//!     "id": "stuck", "root_net": "main",
//!     "nets": [{
//!         "id": "main",
//!         "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
//!         "conditions": [{"id": "c"}],
//!         "tasks": [{"id": "a", "kind": "atomic", "join": "and"}],
//!         "flows": [{"from": "i", "to": "a"}, {"from": "c", "to": "a"},
//!                   {"from": "a", "to": "o"}]
//!     }]
//! }))?;
//! let report = verify(&spec, &VerifyOptions::default());
//! // `c` has no way in: an error.
//! assert_eq!(report.errors[0].to_string(),
//!            "net `main`: condition `c`: not on a forward path from i to o");
//! assert!(report.has_errors());
//! # Ok::<(), serde_json::Error>(())
//! ```

mod finding;
mod soundness;
mod structure;

pub use finding::{
    Action, Element, Finding, Firing, NetState, Rule, Severity, Tokens, UnknownReason,
};
pub use soundness::{NetSoundness, Verdict};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use knhk_model::Specification;
use serde::Serialize;

/// What [`verify`] checks, and how strictly.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Whether to explore each net's state space for soundness (only done when the
    /// specification has no structural error).
    pub soundness: bool,
    /// The most states explored per net; past it the net's verdict is
    /// [`Verdict::Unknown`].
    pub states_max: usize,
    /// The most backward steps of one OR-join analysis during the exploration; past it
    /// the net's verdict is [`Verdict::Unknown`].
    pub or_join_work_max: u64,
    /// Whether soundness violations are errors rather than warnings.
    pub reject_unsound: bool,
    /// Raised by another thread to stop the soundness exploration early: the nets not
    /// yet decided get the verdict [`Verdict::Unknown`] (a server's time budget).
    pub interrupt: Interrupt,
}

/// A flag another thread raises to cut a verification short. The verifier reads no
/// clock; whoever holds a deadline raises the flag when it passes. Clones share one
/// flag.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A flag not raised yet.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Raises the flag: every verification holding it stops at its next state.
    pub fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the flag is raised.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl VerifyOptions {
    /// The default budget of states per net.
    pub const STATES_MAX: usize = 100_000;
    /// The default work budget of one OR-join analysis.
    pub const OR_JOIN_WORK_MAX: u64 = 10_000;
}

impl Default for VerifyOptions {
    /// Soundness checked, violations as warnings, default budgets.
    fn default() -> Self {
        VerifyOptions {
            soundness: true,
            states_max: Self::STATES_MAX,
            or_join_work_max: Self::OR_JOIN_WORK_MAX,
            reject_unsound: false,
            interrupt: Interrupt::new(),
        }
    }
}

/// Everything verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Problems that reject the specification.
    pub errors: Vec<Finding>,
    /// Problems that do not.
    pub warnings: Vec<Finding>,
    /// The soundness verdict of each net, when soundness was checked.
    pub soundness: Vec<NetSoundness>,
}

impl Report {
    /// Whether the specification is rejected.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Adds `finding` as an error or a warning by its rule's severity, unless the same
    /// finding is already there.
    pub fn push(&mut self, finding: Finding) {
        self.push_as(finding.rule.severity(), finding);
    }

    fn push_as(&mut self, severity: Severity, finding: Finding) {
        let list = match severity {
            Severity::Error => &mut self.errors,
            Severity::Warning => &mut self.warnings,
        };
        if !list.contains(&finding) {
            list.push(finding);
        }
    }
}

/// Verifies `spec`: structural rules always, soundness when `options` ask for it and
/// the specification is structurally valid.
pub fn verify(spec: &Specification, options: &VerifyOptions) -> Report {
    let mut findings: Vec<(Severity, Finding)> = Vec::new();
    let valid = knhk_model::validate(spec.clone());
    if let Err(problems) = &valid {
        let problems = structure::model_problems(spec, problems);
        findings.extend(problems.into_iter().map(|f| (f.rule.severity(), f)));
    }
    let rules = structure::yawl_rules(spec);
    findings.extend(rules.into_iter().map(|f| (f.rule.severity(), f)));
    let structural_errors = findings.iter().any(|(s, _)| *s == Severity::Error);
    let mut soundness = Vec::new();
    if let (true, Ok(valid), false) = (options.soundness, &valid, structural_errors) {
        let (verdicts, found) = soundness::check(
            valid,
            options.states_max,
            options.or_join_work_max,
            &options.interrupt,
        );
        soundness = verdicts;
        for finding in found {
            let severity = if options.reject_unsound && finding.rule.is_soundness_violation() {
                Severity::Error
            } else {
                finding.rule.severity()
            };
            findings.push((severity, finding));
        }
    }
    // A set, not `Report::push`, drops repeats: a broken net of thousands of elements
    // gives thousands of findings.
    let mut seen = std::collections::HashSet::new();
    let mut report = Report {
        soundness,
        ..Report::default()
    };
    for (severity, finding) in findings {
        if seen.insert(finding.clone()) {
            match severity {
                Severity::Error => report.errors.push(finding),
                Severity::Warning => report.warnings.push(finding),
            }
        }
    }
    report
}
