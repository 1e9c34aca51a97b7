//! Ids as they appear in URLs and bodies: a case is its number (`"17"`), a work item
//! its case and its number in the case (`"17-3"`). Numbers are written one way only:
//! 1 to 20 decimal digits without sign or leading zero (cases and work items are
//! numbered from 1). Anything else is a 400 naming the expected shape, so that `+1` and
//! `01` are not silently taken for case 1.
//!
//! The shape is the whole rule, so that the OpenAPI document can state it as a pattern
//! ([`CASE_ID_PATTERN`], [`WORK_ITEM_ID_PATTERN`]): a number of the right shape beyond
//! 64 bits (`99999999999999999999`) is well formed but names nothing, like any id that
//! does not exist: 404 where it is looked up, and an empty page where it is the `after`
//! of a listing.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use knhk_kernel::WorkItemId;
use knhk_runtime::{CaseId, ItemRef};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The shape of a case id, as the OpenAPI document states it (`openapi::CaseIdText`).
pub(crate) const CASE_ID_PATTERN: &str = "^[1-9][0-9]{0,19}$";

/// The shape of a work item id, as the OpenAPI document states it.
pub(crate) const WORK_ITEM_ID_PATTERN: &str = "^[1-9][0-9]{0,19}-[1-9][0-9]{0,19}$";

/// The most characters a worker, participant, identity or signal name may have.
pub(crate) const NAME_CHARS_MAX: usize = 256;

/// What characters a name may have, as the OpenAPI document states it: any but Unicode's
/// control characters (`char::is_control`), the lengths are [`NAME_CHARS_MAX`]'s.
pub(crate) const NAME_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// What a number of an id's shape stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    /// A number within 64 bits.
    Fits(u64),
    /// A number beyond 64 bits: no case or work item has it.
    Beyond,
}

/// A number as ids write it, or `None` for another shape.
fn number(text: &str) -> Option<Number> {
    let canonical = (1..=20).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit())
        && !text.starts_with('0');
    // Twenty digits or fewer without a sign fail to parse only by overflowing.
    canonical.then(|| text.parse().map_or(Number::Beyond, Number::Fits))
}

/// 400 for text that is not a case id.
fn not_a_case_id(text: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_id",
        format!(
            "`{}` is not a case id (expected a number such as `17`)",
            shown(text)
        ),
    )
}

/// 400 for text that is not a work item id.
fn not_a_work_item_id(text: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_id",
        format!(
            "`{}` is not a work item id (expected case and item numbers such as `17-3`)",
            shown(text)
        ),
    )
}

/// 404 for a case number beyond 64 bits, worded as the engine words a missing case.
fn no_such_case(text: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "case_not_found",
        format!("no case {text}"),
    )
}

/// Parses a case id that names a case: 400 for another shape, 404 beyond 64 bits.
pub(crate) fn case(text: &str) -> Result<CaseId, ApiError> {
    match number(text) {
        Some(Number::Fits(case)) => Ok(CaseId(case)),
        Some(Number::Beyond) => Err(no_such_case(text)),
        None => Err(not_a_case_id(text)),
    }
}

/// Parses a case id that a listing starts after: beyond 64 bits, it is after every case.
pub(crate) fn case_after(text: &str) -> Result<CaseId, ApiError> {
    match number(text) {
        Some(Number::Fits(case)) => Ok(CaseId(case)),
        Some(Number::Beyond) => Ok(CaseId(u64::MAX)),
        None => Err(not_a_case_id(text)),
    }
}

/// The two numbers of a work item id, or `None` for another shape.
fn work_item_numbers(text: &str) -> Option<(Number, Number)> {
    let (case, item) = text.split_once('-')?;
    Some((number(case)?, number(item)?))
}

/// Parses a work item id that names a work item: 400 for another shape, 404 when either
/// number is beyond 64 bits.
pub(crate) fn work_item(text: &str) -> Result<(CaseId, WorkItemId), ApiError> {
    match work_item_numbers(text) {
        Some((Number::Fits(case), Number::Fits(item))) => Ok((CaseId(case), WorkItemId(item))),
        Some((Number::Beyond, _)) => {
            let case = text.split_once('-').map_or(text, |(case, _)| case);
            Err(no_such_case(case))
        }
        Some((Number::Fits(case), Number::Beyond)) => {
            let item = text.split_once('-').map_or(text, |(_, item)| item);
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "work_item_not_found",
                format!("{} has no work item {item}", CaseId(case)),
            ))
        }
        None => Err(not_a_work_item_id(text)),
    }
}

/// Parses a work item id that a listing starts after: a number beyond 64 bits is after
/// every number, so the listing goes on with the next case, or is empty.
pub(crate) fn work_item_after(text: &str) -> Result<ItemRef, ApiError> {
    let numbers = work_item_numbers(text).ok_or_else(|| not_a_work_item_id(text))?;
    let saturated = |n: Number| match n {
        Number::Fits(n) => n,
        Number::Beyond => u64::MAX,
    };
    let (case, item) = match numbers {
        (Number::Beyond, _) => (u64::MAX, u64::MAX),
        (case, item) => (saturated(case), saturated(item)),
    };
    Ok(ItemRef {
        case: CaseId(case),
        work_item: WorkItemId(item),
    })
}

/// Renders a work item id.
pub(crate) fn work_item_text(case: CaseId, item: WorkItemId) -> String {
    format!("{}-{}", case.0, item.0)
}

