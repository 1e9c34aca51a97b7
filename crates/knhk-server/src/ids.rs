//! Ids as they appear in URLs and bodies: a case is its number (`"17"`), a work item
//! its case and its number in the case (`"17-3"`). Numbers are written one way only:
//! decimal digits without sign or leading zero, counting from 1 (cases and work items
//! are numbered from 1), within 64 bits. Anything else is a 400 naming the expected
//! shape, so that `+1` and `01` are not silently taken for case 1.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use knhk_kernel::WorkItemId;
use knhk_runtime::CaseId;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A number as ids write it, or `None`.
fn number(text: &str) -> Option<u64> {
    let canonical = text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    canonical.then(|| text.parse().ok()).flatten()
}

/// Parses a case id.
pub(crate) fn case(text: &str) -> Result<CaseId, ApiError> {
    number(text).map(CaseId).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!(
                "`{}` is not a case id (expected a number such as `17`)",
                shown(text)
            ),
        )
    })
}

/// Parses a work item id.
pub(crate) fn work_item(text: &str) -> Result<(CaseId, WorkItemId), ApiError> {
    let parsed = text
        .split_once('-')
        .and_then(|(case, item)| Some((number(case)?, number(item)?)));
    parsed
        .map(|(case, item)| (CaseId(case), WorkItemId(item)))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_id",
                format!(
                    "`{}` is not a work item id (expected case and item numbers such as `17-3`)",
                    shown(text)
                ),
            )
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

/// A worker, participant, signal or identity name: not empty, and an identifier by the
/// model's rule (at most 256 bytes, no control characters).
pub(crate) fn check_name(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("is empty".to_owned());
    }
    knhk_model::check_name(text, knhk_model::ID_BYTES_MAX).map_err(|problem| problem.to_string())
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
            "18446744073709551616",
            "١٧",
        ] {
            assert_eq!(case(bad).unwrap_err().code, "invalid_id", "{bad:?}");
        }
        assert_eq!(work_item("17-3").unwrap(), (CaseId(17), WorkItemId(3)));
        for bad in [
            "17", "17-", "-3", "17-03", "017-3", "17-+3", "17-3-1", "0-1",
        ] {
            assert_eq!(work_item(bad).unwrap_err().code, "invalid_id", "{bad:?}");
        }
    }
}
