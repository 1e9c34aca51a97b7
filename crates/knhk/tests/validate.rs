//! `knhk workflow validate`, run as the built binary on files of the repository and of
//! the shared corpus.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../knhk-verify/tests/fixtures");

fn knhk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_knhk"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn lines_starting(output: &Output, prefix: &str) -> Vec<String> {
    stdout(output)
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_valid_json_example_exits_zero() {
    let file = format!("{EXAMPLES}/order-fulfilment.json");
    let output = knhk(&["workflow", "validate", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(lines_starting(&output, "error:").is_empty());
    let text = stdout(&output);
    assert!(
        text.trim_end()
            .ends_with("(JSON): 0 errors, 0 warnings; soundness: 2 sound, 0 unsound, 0 unknown"),
        "{text}"
    );
}

#[test]
fn a_json_file_with_structural_errors_exits_one_naming_each() {
    let file = format!("{FIXTURES}/bad_net.json");
    let output = knhk(&["workflow", "validate", &file]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let errors = lines_starting(&output, "error:");
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(errors.contains(
        &"error: net `top`: task `c-top`: not on a backward path from i to o".to_owned()
    ));
}

#[test]
fn json_output_parses_and_holds_the_findings() {
    let file = format!("{FIXTURES}/good_net.json");
    let output = knhk(&["workflow", "validate", "--json", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["format"], "json");
    assert_eq!(value["valid"], true);
    assert_eq!(value["errors"], serde_json::json!([]));
    let rules: Vec<&str> = value["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["empty_execution_path", "improper_completion"]);
    assert_eq!(value["soundness"][2]["net"], "leaf-d");
    assert_eq!(value["soundness"][2]["verdict"], "unsound");
}

#[test]
fn reject_unsound_turns_soundness_violations_into_errors() {
    let file = format!("{FIXTURES}/good_net.json");
    let output = knhk(&["workflow", "validate", "--reject-unsound", &file]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let errors = lines_starting(&output, "error:");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("error: net `leaf-d`: unsound: completes improperly after"));
    let output = knhk(&["workflow", "validate", "--no-soundness", &file]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(lines_starting(&output, "warning:").len(), 1);
}

#[test]
fn unreadable_json_is_an_error_in_the_file() {
    let dir = std::env::temp_dir().join(format!("knhk-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.json");
    std::fs::write(&file, "{\"id\": \"x\", \"root_net\": 3}").unwrap();
    let output = knhk(&["workflow", "validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let errors = lines_starting(&output, "error:");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("root_net"), "{errors:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_file_exits_two_naming_the_path() {
    let output = knhk(&["workflow", "validate", "/no/such/spec.json"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("/no/such/spec.json"), "{stderr}");
}

#[test]
fn help_prints_usage_and_exits_zero() {
    let output = knhk(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).contains("Usage: knhk"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_bad_flag_is_a_usage_error() {
    let output = knhk(&["workflow", "validate", "--frobnicate", "x.json"]);
    assert_eq!(output.status.code(), Some(2));
}

const KNHK_EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/knhk-examples");

#[test]
fn turtle_examples_load_and_flowless_tasks_are_errors() {
    let output = knhk(&[
        "workflow",
        "validate",
        &format!("{KNHK_EXAMPLES}/swift_payment.ttl"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("(Turtle): 0 errors"),
        "{}",
        stdout(&output)
    );

    let output = knhk(&[
        "workflow",
        "validate",
        &format!("{KNHK_EXAMPLES}/payroll.ttl"),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let errors = lines_starting(&output, "error:");
    for task in ["calculate_benefits", "generate_reports"] {
        for path in ["forward", "backward"] {
            // Each line names the task's IRI, through the name the importer gave it.
            let line =
                format!("error: net `monthly`: task `{task}`: not on a {path} path from i to o (");
            assert!(
                errors.iter().any(|e| e.starts_with(&line)
                    && e.ends_with(&format!("/{task}>)"))
                    && e.contains("<http://")),
                "{errors:?}"
            );
        }
    }
    assert_eq!(errors.len(), 4, "{errors:?}");
    // The importer's own note on the flowless tasks is not repeated as a warning.
    let warnings = lines_starting(&output, "warning:");
    assert!(
        !warnings.iter().any(|w| w.contains("has no flows")),
        "{warnings:?}"
    );
}

const YAWL_SPECS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/yawl-specs");

#[test]
fn good_net_specification_exits_zero_with_yawls_two_warnings() {
    let file = format!("{YAWL_SPECS}/yawl-verify-tests/GoodNetSpecification.xml");
    let output = knhk(&["workflow", "validate", "--no-soundness", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(lines_starting(&output, "error:").is_empty());
    assert_eq!(
        lines_starting(&output, "warning:"),
        [
            "warning: decomposition `I`: is not used in this specification",
            "warning: net `leaf-d`: may complete without generating any work: a path from i \
             to o passes empty tasks only",
        ]
    );
    // With soundness (the default), leaf-d's improper completion is a third warning.
    let output = knhk(&["workflow", "validate", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let warnings = lines_starting(&output, "warning:");
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[2].starts_with("warning: net `leaf-d`: unsound: completes improperly"));
}

#[test]
fn bad_net_specification_exits_one_with_yawls_five_errors() {
    let file = format!("{YAWL_SPECS}/yawl-verify-tests/BadNetSpecification.xml");
    let output = knhk(&["workflow", "validate", &file]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let mut errors = lines_starting(&output, "error:");
    errors.sort();
    assert_eq!(
        errors,
        [
            "error: net `leaf-c`: condition `i-leaf-c`: the input condition's preset must be \
             empty: [h-leaf-c] (i)",
            "error: net `leaf-c`: flow `h-leaf-c` -> `i-leaf-c`: flows into the input \
             condition, which is not allowed",
            "error: net `top`: condition `c1-top`: not on a backward path from i to o (c1)",
            "error: net `top`: condition `c2-top`: not on a backward path from i to o (c2)",
            "error: net `top`: task `c-top`: not on a backward path from i to o",
        ]
    );
    assert!(lines_starting(&output, "warning:").is_empty());
    assert!(stdout(&output).contains("(YAWL XML): 5 errors, 0 warnings"));
}

#[test]
fn a_yawl_file_the_importer_rejects_is_one_error() {
    let file = format!("{YAWL_SPECS}/apromore-patterns/WPC17InterleavedParallelRouting.yawl");
    let output = knhk(&["workflow", "validate", "--json", &file]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["valid"], false);
    assert_eq!(value["errors"][0]["rule"], "read");
    let message = value["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("STILL_TODO"), "{message}");
}

#[test]
fn a_file_without_a_known_extension_is_recognised_by_its_content() {
    let dir = std::env::temp_dir().join(format!("knhk-sniff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (format!("{EXAMPLES}/simple-sequence.json"), "(JSON)"),
        (format!("{KNHK_EXAMPLES}/simple-sequence.ttl"), "(Turtle)"),
        (
            format!("{YAWL_SPECS}/apromore-patterns/WPC1Sequence.yawl"),
            "(YAWL XML)",
        ),
    ];
    for (k, (source, format)) in cases.iter().enumerate() {
        let copy = dir.join(format!("spec{k}.txt"));
        std::fs::copy(source, &copy).unwrap();
        let output = knhk(&["workflow", "validate", copy.to_str().unwrap()]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{source}: {}",
            stdout(&output)
        );
        assert!(
            stdout(&output).contains(format),
            "{source}: {}",
            stdout(&output)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lenient_loads_what_strict_rejects_with_the_expression_as_a_warning() {
    let file = format!("{YAWL_SPECS}/yawl-examples/makeTrip3.xml");
    let output = knhk(&["workflow", "validate", &file]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let errors = lines_starting(&output, "error:");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("cannot translate"), "{errors:?}");

    let output = knhk(&["workflow", "validate", "--lenient", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let warnings = lines_starting(&output, "warning:");
    assert!(
        warnings[0].starts_with("warning: line 127: net `make_initerary`, task `pay`"),
        "{warnings:?}"
    );
}
