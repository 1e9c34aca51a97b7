//! The OpenAPI document (`GET /openapi.json`), generated from the handlers' annotations.
//!
//! Each handler's `#[utoipa::path]` lists what it answers: its success, and every error
//! status with the codes it can carry, each with the one `ErrorBody` envelope. What many
//! handlers share is declared once here: the schemas of ids and names (their patterns
//! are the parsers' rules, `ids.rs`), and the error answers every operation of a kind
//! may give, as response components (`components.responses`) that handlers refer to,
//! singly or in groups ([`EngineErrors`], [`JsonBodyErrors`]).
//!
//! What no annotation can state is patched in one place, [`Patches`], each patch with
//! its reason. The main one: authentication is a middleware, which asks `auth::needed`
//! what role a route needs; the patch asks the same function for every operation of the
//! document and adds its security requirement, the role in words, and the 401 and 403
//! answers, so the document and the middleware cannot disagree.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::http::Method;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{
    AllOfBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Ref, RefOr, Required, Response, ResponseBuilder,
};
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema, ToSchema};

use crate::error::ErrorBody;
use crate::{auth, cases, ids, system, work_items, workflows};

/// What the document says of itself, before the operations.
const DESCRIPTION: &str = "\
The knhk workflow engine's HTTP API (docs/api.md has the prose).

Every error answer is `{\"error\": {\"code\", \"message\", \"details\"}}` (schema `ErrorBody`): \
`code` is stable and meant for scripts, `message` for people, `details` is structured or null. \
Each operation lists every status it can answer, with the codes each may carry.

Ids: a case is its number (`17`), a work item its case and its number in the case (`17-3`), \
written without sign or leading zero; another shape is `400 invalid_id`. A number of the right \
shape that names nothing (beyond 64 bits, or simply not there) is a 404.

Authentication: when the server has a tokens file (`KNHK_API_TOKENS_FILE`), every operation but \
`/health` and `/ready` needs `Authorization: Bearer <token>` of a role that may do it (401 \
`unauthorized` without a known token, 403 `forbidden` for a role too small); without a tokens \
file the API is open and these answers never occur.

Besides the operations listed: a path that no route has is `404 route_not_found`; a listed path \
with another method is `405 method_not_allowed` with an `Allow` header (`HEAD` is answered \
wherever `GET` is).";

#[derive(OpenApi)]
#[openapi(
    info(title = "knhk", description = DESCRIPTION),
    paths(
        system::health,
        system::ready,
        system::openapi_json,
        crate::metrics::metrics,
        workflows::register,
        workflows::list,
        workflows::get,
        workflows::xes,
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
    ),
    components(
        schemas(ErrorBody, CaseIdText, WorkItemIdText, NameText),
        responses(
            Unauthorized,
            Forbidden,
            RequestTimeout,
            BodyTooLarge,
            NotJson,
            Internal,
            NotReady
        )
    ),
    modifiers(&Patches)
)]
struct Api;

/// The API's OpenAPI 3.1 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Api::openapi()
}

// ---- ids and names -------------------------------------------------------------------
//
// Schema-only types: handlers read ids and names as strings and parse them with
// `ids.rs`; these give the document their shapes once, as components, from the same
// constants the parsers follow (tests in `ids.rs` check the parsers against them).

