//! Every example specification in the repository reads, validates, and survives a write
//! and a read unchanged.
//!
//! The example directories are listed when the test runs, so a new file is covered
//! without touching this test; `examples/patterns/` is covered once it exists.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

fn example_files() -> Vec<PathBuf> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files = Vec::new();
    for dir in [examples.clone(), examples.join("patterns")] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_example_round_trips() {
    let files = example_files();
    for name in ["simple-sequence.json", "order-fulfilment.json"] {
        assert!(
            files
                .iter()
                .any(|f| f.file_name().is_some_and(|n| n == name)),
            "examples/{name} is missing"
        );
    }
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let spec = knhk_json::parse(&text)
            .unwrap_or_else(|err| panic!("{} does not parse:\n{err}", file.display()))
            .into_inner();

        let written = knhk_json::to_string(&spec);
        let reread = knhk_json::parse(&written)
            .unwrap_or_else(|err| panic!("{} written back does not parse:\n{err}", file.display()));
        assert_eq!(reread.into_inner(), spec, "{}", file.display());
        // Writing is deterministic: what was written once is written again unchanged.
        assert_eq!(knhk_json::to_string(&spec), written, "{}", file.display());

        let value = knhk_json::to_value(&spec);
        assert_eq!(
            value,
            serde_json::from_str::<serde_json::Value>(&written).unwrap()
        );
        let from_value = knhk_json::from_value(value)
            .unwrap_or_else(|err| panic!("{} as a value does not parse:\n{err}", file.display()));
        assert_eq!(from_value.into_inner(), spec, "{}", file.display());
    }
}

/// The examples written for the format documentation are in canonical form: exactly what
/// `to_string` writes, so that they show the fields a reader will get back.
#[test]
fn documentation_examples_are_canonical() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["simple-sequence.json", "order-fulfilment.json"] {
        let text = fs::read_to_string(examples.join(name)).unwrap();
        let spec = knhk_json::parse(&text).unwrap();
        assert_eq!(
            format!("{}\n", knhk_json::to_string(&spec)),
            text,
            "examples/{name}"
        );
    }
}

#[test]
fn defaults_are_left_out_and_read_back() {
    let text = r#"{"id": "s", "root_net": "n", "nets": [{
        "id": "n",
        "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
        "conditions": [],
        "tasks": [{"id": "t", "kind": "empty", "join": "xor", "split": "and",
                   "cancellation_set": []}],
        "flows": [{"from": "i", "to": "t", "default": false}, {"from": "t", "to": "o"}],
        "termination": "explicit"
    }]}"#;
    let spec = knhk_json::parse(text).unwrap();
    let written = knhk_json::to_string(&spec);
    for field in [
        "conditions",
        "kind",
        "join",
        "split",
        "cancellation_set",
        "default",
        "termination",
    ] {
        assert!(
            !written.contains(&format!("\"{field}\"")),
            "{field} written:\n{written}"
        );
    }
    assert_eq!(knhk_json::parse(&written).unwrap(), spec);
}

#[test]
fn fields_are_written_in_model_order() {
    let text = r#"{"nets": [{"flows": [{"to": "t", "from": "i"}, {"to": "o", "from": "t"}],
        "tasks": [{"kind": "atomic", "id": "t"}],
        "output_condition": {"id": "o"}, "input_condition": {"id": "i"}, "id": "n"}],
        "root_net": "n", "id": "s"}"#;
    let written = knhk_json::to_string(&knhk_json::parse(text).unwrap());
    let position = |key: &str| written.find(&format!("\"{key}\"")).unwrap();
    assert!(position("id") < position("root_net"));
    assert!(position("root_net") < position("nets"));
    assert!(position("input_condition") < position("output_condition"));
    assert!(position("output_condition") < position("tasks"));
    assert!(position("tasks") < position("flows"));
    assert!(position("from") < position("to"));
}

/// Initial values keep every bit of their numbers through a write and a read (serde_json's
/// `float_roundtrip` parsing; without it, the last digit of some doubles is lost).
#[test]
fn numbers_round_trip_exactly() {
    let numbers = [
        json!(0.1),
        json!(-0.0),
        json!(1e300),
        json!(5e-324),
        json!(1.071_566_039_146_582_6e-75),
        json!(-1.819_967_304_027_17e-179),
        json!(-1.603_964_615_428_183e143),
        json!(u64::MAX),
        json!(i64::MIN),
    ];
    let mut spec = json!({
        "id": "s", "root_net": "n",
        "nets": [{"id": "n", "input_condition": {"id": "i"}, "output_condition": {"id": "o"}}]
    });
    let variables: Vec<_> = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"name": format!("v{i}"), "type": "number", "initial": n}))
        .collect();
    spec["nets"][0]["variables"] = json!(variables);
    let spec = knhk_json::from_value(spec).unwrap().into_inner();
    let reread = knhk_json::parse(&knhk_json::to_string(&spec))
        .unwrap()
        .into_inner();
    assert_eq!(reread, spec);
    for (variable, number) in reread.nets[0].variables.iter().zip(&numbers) {
        let (read, written) = (variable.initial.as_ref().unwrap(), number);
        assert_eq!(read, written);
        if let (Some(a), Some(b)) = (read.as_f64(), written.as_f64()) {
            assert_eq!(a.to_bits(), b.to_bits(), "{a} != {b}");
        }
    }
}

/// Every file of the YAWL corpus that imports (leniently) survives a JSON write and a
/// read unchanged, including the ones the model's validation rejects (read here without
/// validating, as the verifier reads them).
#[test]
fn every_yawl_corpus_file_round_trips() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/yawl-specs");
    let mut count = 0;
    for dir in fs::read_dir(&corpus).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let Ok(import) = knhk_yawl::import_file(&path, &knhk_yawl::ImportOptions::lenient())
            else {
                assert!(
                    path.ends_with("WPC17InterleavedParallelRouting.yawl"),
                    "{}",
                    path.display()
                );
                continue;
            };
            let text = knhk_json::to_string(&import.spec);
            let back: knhk_model::Specification = serde_json::from_str(&text).unwrap();
            assert_eq!(back, import.spec, "{}", path.display());
            count += 1;
        }
    }
    assert_eq!(count, 29);
}
