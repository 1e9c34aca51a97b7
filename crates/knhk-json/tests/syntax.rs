//! Documents that do not deserialize into a specification: each error names the JSON
//! path, the line and the column, and says what is wrong.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use knhk_json::JsonError;
use serde_json::json;

/// A valid specification, i -> a -> b -> c -> o, pretty-printed.
fn three_tasks() -> serde_json::Value {
    json!({
        "id": "s", "root_net": "main",
        "nets": [{
            "id": "main",
            "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
            "tasks": [
                {"id": "a", "kind": "atomic"},
                {"id": "b", "kind": "atomic"},
                {"id": "c", "kind": "atomic", "join": "xor"}
            ],
            "flows": [
                {"from": "i", "to": "a"}, {"from": "a", "to": "b"},
                {"from": "b", "to": "c"}, {"from": "c", "to": "o"}
            ]
        }]
    })
}

struct Syntax {
    path: String,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
    display: String,
}

fn syntax(result: Result<knhk_model::ValidSpec, JsonError>) -> Syntax {
    match result {
        Err(err @ JsonError::Syntax { .. }) => {
            let display = err.to_string();
            let JsonError::Syntax {
                path,
                line,
                column,
                message,
            } = err
            else {
                unreachable!()
            };
            Syntax {
                path,
                line,
                column,
                message,
                display,
            }
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

/// The 1-based line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|line| line.contains(needle)).unwrap() + 1
}

#[test]
fn unknown_field_is_rejected_naming_its_path() {
    let mut spec = three_tasks();
    spec["nets"][0]["tasks"][2]["joni"] = json!("and");
    let text = serde_json::to_string_pretty(&spec).unwrap();

    let err = syntax(knhk_json::parse(&text));
    assert_eq!(err.path, "nets[0].tasks[2].joni");
    assert_eq!(err.line, Some(line_of(&text, "\"joni\"")));
    assert!(err.column.is_some());
    assert!(
        err.message
            .starts_with("unknown field `joni`, expected one of `id`, `name`, `kind`, `join`"),
        "{}",
        err.message
    );
    assert!(
        err.display.starts_with(&format!(
            "at `nets[0].tasks[2].joni`, line {}, column {}: unknown field `joni`",
            err.line.unwrap(),
            err.column.unwrap()
        )),
        "{}",
        err.display
    );
    // The position is in its own fields, not repeated at the end of the message.
    assert!(!err.message.contains(" at line "), "{}", err.message);
}

#[test]
fn unknown_field_at_the_top_is_rejected() {
    let mut spec = three_tasks();
    spec["root"] = json!("main");
    let err = syntax(knhk_json::parse(&spec.to_string()));
    assert_eq!(err.path, "root");
    assert!(
        err.message.starts_with("unknown field `root`"),
        "{}",
        err.message
    );
}

#[test]
fn wrong_type_is_rejected_naming_its_path() {
    let mut spec = three_tasks();
    spec["nets"][0]["tasks"][1]["id"] = json!(5);
    let text = serde_json::to_string_pretty(&spec).unwrap();
    let err = syntax(knhk_json::parse(&text));
    assert_eq!(err.path, "nets[0].tasks[1].id");
    assert_eq!(err.message, "invalid type: integer `5`, expected a string");
    assert_eq!(err.line, Some(line_of(&text, "\"id\": 5")));
}

#[test]
fn unknown_enum_value_is_rejected_with_the_allowed_values() {
    let mut spec = three_tasks();
    spec["nets"][0]["tasks"][0]["split"] = json!("nand");
    let err = syntax(knhk_json::parse(&spec.to_string()));
    assert_eq!(err.path, "nets[0].tasks[0].split");
    assert_eq!(
        err.message,
        "unknown variant `nand`, expected one of `and`, `xor`, `or`"
    );
}

#[test]
fn negative_count_is_rejected() {
    let mut spec = three_tasks();
    spec["nets"][0]["tasks"][0]["multiple_instance"] = json!({"min": -1});
    let err = syntax(knhk_json::parse(&spec.to_string()));
    assert_eq!(err.path, "nets[0].tasks[0].multiple_instance.min");
    assert!(
        err.message.starts_with("invalid value: integer `-1`"),
        "{}",
        err.message
    );
}

#[test]
fn missing_required_field_is_rejected() {
    let mut spec = three_tasks();
    spec["nets"][0]
        .as_object_mut()
        .unwrap()
        .remove("output_condition");
    let err = syntax(knhk_json::parse(&spec.to_string()));
    assert_eq!(err.path, "nets[0]");
    assert_eq!(err.message, "missing field `output_condition`");
}

#[test]
fn truncated_json_is_rejected_with_its_position() {
    let text = serde_json::to_string_pretty(&three_tasks()).unwrap();
    let cut = text.find("\"flows\"").unwrap();
    let err = syntax(knhk_json::parse(&text[..cut]));
    assert!(
        err.message.starts_with("EOF while parsing"),
        "{}",
        err.message
    );
    assert_eq!(err.path, "nets[0]");
    assert_eq!(err.line, Some(text[..cut].lines().count()));
}

#[test]
fn malformed_json_is_rejected() {
    let err = syntax(knhk_json::parse(r#"{"id": "s", "root_net" "main"}"#));
    assert_eq!(err.message, "expected `:`");
    assert_eq!((err.line, err.column), (Some(1), Some(24)));

    let err = syntax(knhk_json::parse(
        "{\n  \"id\": \"s\",\n  \"nets\": [{\"id\": \"n\",}]\n}",
    ));
    assert_eq!(err.path, "nets[0]");
    assert_eq!(
        err.display,
        "at `nets[0]`, line 3, column 23: trailing comma"
    );

    let err = syntax(knhk_json::parse(""));
    assert_eq!(err.path, "");
    assert_eq!(
        err.display,
        "at line 1, column 0: EOF while parsing a value"
    );
}

#[test]
fn text_after_the_document_is_rejected() {
    let text = format!("{}\n{{}}", three_tasks());
    let err = syntax(knhk_json::parse(&text));
    assert_eq!(err.path, "");
    assert_eq!(err.message, "trailing characters");
    assert_eq!(err.line, Some(2));
}

#[test]
fn value_errors_name_the_path_without_a_position() {
    let mut spec = three_tasks();
    spec["nets"][0]["tasks"][2]["joni"] = json!("and");
    let err = syntax(knhk_json::from_value(spec));
    assert_eq!(err.path, "nets[0].tasks[2].joni");
    assert_eq!((err.line, err.column), (None, None));
    assert!(
        err.display
            .starts_with("at `nets[0].tasks[2].joni`: unknown field `joni`")
    );

    let err = syntax(knhk_json::from_value(json!("spec")));
    assert_eq!(err.path, "");
    assert_eq!(
        err.display,
        "invalid type: string \"spec\", expected struct Specification"
    );
}

#[test]
fn the_base_specification_is_valid() {
    let spec = knhk_json::from_value(three_tasks()).unwrap();
    assert_eq!(spec.root().tasks.len(), 3);
}