/// Declares a string schema named `$name` (its component name) as the unit type `$type`.
macro_rules! string_schema {
    ($(#[$doc:meta])* $type:ident as $name:literal, $description:expr, $pattern:expr,
     $min_length:expr, $max_length:expr, $example:literal) => {
        $(#[$doc])*
        pub(crate) struct $type;

        impl PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($description))
                    .pattern(Some($pattern))
                    .min_length(Some($min_length))
                    .max_length(Some($max_length))
                    .examples([$example])
                    .build()
                    .into()
            }
        }

        impl ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

string_schema!(
    /// A case id in a URL or a query.
    CaseIdText as "CaseId",
    "A case id: its number, 1 to 20 digits without sign or leading zero. A number of this \
     shape beyond 64 bits names no case (404).",
    ids::CASE_ID_PATTERN,
    1,
    20,
    "17"
);

string_schema!(
    /// A work item id in a URL or a query.
    WorkItemIdText as "WorkItemId",
    "A work item id: its case's number, `-`, and its number in the case, each 1 to 20 digits \
     without sign or leading zero. A number of this shape beyond 64 bits names nothing (404).",
    ids::WORK_ITEM_ID_PATTERN,
    3,
    41,
    "17-3"
);

string_schema!(
    /// A worker, participant or signal name.
    NameText as "Name",
    "A worker, participant or signal name: 1 to 256 characters, none of them a control \
     character (U+0000 to U+001F, U+007F to U+009F).",
    ids::NAME_PATTERN,
    1,
    ids::NAME_CHARS_MAX,
    "alice"
);

// ---- shared error answers ------------------------------------------------------------

/// An error answer: `description`, the `ErrorBody` envelope as JSON, and `headers`
/// (name and what it says), which every such answer carries.
fn error_response(description: &str, headers: &[(&str, &str)]) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    for (name, says) in headers {
        let header = HeaderBuilder::new()
            .schema(Some(String::schema()))
            .description(Some(*says))
            .build();
        response = response.header(*name, header);
    }
    response.build()
}

/// A reference to the response component `name`.
fn response_ref(name: &str) -> RefOr<Response> {
    RefOr::Ref(Ref::from_response_name(name))
}

/// Declares an error answer shared by many operations: a unit type whose `ToResponse`
/// is the component `$name` of `components.responses`, described by `$description`.
macro_rules! shared_error {
    ($(#[$doc:meta])* $name:ident, $description:expr $(, $header:expr)*) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), error_response($description, &[$($header),*]).into())
            }
        }
    };
}

shared_error!(
    /// 401: no known token.
    Unauthorized,
    "`unauthorized`: no `Authorization: Bearer <token>` with a known API token. Only when the \
     server has a tokens file.",
    ("WWW-Authenticate", "`Bearer`")
);

shared_error!(
    /// 403: a token whose role is too small, or that names another worker.
    Forbidden,
    "`forbidden`: the token's role may not do this, or the body's `worker` names someone other \
     than the token's identity and the token is not an admin's. Only when the server has a \
     tokens file."
);

shared_error!(
    /// 408: a body that came too slowly.
    RequestTimeout,
    "`request_timeout`: the body did not arrive within `http.body_timeout_ms`; the connection is \
     then closed.",
    ("Connection", "`close`")
);

shared_error!(
    /// 413: a body over the limit.
    BodyTooLarge,
    "`body_too_large`: the body is over `limits.body_max_bytes`."
);

shared_error!(
    /// 415: a JSON operation's body in another content type.
    NotJson,
    "`unsupported_media_type`: a non-empty body whose content type is not `application/json`."
);

shared_error!(
    /// 500: a failure inside the server.
    Internal,
    "`internal`: the store failed, or the engine hit a bug; nothing was changed."
);

shared_error!(
    /// 503: the engine is not there yet.
    NotReady,
    "`not_ready`: the engine is still opening its store and recovering cases (see `/ready`)."
);

/// `500 internal` and `503 not_ready`: what every operation that uses the engine may
/// answer.
pub(crate) struct EngineErrors;

impl IntoResponses for EngineErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            ("500".to_owned(), response_ref("Internal")),
            ("503".to_owned(), response_ref("NotReady")),
        ])
    }
}

/// `408 request_timeout`, `413 body_too_large` and `415 unsupported_media_type`: what
/// every operation reading a JSON body through `body::json` may answer.
pub(crate) struct JsonBodyErrors;

impl IntoResponses for JsonBodyErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            ("408".to_owned(), response_ref("RequestTimeout")),
            ("413".to_owned(), response_ref("BodyTooLarge")),
            ("415".to_owned(), response_ref("NotJson")),
        ])
    }
}

// ---- what utoipa cannot say --------------------------------------------------------------

/// The one place where the generated document is patched, for what no annotation can
/// state; each patch says why.
struct Patches;

