//! Ids as they appear in URLs and bodies: a case is its number (`"17"`), a work item
//! its case and its number in the case (`"17-3"`). Anything else is a 400 naming the
//! expected shape.

use knhk_kernel::WorkItemId;
use knhk_runtime::CaseId;

use crate::error::ApiError;

/// Parses a case id.
pub(crate) fn case(text: &str) -> Result<CaseId, ApiError> {
    text.parse().map(CaseId).map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("`{text}` is not a case id (expected a number such as `17`)"),
        )
    })
}

/// Parses a work item id.
pub(crate) fn work_item(text: &str) -> Result<(CaseId, WorkItemId), ApiError> {
    let parsed = text
        .split_once('-')
        .and_then(|(case, item)| Some((case.parse().ok()?, item.parse().ok()?)));
    parsed
        .map(|(case, item)| (CaseId(case), WorkItemId(item)))
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_id",
                format!(
                    "`{text}` is not a work item id (expected case and item numbers such as `17-3`)"
                ),
            )
        })
}

/// Renders a work item id.
pub(crate) fn work_item_text(case: CaseId, item: WorkItemId) -> String {
    format!("{}-{}", case.0, item.0)
}
