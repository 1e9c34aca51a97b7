//! A fuzz pass over the three specification readers, run with the tests: arbitrary text,
//! and real documents (the examples, the Turtle examples, the YAWL corpus) truncated,
//! with bytes flipped, and with chunks spliced in or cut out. Whatever the input,
//! `check` returns a report (an error names the problem) and never panics or hangs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use knhk_ingest::{CheckOptions, Format, check};
use knhk_verify::VerifyOptions;
use proptest::prelude::*;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

/// Real documents of each format, as seeds.
fn seeds() -> Vec<(Format, String)> {
    let files = [
        (Format::Json, format!("{EXAMPLES}/order-fulfilment.json")),
        (
            Format::Json,
            format!("{EXAMPLES}/patterns/wcp_36_dynamic_partial_join_for_mi.json"),
        ),
        (
            Format::Turtle,
            format!("{SHARED}/knhk-examples/swift_payment.ttl"),
        ),
        (
            Format::Turtle,
            format!("{SHARED}/knhk-examples/atm_transaction.ttl"),
        ),
        (
            Format::Yawl,
            format!("{SHARED}/yawl-specs/yawl-engine-tests/YAWL_Specification2.xml"),
        ),
        (
            Format::Yawl,
            format!("{SHARED}/yawl-specs/yawl-engine-tests/TestOrJoin.xml"),
        ),
    ];
    files
        .into_iter()
        .map(|(format, path)| (format, std::fs::read_to_string(Path::new(&path)).unwrap()))
        .collect()
}

/// Checking is bounded: a small soundness budget keeps each case fast.
fn options() -> CheckOptions {
    CheckOptions {
        verify: VerifyOptions {
            states_max: 2_000,
            ..VerifyOptions::default()
        },
        ..CheckOptions::default()
    }
}

/// One mutation of a document.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Splice(usize, String),
    Delete(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let chunk = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("<".to_owned()),
        Just("\"".to_owned()),
        Just(" ; ".to_owned()),
        Just("]]".to_owned()),
        Just("&amp;".to_owned()),
        Just("<![CDATA[".to_owned()),
        Just("\\u0000".to_owned()),
        ".{0,12}",
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<usize>(), chunk).prop_map(|(at, s)| Mutation::Splice(at, s)),
        (any::<usize>(), 0usize..64).prop_map(|(at, n)| Mutation::Delete(at, n)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        match m {
            Mutation::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
            Mutation::Flip(at, b) => {
                if !bytes.is_empty() {
                    let i = at % bytes.len();
                    bytes[i] ^= b;
                }
            }
            Mutation::Splice(at, s) => {
                let i = at % (bytes.len() + 1);
                bytes.splice(i..i, s.bytes());
            }
            Mutation::Delete(at, n) => {
                let i = at % (bytes.len() + 1);
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_documents_give_a_report(
        seed in 0usize..6,
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let seeds = seeds();
        let (format, text) = &seeds[seed % seeds.len()];
        let mutated = apply(text, &mutations);
        let checked = check(*format, &mutated, "http://fuzz.invalid/", &options());
        // Either it reads (and is verified) or the report says why it does not.
        prop_assert!(checked.spec.is_some() || checked.report.has_errors());
        for finding in checked.report.errors.iter().chain(&checked.report.warnings) {
            prop_assert!(!finding.to_string().is_empty());
        }
    }

    #[test]
    fn arbitrary_text_gives_a_report(text in ".{0,400}", format in 0usize..3) {
        let format = [Format::Json, Format::Turtle, Format::Yawl][format];
        let checked = check(format, &text, "http://fuzz.invalid/", &options());
        prop_assert!(checked.spec.is_some() || checked.report.has_errors());
    }
}
