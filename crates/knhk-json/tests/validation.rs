//! Documents that read but break the model's structural rules: every problem is
//! reported, at once, naming the net and the element it is about.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use knhk_json::JsonError;
use knhk_model::{ID_BYTES_MAX, NameProblem, SpecProblem, TEXT_BYTES_MAX};
use serde_json::{Value, json};

/// A valid specification: i -> a -> b -> o in net `main`, plus a subnet `sub`
/// (si -> s -> so) that nothing uses yet.
fn base() -> Value {
    json!({
        "id": "s", "root_net": "main",
        "nets": [
            {
                "id": "main",
                "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
                "tasks": [{"id": "a", "kind": "atomic"}, {"id": "b", "kind": "atomic"}],
                "flows": [{"from": "i", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "o"}]
            },
            {
                "id": "sub",
                "input_condition": {"id": "si"}, "output_condition": {"id": "so"},
                "tasks": [{"id": "s", "kind": "atomic"}],
                "flows": [{"from": "si", "to": "s"}, {"from": "s", "to": "so"}]
            }
        ]
    })
}

/// Task `id` of net `main` in `spec`.
fn task<'a>(spec: &'a mut Value, id: &str) -> &'a mut Value {
    let tasks = spec["nets"][0]["tasks"].as_array_mut().unwrap();
    tasks.iter_mut().find(|t| t["id"] == id).unwrap()
}

/// Adds flows to net `main` of `spec`.
fn add_flows(spec: &mut Value, flows: Value) {
    let list = spec["nets"][0]["flows"].as_array_mut().unwrap();
    list.extend(flows.as_array().unwrap().iter().cloned());
}

/// Parses `spec` (as text, the way a file is read) and returns its problems, checking
/// that the error's Display lists them one per line.
fn problems(spec: &Value) -> Vec<SpecProblem> {
    let text = serde_json::to_string_pretty(spec).unwrap();
    match knhk_json::parse(&text) {
        Err(err @ JsonError::Invalid(_)) => {
            let display = err.to_string();
            let JsonError::Invalid(problems) = err else {
                unreachable!()
            };
            let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
            assert_eq!(display, lines.join("\n"));
            problems
        }
        other => panic!("expected validation problems, got {other:?}"),
    }
}

fn only(spec: &Value) -> SpecProblem {
    let mut found = problems(spec);
    assert_eq!(found.len(), 1, "{found:#?}");
    found.remove(0)
}

#[test]
fn the_base_specification_is_valid() {
    knhk_json::from_value(base()).unwrap();
}

#[test]
fn dangling_flow_is_rejected_naming_the_element() {
    let mut spec = base();
    add_flows(&mut spec, json!([{"from": "b", "to": "nowhere"}]));
    let problem = only(&spec);
    assert_eq!(
        problem,
        SpecProblem::DanglingFlow {
            net: "main".into(),
            from: "b".into(),
            to: "nowhere".into(),
            missing: "nowhere".into(),
        }
    );
    assert_eq!(
        problem.to_string(),
        "net `main`: flow b -> nowhere refers to unknown element `nowhere`"
    );
}

#[test]
fn duplicate_element_ids_are_rejected() {
    let mut spec = base();
    spec["nets"][0]["conditions"] = json!([{"id": "a"}]);
    assert_eq!(
        only(&spec),
        SpecProblem::DuplicateElement {
            net: "main".into(),
            element: "a".into()
        }
    );
}

#[test]
fn explicit_condition_named_like_an_implicit_one_is_rejected() {
    let mut spec = base();
    spec["nets"][0]["conditions"] = json!([{"id": "c{a_b}"}]);
    assert_eq!(
        only(&spec),
        SpecProblem::DuplicateElement {
            net: "main".into(),
            element: "c{a_b}".into()
        }
    );
}

#[test]
fn duplicate_net_ids_are_rejected() {
    let mut spec = base();
    spec["nets"][1]["id"] = json!("main");
    assert_eq!(
        only(&spec),
        SpecProblem::DuplicateNet { net: "main".into() }
    );
}

#[test]
fn missing_root_net_is_rejected() {
    let mut spec = base();
    spec["root_net"] = json!("mian");
    let problem = only(&spec);
    assert_eq!(problem, SpecProblem::MissingRootNet { net: "mian".into() });
    assert_eq!(problem.to_string(), "root net `mian` does not exist");
}