impl Modify for Patches {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        authentication(openapi);
        optional_bodies(openapi);
        one_claim_target(openapi);
    }
}

/// Every operation of the document, with its method and path.
fn operations_mut(
    openapi: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = (Method, &str, &mut Operation)> {
    openapi.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            (Method::GET, item.get.as_mut()),
            (Method::POST, item.post.as_mut()),
            (Method::PUT, item.put.as_mut()),
            (Method::DELETE, item.delete.as_mut()),
            (Method::PATCH, item.patch.as_mut()),
        ]
        .into_iter()
        .filter_map(move |(method, operation)| Some((method, path.as_str(), operation?)))
    })
}

/// Authentication is a middleware, which no handler annotation sees: this adds the
/// `bearer` security scheme, and to every operation that `auth::needed` (the function
/// the middleware asks) says needs a role, its security requirement, the role in its
/// description, and its 401 and 403 answers. `/health` and `/ready` get none, as the
/// middleware asks none.
fn authentication(openapi: &mut utoipa::openapi::OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API token (`knhk token new`), checked only when the server has a \
                     tokens file (`KNHK_API_TOKENS_FILE`); without one the API is open. \
                     Roles nest: reader (every GET), worker (also acts on work items, as \
                     itself), operator (also registers specifications, launches and steers \
                     cases, offers and allocates work), admin (also acts for any worker).",
                ))
                .build(),
        ),
    );
    for (method, path, operation) in operations_mut(openapi) {
        let Some(role) = auth::needed(&method, path) else {
            continue;
        };
        operation.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
        let needs = format!(
            "With a tokens file, needs a token of role `{role}` or above (see the `bearer` \
             scheme)."
        );
        operation.description = Some(match operation.description.take() {
            Some(description) if !description.is_empty() => format!("{description}\n\n{needs}"),
            _ => needs,
        });
        let responses = &mut operation.responses.responses;
        responses.insert("401".to_owned(), response_ref("Unauthorized"));
        responses.insert("403".to_owned(), response_ref("Forbidden"));
    }
}

/// utoipa states a body that may be left out (`Option<T>`) as `oneOf: [T, null]`, which
/// says a JSON `null` body is welcome; the server reads an empty body as no body, and
/// refuses `null` like any body that is not `T`. So the `null` alternative goes: the
/// body's `required: false` already says it may be left out.
fn optional_bodies(openapi: &mut utoipa::openapi::OpenApi) {
    for (_, _, operation) in operations_mut(openapi) {
        let Some(RefOr::T(body)) = operation.request_body.as_mut() else {
            continue;
        };
        if body.required == Some(Required::True) {
            continue;
        }
        for content in body.content.values_mut() {
            let RefOr::T(content) = content else {
                continue;
            };
            if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema {
                let mut not_null = one_of.items.iter().filter(|item| !is_null(item));
                if let (Some(only), None) = (not_null.next(), not_null.next()) {
                    content.schema = Some(only.clone());
                }
            }
        }
    }
}

/// Whether `schema` is `{"type": "null"}`.
fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(object))
        if object.schema_type == SchemaType::Type(Type::Null))
}

/// A claim names exactly one of `task_id` and `service` (the other absent or null), a
/// rule across two fields that no derive states: `ClaimBody` becomes
/// `allOf: [its fields, oneOf: [task_id a string, service a string]]`.
fn one_claim_target(openapi: &mut utoipa::openapi::OpenApi) {
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let Some(fields) = components.schemas.remove("ClaimBody") else {
        return;
    };
    let named = |field: &str| {
        ObjectBuilder::new()
            .property(field, ObjectBuilder::new().schema_type(Type::String))
            .required(field)
    };
    let claim = AllOfBuilder::new()
        .description(Some(
            "`POST /work-items/claim`: exactly one of `task_id` and `service`, the other absent \
             or null.",
        ))
        .item(fields)
        .item(
            OneOfBuilder::new()
                .item(named("task_id"))
                .item(named("service")),
        )
        .build();
    components
        .schemas
        .insert("ClaimBody".to_owned(), Schema::AllOf(claim).into());
}
