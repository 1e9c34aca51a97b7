//! `docs/turtle-format.md` shows what export really writes: its complete example is the
//! export of `examples/order-fulfilment.json`, and importing it gives that file's
//! specification back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The first ```turtle block after the heading `heading`.
fn example(doc: &str, heading: &str) -> String {
    let section = &doc[doc.find(heading).expect("heading")..];
    let start = section.find("```turtle\n").expect("turtle block") + "```turtle\n".len();
    let length = section[start..].find("```").expect("end of block");
    section[start..start + length].to_owned()
}

#[test]
fn complete_example_is_what_export_writes() {
    let doc = read("docs/turtle-format.md");
    let shown = example(&doc, "## 6. Complete example");
    let spec = knhk_json::parse(&read("examples/order-fulfilment.json"))
        .unwrap()
        .into_inner();
    assert_eq!(shown, knhk_turtle::export(&spec));
    let import = knhk_turtle::import(&shown, None).unwrap();
    assert_eq!(import.spec, spec);
    assert!(import.warnings.is_empty(), "{:?}", import.warnings);
}