#[test]
fn xor_split_with_two_flows_and_no_default_is_rejected() {
    let mut spec = base();
    task(&mut spec, "a")["split"] = json!("xor");
    spec["nets"][0]["flows"][1]["predicate"] = json!("x > 1");
    add_flows(
        &mut spec,
        json!([{"from": "a", "to": "o", "predicate": "x <= 1"}]),
    );
    let problem = only(&spec);
    assert!(
        matches!(&problem, SpecProblem::BadSplit { net, task, .. } if net == "main" && task == "a"),
        "{problem:?}"
    );
    assert!(
        problem
            .to_string()
            .contains("needs exactly one default flow, has 0"),
        "{problem}"
    );
}

#[test]
fn and_split_flow_with_predicate_is_rejected() {
    let mut spec = base();
    spec["nets"][0]["flows"][1]["predicate"] = json!("x > 1");
    let problem = only(&spec);
    assert_eq!(
        problem.to_string(),
        "net `main`: task `a`: AND-split flows carry no predicate, ordering or default"
    );
}

#[test]
fn predicate_on_a_flow_leaving_a_condition_is_rejected() {
    let mut spec = base();
    spec["nets"][0]["flows"][0]["predicate"] = json!("true");
    assert!(matches!(only(&spec), SpecProblem::BadFlow { from, .. } if from == "i"));
}

#[test]
fn cancellation_member_in_another_net_is_rejected() {
    let mut spec = base();
    task(&mut spec, "b")["cancellation_set"] = json!(["a", "c{a_b}", "s"]);
    let problem = only(&spec);
    assert_eq!(
        problem,
        SpecProblem::BadCancellationMember {
            net: "main".into(),
            task: "b".into(),
            member: "s".into(),
        }
    );
    assert_eq!(
        problem.to_string(),
        "net `main`: task `b`: cancellation set member `s` is not in this net"
    );
}

/// Regression (fuzz target `spec_json`): a cancellation set is a set; one that listed a
/// member twice was valid, and did not survive the Turtle round trip (RDF keeps one).
#[test]
fn cancellation_member_listed_twice_is_rejected() {
    let mut spec = base();
    task(&mut spec, "b")["cancellation_set"] = json!(["a", "c{a_b}", "a"]);
    assert_eq!(
        only(&spec).to_string(),
        "net `main`: task `b`: cancellation set member `a` is listed twice"
    );
}

fn mi_problem(mi: Value) -> String {
    let mut spec = base();
    task(&mut spec, "a")["multiple_instance"] = mi;
    match only(&spec) {
        SpecProblem::BadMultipleInstance { net, task, reason } => {
            assert_eq!((net.as_str(), task.as_str()), ("main", "a"));
            reason
        }
        other => panic!("expected a multiple-instance problem, got {other:?}"),
    }
}

#[test]
fn multiple_instance_bounds_are_checked() {
    assert_eq!(mi_problem(json!({"min": 0})), "min must be at least 1");
    assert_eq!(
        mi_problem(json!({"min": 3, "max": 2})),
        "max must be at least min"
    );
    assert_eq!(
        mi_problem(json!({"min": 1, "max": 2, "threshold": 3})),
        "threshold must not exceed max"
    );
    assert_eq!(
        mi_problem(json!({"min": 1, "threshold": 0})),
        "threshold 0 (no synchronisation) needs remainder `continue`"
    );

    let mut spec = base();
    task(&mut spec, "a")["multiple_instance"] =
        json!({"min": 1, "max": 4, "threshold": 2, "split": "items"});
    knhk_json::from_value(spec).unwrap();
}

#[test]
fn partial_join_without_and_join_is_rejected() {
    let mut spec = base();
    task(&mut spec, "b")["partial_join"] = json!({"required": 1});
    let problem = only(&spec);
    assert_eq!(
        problem.to_string(),
        "net `main`: task `b`: a partial join needs join code `and`"
    );

    task(&mut spec, "b")["join"] = json!("and");
    knhk_json::from_value(spec).unwrap();
}

