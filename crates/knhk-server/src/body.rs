//! Reading request bodies under the configured limits: size (413), content type (415),
//! JSON syntax with its path, line and column (400), nesting depth (422), and the
//! time the body may take to arrive (408, the timer itself is in `serve/service.rs`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::serve::BodyTimeout;

/// The body's bytes, or 413 when it is over the limit, or 408 when it came too late.
pub(crate) fn bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if let Some(timeout) = body_timeout(&rejection) {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                timeout.to_string(),
            );
        }
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(status, "body_too_large", rejection.body_text())
        } else {
            ApiError::new(status, "invalid_body", rejection.body_text())
        }
    })
}

/// The [`BodyTimeout`] behind a rejection, if that is why the body could not be read:
/// axum wraps the body's error in its own errors (how deep depends on the layers), so
/// the chain of sources is searched.
fn body_timeout(rejection: &BytesRejection) -> Option<&BodyTimeout> {
    // Bounded, as every loop over input is; axum nests three or four levels.
    const DEPTH_MAX: usize = 16;
    let mut error: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    for _ in 0..DEPTH_MAX {
        let current = error?;
        if let Some(timeout) = current.downcast_ref::<BodyTimeout>() {
            return Some(timeout);
        }
        error = current.source();
    }
    None
}

/// The request's content type, if it sent one.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// A JSON body read as `T`: `application/json` (an empty body reads as `{}`), at most
/// `depth_max` levels deep.
pub(crate) fn json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    depth_max: usize,
) -> Result<T, ApiError> {
    let body = bytes(body)?;
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        let is_json = content_type(headers)
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(unsupported(headers, "application/json"));
        }
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("body is not JSON: {e}"),
            )
        })?
    };
    check_depth(&value, depth_max)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("body at `{at}`: {}", e.inner()),
        )
    })
}

/// 415 naming the types accepted.
pub(crate) fn unsupported(headers: &HeaderMap, expected: &str) -> ApiError {
    let got = content_type(headers).unwrap_or("none");
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("content type `{got}` is not accepted here (expected {expected})"),
    )
}

/// 422 if `value` nests deeper than `depth_max` arrays and objects.
pub(crate) fn check_depth(value: &Value, depth_max: usize) -> Result<(), ApiError> {
    // Iterative, so that a hostile document cannot overflow the stack here.
    let mut stack = vec![(value, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(fields) => Box::new(fields.values()),
            _ => continue,
        };
        if depth > depth_max {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "data_too_deep",
                format!("data nests deeper than {depth_max} levels"),
            ));
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}

/// Reads an unsigned integer field of a JSON body as JSON Schema counts integers, which
/// is what the OpenAPI document's `type: integer` promises: `3`, `3.0` and `3e0` alike. A
/// fraction, a sign, a number beyond `T` and anything but a number are refused.
/// (serde refuses `3.0` for a `u64`, so without this a client that writes integers as
/// floats, as many JSON encoders do, would be refused with data the document accepts.)
pub(crate) fn integer<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::Deserialize;
    use serde::de::Error;
    let number = serde_json::Number::deserialize(deserializer)?;
    // 2^64: every integral float below it converts to a `u64` exactly.
    const BEYOND_U64: f64 = 18_446_744_073_709_551_616.0;
    let whole = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..BEYOND_U64).contains(f))
            .map(|f| f as u64)
    });
    let whole =
        whole.ok_or_else(|| D::Error::custom(format!("`{number}` is not an unsigned integer")))?;
    T::try_from(whole).map_err(|_| D::Error::custom(format!("`{number}` is out of range")))
}

/// [`integer`] for an optional field: absent or null is `None`.
pub(crate) fn optional_integer<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    /// One integer, read by [`integer`].
    #[derive(serde::Deserialize)]
    struct Integer<T: TryFrom<u64>>(#[serde(deserialize_with = "integer")] T);
    use serde::Deserialize;
    Ok(Option::<Integer<T>>::deserialize(deserializer)?.map(|Integer(n)| n))
}

/// A query string read as `T`, or 400 naming the bad parameter.
pub(crate) fn query<T>(
    query: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    query
        .map(|q| q.0)
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}
