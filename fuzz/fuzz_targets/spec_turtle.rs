//! Specification text in Turtle (`knhk_turtle::import`), read as `POST /workflows` reads
//! it: the reader, then `knhk_ingest::check` with a small soundness budget; a specification
//! that validates must round-trip through JSON and Turtle, and one that passes the check
//! compiles (or is refused) and launches (or is refused). Nothing may panic or overflow a 2
//! MiB stack (`knhk_fuzz::specs::check_text`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: knhk_fuzz::init(), |data: &[u8]| {
    // The server refuses a body that is not UTF-8 before any reader sees it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    knhk_fuzz::on_worker_stack(|| {
        knhk_fuzz::specs::check_text(knhk_ingest::Format::Turtle, text);
    });
});