#[test]
fn composite_task_without_net_is_rejected() {
    let mut spec = base();
    task(&mut spec, "a")["kind"] = json!("composite");
    let problem = only(&spec);
    assert_eq!(
        problem.to_string(),
        "net `main`: task `a`: a composite task needs `net`"
    );

    task(&mut spec, "a")["net"] = json!("subb");
    assert_eq!(
        only(&spec),
        SpecProblem::MissingSubnet {
            net: "main".into(),
            task: "a".into(),
            target: "subb".into()
        }
    );

    task(&mut spec, "a")["net"] = json!("sub");
    knhk_json::from_value(spec).unwrap();
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut spec = base();
    add_flows(&mut spec, json!([{"from": "b", "to": "nowhere"}]));
    task(&mut spec, "a")["kind"] = json!("composite");
    spec["nets"][1]["tasks"][0]["multiple_instance"] = json!({"min": 0});

    let found = problems(&spec);
    assert_eq!(found.len(), 3, "{found:#?}");
    let text = knhk_json::from_value(spec).unwrap_err().to_string();
    assert_eq!(
        text,
        "net `main`: flow b -> nowhere refers to unknown element `nowhere`\n\
         net `main`: task `a`: a composite task needs `net`\n\
         net `sub`: task `s`: multiple-instance attributes: min must be at least 1"
    );
}

/// Two different arcs whose implicit conditions would get the same YAWL name
/// (`a_b -> c` and `a -> b_c` both make `c{a_b_c}`) are refused, naming the condition.
#[test]
fn colliding_implicit_condition_names_are_refused() {
    let spec = json!({
        "id": "s", "root_net": "main",
        "nets": [{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "a"}, {"id": "a_b"}, {"id": "b_c"}, {"id": "c"}
            ],
            "flows": [
                {"from": "i", "to": "a"}, {"from": "i", "to": "a_b"},
                {"from": "a_b", "to": "c"}, {"from": "a", "to": "b_c"},
                {"from": "b_c", "to": "o"}, {"from": "c", "to": "o"}
            ]
        }]
    });
    assert_eq!(
        problems(&spec),
        [SpecProblem::DuplicateElement {
            net: "main".into(),
            element: "c{a_b_c}".into()
        }]
    );
}

/// An XOR or OR split with a single outgoing flow needs neither a predicate nor a
/// default flag: that flow is the default.
#[test]
fn single_flow_of_an_xor_split_is_its_default() {
    let mut spec = base();
    task(&mut spec, "a")["split"] = json!("xor");
    task(&mut spec, "b")["split"] = json!("or");
    let text = serde_json::to_string(&spec).unwrap();
    assert!(knhk_json::parse(&text).is_ok());
}

/// An empty (routing) task has no work item, so no data to map into or out of.
#[test]
fn empty_task_with_mappings_is_refused() {
    let mut spec = base();
    task(&mut spec, "a")["kind"] = json!("empty");
    task(&mut spec, "a")["output_mappings"] = json!([{"to": "x", "expression": "1"}]);
    assert_eq!(
        problems(&spec),
        [SpecProblem::BadTask {
            net: "main".into(),
            task: "a".into(),
            reason: "an empty task has no work to map data into or out of".into()
        }]
    );
}

/// Renames task `from` of net `main` to `to`, in its flows too.
fn rename_task(spec: &mut Value, from: &str, to: &str) {
    task(spec, from)["id"] = json!(to);
    for flow in spec["nets"][0]["flows"].as_array_mut().unwrap() {
        for end in ["from", "to"] {
            if flow[end] == from {
                flow[end] = json!(to);
            }
        }
    }
}

#[test]
fn identifiers_have_at_most_256_bytes() {
    let mut spec = base();
    // 128 two-byte characters: 256 bytes.
    rename_task(&mut spec, "a", &"é".repeat(128));
    knhk_json::from_value(spec.clone()).unwrap();

    let long = format!("{}x", "é".repeat(128));
    rename_task(&mut spec, &"é".repeat(128), &long);
    let problem = only(&spec);
    assert_eq!(
        problem,
        SpecProblem::BadIdentifier {
            net: Some("main".into()),
            what: "task id".into(),
            id: format!("{}…", "é".repeat(120)),
            problem: NameProblem::TooLong {
                bytes: 257,
                max: ID_BYTES_MAX
            },
        }
    );
    assert_eq!(
        problem.to_string(),
        format!(
            "net `main`: task id `{}…` is 257 bytes long, more than 256",
            "é".repeat(120)
        )
    );
}

