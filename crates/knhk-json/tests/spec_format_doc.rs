//! `docs/spec-format.md` stays true: every specification in it reads, and the two
//! complete examples it shows are the files in `examples/`, byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

fn repository_file(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    fs::read_to_string(root.join(path)).unwrap()
}

/// The contents of every ```json block of `markdown`, each ending in a newline.
fn json_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```json") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "unterminated code block");
    blocks
}

#[test]
fn every_specification_in_the_format_document_reads() {
    let blocks = json_blocks(&repository_file("docs/spec-format.md"));
    assert!(blocks.len() >= 2, "found {} json blocks", blocks.len());
    for block in &blocks {
        if let Err(err) = knhk_json::parse(block) {
            panic!("a specification in docs/spec-format.md does not read:\n{err}\n{block}");
        }
    }
}

#[test]
fn the_format_document_shows_the_example_files() {
    let blocks = json_blocks(&repository_file("docs/spec-format.md"));
    for file in [
        "examples/simple-sequence.json",
        "examples/order-fulfilment.json",
    ] {
        let text = repository_file(file);
        assert!(
            blocks.contains(&text),
            "docs/spec-format.md does not show {file} as it is"
        );
    }
}