/// At most the first 64 characters of `text`, for echoing it in an error.
pub(crate) fn shown(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// A worker, participant, signal or identity name: 1 to [`NAME_CHARS_MAX`] characters,
/// no control characters. The model's rule for identifiers, but counted in characters,
/// as JSON Schema's `maxLength` counts, so that the OpenAPI document can state it exactly
/// (`openapi::NameText`); `char::is_control` is Unicode's Cc category, U+0000 to U+001F
/// and U+007F to U+009F, as the model's.
pub(crate) fn check_name(text: &str) -> Result<(), String> {
    let chars = text.chars().count();
    if chars == 0 || chars > NAME_CHARS_MAX || text.chars().any(char::is_control) {
        return Err(format!(
            "must be 1 to {NAME_CHARS_MAX} characters without control characters"
        ));
    }
    Ok(())
}

/// A worker, participant or signal name from a request, checked: 400 naming the
/// problem otherwise.
pub(crate) fn name(text: String) -> Result<String, ApiError> {
    check_name(&text).map_err(|problem| {
        ApiError::bad_request(format!("the name `{}` {problem}", shown(&text)))
    })?;
    Ok(text)
}

/// The path parameters of a route, like axum's `Path`, but a path that does not decode
/// (`/cases/%FF`) is refused in the API's error envelope.
#[derive(Debug)]
pub(crate) struct PathParams<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(params)| PathParams(params))
            .map_err(|rejection: PathRejection| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_path",
                    rejection.body_text(),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ids_are_written_one_way() {
        assert_eq!(case("17").unwrap(), CaseId(17));
        assert_eq!(case("18446744073709551615").unwrap(), CaseId(u64::MAX));
        for bad in [
            "",
            "0",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1e3",
            "100000000000000000000",
            "١٧",
        ] {
            assert_eq!(case(bad).unwrap_err().code, "invalid_id", "{bad:?}");
            assert_eq!(case_after(bad).unwrap_err().code, "invalid_id", "{bad:?}");
        }
        assert_eq!(work_item("17-3").unwrap(), (CaseId(17), WorkItemId(3)));
        for bad in [
            "17",
            "17-",
            "-3",
            "17-03",
            "017-3",
            "17-+3",
            "17-3-1",
            "0-1",
            "1-100000000000000000000",
        ] {
            assert_eq!(work_item(bad).unwrap_err().code, "invalid_id", "{bad:?}");
            let after = work_item_after(bad).unwrap_err();
            assert_eq!(after.code, "invalid_id", "{bad:?}");
        }
    }

    /// Regression (issue "no request can crash knhk", found by Schemathesis): an id that
    /// matches the documented pattern but is beyond 64 bits was a 400, which the
    /// document could not state; it names nothing, so it is a 404, or an empty page.
    #[test]
    fn ids_beyond_64_bits_name_nothing() {
        let beyond = "18446744073709551616";
        let error = case(beyond).unwrap_err();
        assert_eq!(
            (error.status, error.code),
            (StatusCode::NOT_FOUND, "case_not_found")
        );
        assert_eq!(case_after(beyond).unwrap(), CaseId(u64::MAX));
        let error = work_item(&format!("{beyond}-1")).unwrap_err();
        assert_eq!(
            (error.status, error.code),
            (StatusCode::NOT_FOUND, "case_not_found")
        );
        let error = work_item(&format!("7-{beyond}")).unwrap_err();
        assert_eq!(
            (error.status, error.code),
            (StatusCode::NOT_FOUND, "work_item_not_found")
        );
        assert_eq!(error.message, format!("case 7 has no work item {beyond}"));
        let after = |text: &str| {
            let after = work_item_after(text).unwrap();
            (after.case.0, after.work_item.0)
        };
        assert_eq!(after(&format!("{beyond}-1")), (u64::MAX, u64::MAX));
        assert_eq!(after(&format!("7-{beyond}")), (7, u64::MAX));
        assert_eq!(after("7-3"), (7, 3));
    }

    /// Every string of the documented patterns' shape parses, and nothing else does:
    /// the patterns are checked here by hand on the boundaries of each part.
    #[test]
    fn the_documented_patterns_are_the_parsers() {
        assert_eq!(CASE_ID_PATTERN, "^[1-9][0-9]{0,19}$");
        assert_eq!(
            WORK_ITEM_ID_PATTERN,
            format!(
                "{}-{}",
                CASE_ID_PATTERN.trim_end_matches('$'),
                CASE_ID_PATTERN.trim_start_matches('^')
            )
        );
        let longest = "9".repeat(20);
        assert!(number(&longest).is_some());
        assert!(number(&"9".repeat(21)).is_none());
        assert!(number("1").is_some() && number("0").is_none());
        assert!(
            work_item(&format!("{longest}-{longest}")).is_err_and(|e| e.status.as_u16() == 404)
        );
    }

    #[test]
    fn names_are_counted_in_characters() {
        assert!(check_name(&"é".repeat(NAME_CHARS_MAX)).is_ok());
        assert!(check_name(&"é".repeat(NAME_CHARS_MAX + 1)).is_err());
        assert!(check_name("").is_err());
        for control in ['\u{0}', '\u{1f}', '\u{7f}', '\u{9f}'] {
            assert!(check_name(&format!("a{control}")).is_err(), "{control:?}");
        }
        assert!(check_name("a\u{a0}").is_ok());
    }
}
