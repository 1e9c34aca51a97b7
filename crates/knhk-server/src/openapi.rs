//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::OpenApi;

use crate::{cases, system, work_items, workflows};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "knhk",
        description = "The knhk workflow engine's HTTP API. Errors are \
        `{\"error\": {\"code\", \"message\", \"details\"}}`."
    ),
    paths(
        system::health,
        system::ready,
        system::openapi_json,
        workflows::register,
        workflows::list,
        workflows::get,
        cases::launch,
        cases::list,
        cases::get,
        cases::cancel,
        cases::suspend,
        cases::resume,
        cases::history,
        cases::signal,
        cases::add_instance,
        work_items::list,
        work_items::get,
        work_items::start,
        work_items::complete,
        work_items::fail,
        work_items::release,
        work_items::suspend,
        work_items::resume,
        work_items::offer,
        work_items::allocate,
        work_items::claim,
    )
)]
struct Api;

/// The API's OpenAPI 3 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}
