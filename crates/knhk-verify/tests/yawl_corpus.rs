//! Verification of YAWL's own files (yawl-specs/INDEX.md), read through the YAWL
//! importer, as `knhk workflow validate` reads them: the importer's warnings about
//! unused decompositions that are not nets join the verifier's findings, since only
//! the importer knows those decompositions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use knhk_verify::{Element, Finding, Report, Rule, Verdict, VerifyOptions, verify};
use support::{firings, messages, under};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/yawl-specs");

/// Imports `file` of the corpus and verifies it, with the importer's warnings on
/// unused non-net decompositions among the findings (as the CLI does).
fn check(file: &str, options: &VerifyOptions) -> Report {
    let text = std::fs::read_to_string(format!("{CORPUS}/{file}")).unwrap();
    let import = knhk_yawl::import(&text, &knhk_yawl::ImportOptions { lenient: true }).unwrap();
    let mut report = verify(&import.spec, options);
    let verified = std::mem::take(&mut report.warnings);
    for warning in &import.warnings {
        if let knhk_yawl::ImportWarning::UnusedDecomposition { decomposition, .. } = warning
            && import.spec.net(decomposition).is_none()
        {
            report.push(Finding {
                net: None,
                element: Some(Element::Decomposition {
                    id: decomposition.clone(),
                }),
                rule: Rule::UnusedDecomposition,
            });
        }
    }
    report.warnings.extend(verified);
    report
}

fn structural() -> VerifyOptions {
    VerifyOptions {
        soundness: false,
        ..VerifyOptions::default()
    }
}

#[test]
fn good_net_specification_gives_no_errors_and_yawls_two_warnings() {
    let report = check("yawl-verify-tests/GoodNetSpecification.xml", &structural());
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    assert_eq!(
        messages(&report.warnings),
        [
            "decomposition `I`: is not used in this specification",
            "net `leaf-d`: may complete without generating any work: a path from i to o \
             passes empty tasks only",
        ]
    );
}

#[test]
fn good_net_specification_with_soundness_adds_leaf_ds_improper_completion() {
    let report = check(
        "yawl-verify-tests/GoodNetSpecification.xml",
        &VerifyOptions::default(),
    );
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    assert_eq!(report.warnings.len(), 3, "{:?}", messages(&report.warnings));
    let improper = under(&report, "improper_completion");
    assert_eq!(improper[0].net.as_deref(), Some("leaf-d"));
    assert_eq!(
        firings(&improper[0].rule),
        ["run I-leaf-d (to o-leaf-d, c{I-leaf-d_j-leaf-d})"]
    );
}

#[test]
fn bad_net_specification_gives_exactly_yawls_five_errors() {
    let report = check(
        "yawl-verify-tests/BadNetSpecification.xml",
        &VerifyOptions::default(),
    );
    let mut errors = messages(&report.errors);
    errors.sort();
    assert_eq!(
        errors,
        [
            "net `leaf-c`: condition `i-leaf-c`: the input condition's preset must be empty: \
             [h-leaf-c]",
            "net `leaf-c`: flow `h-leaf-c` -> `i-leaf-c`: flows into the input condition, \
             which is not allowed",
            "net `top`: condition `c1-top`: not on a backward path from i to o",
            "net `top`: condition `c2-top`: not on a backward path from i to o",
            "net `top`: task `c-top`: not on a backward path from i to o",
        ]
    );
    assert!(
        report.warnings.is_empty(),
        "{:?}",
        messages(&report.warnings)
    );
}

#[test]
fn deadlocking_specification_deadlocks_at_launch() {
    let report = check(
        "yawl-engine-tests/DeadlockingSpecification.xml",
        &VerifyOptions::default(),
    );
    assert_eq!(report.soundness[0].verdict, Verdict::Unsound);
    assert_eq!(
        messages(&report.warnings),
        [
            "net `top`: unsound: deadlocks after []: tokens in [i-top]",
            "net `top`: task `a-top`: unsound: dead task, it can never fire",
        ]
    );
}

#[test]
fn test_improper_completion_is_found_before_the_budget_ends_the_unbounded_rest() {
    let options = VerifyOptions {
        states_max: 10_000,
        ..VerifyOptions::default()
    };
    let report = check("yawl-engine-tests/TestImproperCompletion.xml", &options);
    let net = &report.soundness[0];
    assert_eq!(net.verdict, Verdict::Unsound);
    assert_eq!(net.states, 10_000);
    let improper = under(&report, "improper_completion");
    assert_eq!(
        firings(&improper[0].rule),
        [
            "start p (from i)",
            "complete p (to c{p_q}, c{p_p})",
            "start q",
            "complete q (to o)"
        ]
    );
}

#[test]
fn cancellation_test_has_a_dead_task_and_completes_improperly() {
    // INDEX.md [derived]: D's cancellation clears C's branch, so E (7) can never fire,
    // and the OR-join 5 fires as soon as A completes. Confirmed by the exploration.
    let report = check(
        "yawl-engine-tests/CancellationTest.xml",
        &VerifyOptions::default(),
    );
    assert!(report.errors.is_empty(), "{:?}", messages(&report.errors));
    let dead: Vec<_> = under(&report, "dead_task")
        .iter()
        .map(|f| f.element.clone())
        .collect();
    assert_eq!(dead, [Some(Element::Task { id: "7".into() })]);
    let improper = under(&report, "improper_completion");
    assert_eq!(
        firings(&improper[0].rule)[2..],
        ["start 5".to_owned(), "complete 5 (to 1)".to_owned()]
    );
}

#[test]
fn every_loadable_corpus_file_verifies_without_structural_errors() {
    let mut files = Vec::new();
    for dir in [
        "apromore-patterns",
        "yawl-engine-tests",
        "yawl-examples",
        "yawl-orjoin-tests",
    ] {
        for entry in std::fs::read_dir(format!("{CORPUS}/{dir}")).unwrap() {
            files.push(format!(
                "{dir}/{}",
                entry.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    files.sort();
    let mut verified = 0;
    for file in files {
        let text = std::fs::read_to_string(format!("{CORPUS}/{file}")).unwrap();
        let options = knhk_yawl::ImportOptions { lenient: true };
        // WPC17 is rejected by the importer (its task STILL_TODO has no flows).
        let Ok(import) = knhk_yawl::import(&text, &options) else {
            assert!(
                file.ends_with("WPC17InterleavedParallelRouting.yawl"),
                "{file}"
            );
            continue;
        };
        // A smaller budget than the default keeps this sweep quick in debug builds:
        // the unbounded nets (TestOrJoin, Test55, LongLoops) use all of it.
        let options = VerifyOptions {
            states_max: 5_000,
            ..VerifyOptions::default()
        };
        let report = verify(&import.spec, &options);
        assert!(
            report.errors.is_empty(),
            "{file}: {:?}",
            messages(&report.errors)
        );
        // Every net gets a verdict: the unbounded ones complete improperly early on.
        assert!(
            report
                .soundness
                .iter()
                .all(|s| s.verdict != Verdict::Unknown),
            "{file}: {:?}",
            report.soundness
        );
        verified += 1;
    }
    assert_eq!(verified, 27);
}