#[test]
fn identifiers_hold_no_control_characters() {
    let mut spec = base();
    spec["id"] = json!("s\n");
    spec["version"] = json!("1\u{0}");
    spec["nets"][1]["variables"] = json!([{"name": "v\u{1b}[31m"}]);
    task(&mut spec, "a")["service"] = json!("svc\u{85}");
    task(&mut spec, "a")["outputs"] = json!([{"name": "o\t"}]);
    task(&mut spec, "b")["output_mappings"] = json!([{"to": "t\r", "expression": "1"}]);
    task(&mut spec, "b")["trigger"] = json!({"signal": "go\u{7f}"});
    let found = problems(&spec);
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "specification id `s\\n` holds the control character U+000A at byte 1",
            "specification version `1\\0` holds the control character U+0000 at byte 1",
            "net `main`: service of task `a` `svc\\u{85}` holds the control character U+0085 at byte 3",
            "net `main`: output parameter of task `a` `o\\t` holds the control character U+0009 at byte 1",
            "net `main`: output mapping target of task `b` `t\\r` holds the control character U+000D at byte 1",
            "net `main`: trigger signal of task `b` `go\\u{7f}` holds the control character U+007F at byte 2",
            "net `sub`: variable name `v\\u{1b}[31m` holds the control character U+001B at byte 1",
        ]
    );
    assert_eq!(
        found[0],
        SpecProblem::BadIdentifier {
            net: None,
            what: "specification id".into(),
            id: "s\n".into(),
            problem: NameProblem::ControlCharacter {
                character: '\n',
                at: 1
            },
        }
    );
}

#[test]
fn names_and_documentation_are_free_text_without_nul() {
    let mut spec = base();
    spec["name"] = json!("Orders,\n\tsecond line");
    task(&mut spec, "a")["name"] = json!("Fill\norder");
    knhk_json::from_value(spec.clone()).unwrap();

    spec["documentation"] = json!("x".repeat(TEXT_BYTES_MAX + 1));
    task(&mut spec, "a")["name"] = json!("Fill\u{0}order");
    spec["nets"][0]["conditions"] = json!([{"id": "c", "name": "c\u{0}"}]);
    assert_eq!(
        problems(&spec),
        [
            SpecProblem::BadText {
                net: None,
                what: "specification documentation".into(),
                problem: NameProblem::TooLong {
                    bytes: TEXT_BYTES_MAX + 1,
                    max: TEXT_BYTES_MAX
                },
            },
            SpecProblem::BadText {
                net: Some("main".into()),
                what: "name of condition `c`".into(),
                problem: NameProblem::ControlCharacter {
                    character: '\0',
                    at: 1
                },
            },
            SpecProblem::BadText {
                net: Some("main".into()),
                what: "name of task `a`".into(),
                problem: NameProblem::ControlCharacter {
                    character: '\0',
                    at: 4
                },
            },
        ]
    );
}

#[test]
fn net_and_condition_ids_are_identifiers_too() {
    let mut spec = base();
    let long = "n".repeat(300);
    spec["nets"][1]["id"] = json!(long);
    spec["nets"][0]["input_condition"]["id"] = json!("i\u{1}");
    spec["nets"][0]["flows"][0]["from"] = json!("i\u{1}");
    let found = problems(&spec);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(matches!(
        &found[0],
        SpecProblem::BadIdentifier { net: Some(net), what, .. } if net == "main" && what == "condition id"
    ));
    assert!(matches!(
        &found[1],
        SpecProblem::BadIdentifier { net: None, what, id, problem: NameProblem::TooLong { bytes: 300, .. } }
            if what == "net id" && id.chars().count() == 121
    ));
}

#[test]
fn the_bounds_are_shared_with_other_names() {
    assert_eq!(knhk_model::check_name("worker-7", ID_BYTES_MAX), Ok(()));
    assert!(knhk_model::check_name("worker\n7", ID_BYTES_MAX).is_err());
    assert_eq!(knhk_model::check_text("a\nb", TEXT_BYTES_MAX), Ok(()));
}
