//! Helpers shared by the tests: specifications from JSON, fixtures, finding lookups.

#![allow(dead_code, unreachable_pub)]

use knhk_model::Specification;
use knhk_verify::{Finding, Report, Rule};
use serde_json::Value;

/// A specification from a JSON value, unvalidated.
pub fn spec(value: Value) -> Specification {
    serde_json::from_value(value).expect("the test specification deserializes")
}

/// A one-net specification (net `main`, conditions `i` and `o`) from its parts.
pub fn net(conditions: Value, tasks: Value, flows: Value) -> Specification {
    spec(serde_json::json!({
        "id": "test", "root_net": "main",
        "nets": [{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "conditions": conditions, "tasks": tasks, "flows": flows
        }]
    }))
}

/// A fixture of tests/fixtures, unvalidated.
pub fn fixture(name: &str) -> Specification {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("the fixture exists");
    serde_json::from_str(&text).expect("the fixture deserializes")
}

/// The findings' messages, for assertion messages.
pub fn messages(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(ToString::to_string).collect()
}

/// The findings of `report` (errors and warnings) under the rule named `name`.
pub fn under<'r>(report: &'r Report, name: &str) -> Vec<&'r Finding> {
    report
        .errors
        .iter()
        .chain(&report.warnings)
        .filter(|f| f.rule.name() == name)
        .collect()
}

/// The firings of a counterexample, rendered.
pub fn firings(rule: &Rule) -> Vec<String> {
    match rule {
        Rule::NoOptionToComplete { firings, .. } | Rule::ImproperCompletion { firings, .. } => {
            firings.iter().map(ToString::to_string).collect()
        }
        other => panic!("no counterexample in {other:?}"),
    }
}
