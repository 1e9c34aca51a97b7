//! The example specifications (`examples/`), compiled into the targets, and the check of
//! a specification text that the reader targets share.

use std::sync::{Arc, OnceLock};

use knhk_expr::CelEvaluator;
use knhk_ingest::{CheckOptions, Format};
use knhk_kernel::{Case, CompiledSpec, Limits};
use knhk_model::{Specification, ValidSpec};
use knhk_verify::VerifyOptions;

macro_rules! example {
    ($file:literal) => {
        ($file, include_str!(concat!("../../examples/", $file)))
    };
}

/// Every example specification: its file name under `examples/` and its JSON text.
pub const EXAMPLES: &[(&str, &str)] = &[
    example!("order-fulfilment.json"),
    example!("simple-sequence.json"),
    example!("patterns/wcp_01_sequence.json"),
    example!("patterns/wcp_02_parallel_split.json"),
    example!("patterns/wcp_03_synchronization.json"),
    example!("patterns/wcp_04_exclusive_choice.json"),
    example!("patterns/wcp_05_simple_merge.json"),
    example!("patterns/wcp_06_multi_choice.json"),
    example!("patterns/wcp_07_structured_synchronizing_merge.json"),
    example!("patterns/wcp_08_multi_merge.json"),
    example!("patterns/wcp_09_structured_discriminator.json"),
    example!("patterns/wcp_10_arbitrary_cycles.json"),
    example!("patterns/wcp_11_implicit_termination.json"),
    example!("patterns/wcp_12_mi_without_synchronization.json"),
    example!("patterns/wcp_13_mi_with_a_priori_design_time_knowledge.json"),
    example!("patterns/wcp_14_mi_with_a_priori_run_time_knowledge.json"),
    example!("patterns/wcp_15_mi_without_a_priori_run_time_knowledge.json"),
    example!("patterns/wcp_16_deferred_choice.json"),
    example!("patterns/wcp_17_interleaved_parallel_routing.json"),
    example!("patterns/wcp_18_milestone.json"),
    example!("patterns/wcp_19_cancel_task.json"),
    example!("patterns/wcp_20_cancel_case.json"),
    example!("patterns/wcp_21_structured_loop.json"),
    example!("patterns/wcp_22_recursion.json"),
    example!("patterns/wcp_23_transient_trigger.json"),
    example!("patterns/wcp_24_persistent_trigger.json"),
    example!("patterns/wcp_25_cancel_region.json"),
    example!("patterns/wcp_26_cancel_mi_activity.json"),
    example!("patterns/wcp_27_complete_mi_activity.json"),
    example!("patterns/wcp_28_blocking_discriminator.json"),
    example!("patterns/wcp_29_cancelling_discriminator.json"),
    example!("patterns/wcp_30_structured_partial_join.json"),
    example!("patterns/wcp_31_blocking_partial_join.json"),
    example!("patterns/wcp_32_cancelling_partial_join.json"),
    example!("patterns/wcp_33_generalised_and_join.json"),
    example!("patterns/wcp_34_static_partial_join_for_mi.json"),
    example!("patterns/wcp_35_cancelling_partial_join_for_mi.json"),
    example!("patterns/wcp_36_dynamic_partial_join_for_mi.json"),
    example!("patterns/wcp_37_local_synchronizing_merge.json"),
    example!("patterns/wcp_38_general_synchronizing_merge.json"),
    example!("patterns/wcp_39_critical_section.json"),
    example!("patterns/wcp_40_interleaved_routing.json"),
    example!("patterns/wcp_41_thread_merge.json"),
    example!("patterns/wcp_42_thread_split.json"),
    example!("patterns/wcp_43_explicit_termination.json"),
];

/// The examples, validated and compiled once.
pub fn compiled_examples() -> &'static [(ValidSpec, Arc<CompiledSpec>)] {
    static COMPILED: OnceLock<Vec<(ValidSpec, Arc<CompiledSpec>)>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        EXAMPLES
            .iter()
            .map(|(file, text)| {
                let valid = knhk_json::parse(text)
                    .unwrap_or_else(|e| panic!("example {file} does not parse: {e}"));
                let compiled = CompiledSpec::compile(&valid, &CelEvaluator::default())
                    .unwrap_or_else(|e| panic!("example {file} does not compile: {e}"));
                (valid, Arc::new(compiled))
            })
            .collect()
    })
}

/// The base IRI `POST /workflows` reads Turtle with.
pub const BASE: &str = "http://knhk.invalid/workflows/";

/// The verifier's budget in the reader targets: small, so that a large state space
/// costs milliseconds, not the server's ten seconds; the exploration itself is what
/// `POST /workflows` runs.
pub const STATES_MAX: usize = 2_000;

/// Reads `text` as `POST /workflows` does and checks what must hold of any text:
///
/// - the format's reader and `knhk_ingest::check` (with a small soundness budget) return,
///   whatever the text;
/// - a specification that validates round-trips through the JSON format (what the store
///   keeps: `parse(to_string(spec)) == spec`) and through Turtle
///   (`import(export(spec)) == spec`), as `docs/spec-format.md` and
///   `docs/turtle-format.md` promise;
/// - a specification that `check` accepts compiles or is refused with an error (as
///   registration does), and once compiled, a case of it launches with empty data or is
///   refused with an error.
pub fn check_text(format: Format, text: &str) {
    match format {
        Format::Json => {
            if let Ok(valid) = knhk_json::parse(text) {
                round_trips(&valid);
            }
        }
        Format::Turtle => {
            if let Ok(import) = knhk_turtle::import(text, Some(BASE))
                && let Ok(valid) = knhk_model::validate(import.spec)
            {
                round_trips(&valid);
            }
        }
        Format::Yawl => {
            for lenient in [false, true] {
                let options = knhk_yawl::ImportOptions { lenient };
                if let Ok(import) = knhk_yawl::import(text, &options)
                    && let Ok(valid) = knhk_model::validate(import.spec)
                {
                    round_trips(&valid);
                }
            }
        }
    }
    let options = CheckOptions {
        lenient: false,
        // The server's default limit of elements.
        elements_max: Some(100_000),
        verify: VerifyOptions {
            states_max: STATES_MAX,
            or_join_work_max: 2_000,
            ..VerifyOptions::default()
        },
    };
    let checked = knhk_ingest::check(format, text, BASE, &options);
    let Some(valid) = checked.valid() else {
        return;
    };
    round_trips(&valid);
    let Ok(compiled) = CompiledSpec::compile(&valid, &CelEvaluator::default()) else {
        return;
    };
    let launched = Case::launch(
        Arc::new(compiled),
        serde_json::json!({}),
        7,
        Limits::default(),
    );
    drop(launched);
}

/// `spec` written as JSON reads back as itself, and so does its Turtle export.
pub fn round_trips(spec: &ValidSpec) {
    let json = knhk_json::to_string(spec);
    match knhk_json::parse(&json) {
        Ok(back) => assert_same(spec, &back, "JSON", &json),
        Err(e) => panic!("the JSON written for a valid specification does not read: {e}\n{json}"),
    }
    let turtle = knhk_turtle::export(spec);
    match knhk_turtle::import(&turtle, None) {
        Ok(back) => assert_same(spec, &back.spec, "Turtle", &turtle),
        Err(e) => {
            panic!("the Turtle written for a valid specification does not read: {e}\n{turtle}")
        }
    }
}

fn assert_same(spec: &Specification, back: &Specification, format: &str, text: &str) {
    assert!(
        spec == back,
        "a valid specification does not round-trip through {format}:\n{spec:#?}\nread back:\n{back:#?}\nfrom:\n{text}"
    );
}
