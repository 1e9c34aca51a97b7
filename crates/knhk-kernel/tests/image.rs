//! `CaseImage::check`: an image the kernel wrote fits its specification, through every
//! step of a case; one damaged on disk, or taken of another specification, is refused
//! with what does not fit instead of making the case index out of bounds.
//! (Regression: fuzz target `store_records`, issue "no request can crash knhk".)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use knhk_kernel::CaseImage;
use serde_json::json;
use support::Run;

#[test]
fn every_image_of_a_case_fits_its_specification() {
    let mut run = Run::launch("order-fulfilment.json", json!({}));
    let spec = run.case.spec().clone();
    assert_eq!(run.case.image().check(&spec), Ok(()));
    run.run(
        "receive_order",
        json!({"order": {"customer": "ACME"}, "items": [], "total": 5000.0}),
    );
    assert_eq!(run.case.image().check(&spec), Ok(()));
    run.run("reject_order", json!({}));
    assert_eq!(run.case.image().check(&spec), Ok(()));
    // It does not fit another specification.
    let other = support::compile("simple-sequence.json");
    assert!(run.case.image().check(&other).is_err());
}

#[test]
fn a_damaged_image_does_not_fit() {
    let run = Run::launch("simple-sequence.json", json!({}));
    let spec = run.case.spec().clone();
    let image = serde_json::to_value(run.case.image()).unwrap();
    for (pointer, value, reason) in [
        ("/instances/0/net", json!(3), "net instance 0: no net 3"),
        ("/instances/0/marking/extra", json!([0]), "marking"),
        ("/instances/0/marking/extra_total", json!(2), "marking"),
        ("/instances/0/offers/len", json!(2), "task tables"),
        ("/instances/0/offers/slots", json!([null]), "task tables"),
        ("/items/1/task_ix", json!(7), "work item 1: its task"),
        ("/items/1/net_instance", json!(4), "work item 1: its task"),
        ("/items/1/id", json!(2), "work item 1: misnumbered"),
        (
            "/items/1/role",
            json!({"role": "instance", "slot": 0}),
            "work item 1: its task has no such instance",
        ),
        ("/next_item", json!(1), "work item 1: misnumbered"),
        ("/next_instance", json!(0), "numbered past"),
    ] {
        let mut damaged = image.clone();
        *damaged.pointer_mut(pointer).expect(pointer) = value;
        let damaged: CaseImage = serde_json::from_value(damaged).unwrap();
        let error = damaged.check(&spec).unwrap_err();
        assert!(error.reason.contains(reason), "{pointer}: {error}");
    }
    let undamaged: CaseImage = serde_json::from_value(image).unwrap();
    assert_eq!(undamaged.check(&spec), Ok(()));
}
