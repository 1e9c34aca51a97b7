//! Authentication and roles: API tokens from a file, checked on every route but
//! `/health` and `/ready`.
//!
//! A tokens file is TOML, one `[[token]]` table per token:
//!
//! ```toml
//! [[token]]
//! identity = "alice"     # who acts: the worker or participant name work items see
//! role = "worker"        # reader, worker, operator or admin
//! sha256 = "…"           # the SHA-256 of the token, 64 hex digits
//! ```
//!
//! The file holds only hashes, so reading it gives no token away. Tokens are random
//! strings of at least [`TOKEN_CHARS_MIN`] characters (`knhk token new` makes one), so a
//! plain SHA-256 is enough: there is nothing to guess that a slow hash would protect.
//! A request's token is hashed and compared with every entry in constant time, so the
//! time taken says nothing about which bytes matched.
//!
//! Roles nest: a reader reads (every `GET`); a worker also acts on work items (start,
//! complete, fail, release, suspend, resume, claim), always as its own identity; an
//! operator also registers specifications, launches and steers cases, and offers and
//! allocates work; an admin may also act on work items on behalf of another worker
//! (the body's `worker`), to free work a worker left behind.

use std::fmt;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The shortest token `knhk token new` makes and the documentation asks for.
pub const TOKEN_CHARS_MIN: usize = 32;

/// What a token may do; each role may do everything the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything.
    Reader,
    /// Also acts on work items, as its own identity.
    Worker,
    /// Also registers specifications, launches and steers cases, offers and allocates.
    Operator,
    /// Also acts on work items as any worker.
    Admin,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Worker => "worker",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a request comes from: its token's identity and role. Handlers find it among the
/// request's extensions when tokens are configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The identity: the worker or participant name its actions carry.
    pub identity: String,
    /// What it may do.
    pub role: Role,
}

/// The configured tokens.
#[derive(Debug, Clone)]
pub struct Tokens {
    entries: Vec<([u8; 32], Principal)>,
}

/// One `[[token]]` of the file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    identity: String,
    role: Role,
    sha256: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    token: Vec<Entry>,
}

impl Tokens {
    /// Reads a tokens file's text. Every problem is reported, each naming the entry
    /// (1-based) it is in.
    pub fn parse(text: &str) -> Result<Tokens, Vec<String>> {
        let file: File = toml::from_str(text).map_err(|e| vec![e.message().to_owned()])?;
        let mut problems = Vec::new();
        let mut entries: Vec<([u8; 32], Principal)> = Vec::new();
        for (n, entry) in file.token.iter().enumerate() {
            let at = format!("token {} (`{}`)", n + 1, crate::ids::shown(&entry.identity));
            if let Err(problem) = crate::ids::check_name(&entry.identity) {
                problems.push(format!("{at}: identity {problem}"));
            }
            match hex_digest(&entry.sha256) {
                Some(hash) if entries.iter().any(|(h, _)| *h == hash) => {
                    problems.push(format!("{at}: the same sha256 as an earlier token"));
                }
                Some(hash) => entries.push((
                    hash,
                    Principal {
                        identity: entry.identity.clone(),
                        role: entry.role,
                    },
                )),
                None => problems.push(format!(
                    "{at}: sha256 must be 64 hexadecimal digits (the SHA-256 of the token)"
                )),
            }
        }
        if entries.is_empty() && problems.is_empty() {
            problems.push("the file has no [[token]] entry".to_owned());
        }
        if problems.is_empty() {
            Ok(Tokens { entries })
        } else {
            Err(problems)
        }
    }

    /// The principal whose token `token` is, if any. Compares against every entry in
    /// constant time.
    pub fn authenticate(&self, token: &str) -> Option<&Principal> {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (entry, principal) in &self.entries {
            if bool::from(entry.ct_eq(&hash)) {
                found = Some(principal);
            }
        }
        found
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none (never, for a parsed file).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The SHA-256 of `token`, as a tokens file writes it.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 64 hexadecimal digits as 32 bytes.
fn hex_digest(text: &str) -> Option<[u8; 32]> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(out)
}

/// The role a request needs, by its method and route; `None` for the public routes.
pub(crate) fn needed(method: &Method, route: &str) -> Option<Role> {
    if matches!(route, "/health" | "/ready") {
        return None;
    }
    if method == Method::GET || method == Method::HEAD {
        return Some(Role::Reader);
    }
    let work = [
        "/work-items/claim",
        "/work-items/{id}/start",
        "/work-items/{id}/complete",
        "/work-items/{id}/fail",
        "/work-items/{id}/release",
        "/work-items/{id}/suspend",
        "/work-items/{id}/resume",
    ];
    Some(if work.contains(&route) {
        Role::Worker
    } else {
        Role::Operator
    })
}

/// The middleware: with tokens configured, a request to any route but `/health` and
/// `/ready` needs `Authorization: Bearer <token>` of a role that may do it (401 without
/// a known token, 403 for a role too small); its [`Principal`] goes into the request's
/// extensions. Without tokens, everything passes.
pub(crate) async fn authorize(
    State(state): State<crate::AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(tokens) = state.tokens.as_deref() else {
        return next.run(request).await;
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let Some(role) = needed(request.method(), &route) else {
        return next.run(request).await;
    };
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        // The scheme's name is case-insensitive (RFC 9110, section 11.1).
        .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer").then_some(token));
    let Some(principal) = bearer.and_then(|token| tokens.authenticate(token.trim())) else {
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this route needs `Authorization: Bearer <token>` with a known API token",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return response;
    };
    if principal.role < role {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "`{}` has the role {}; {} {route} needs {role}",
                principal.identity,
                principal.role,
                request.method()
            ),
        )
        .into_response();
    }
    let principal = principal.clone();
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// Who acts on a work item: without tokens, the body's `worker` (taken on trust, as
/// the API is open); with tokens, the token's identity. A body naming someone else is
/// refused (403), except from an admin, who may act for another worker.
pub(crate) fn acting(
    principal: Option<&Principal>,
    claimed: Option<String>,
) -> Result<Option<String>, ApiError> {
    let Some(principal) = principal else {
        return Ok(claimed);
    };
    match claimed {
        None => Ok(Some(principal.identity.clone())),
        Some(worker) if worker == principal.identity || principal.role == Role::Admin => {
            Ok(Some(worker))
        }
        Some(worker) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the token of `{}` cannot act as `{}`",
                principal.identity,
                crate::ids::shown(&worker)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn file(entries: &[(&str, &str, &str)]) -> String {
        entries
            .iter()
            .map(|(identity, role, token)| {
                format!(
                    "[[token]]\nidentity = \"{identity}\"\nrole = \"{role}\"\nsha256 = \"{}\"\n",
                    token_hash(token)
                )
            })
            .collect()
    }

    #[test]
    fn tokens_authenticate_by_hash() {
        let tokens = Tokens::parse(&file(&[
            ("alice", "worker", "alice-secret-alice-secret-alice-s"),
            ("root", "admin", "root-secret-root-secret-root-secre"),
        ]))
        .unwrap();
        let alice = tokens
            .authenticate("alice-secret-alice-secret-alice-s")
            .unwrap();
        assert_eq!(
            (alice.identity.as_str(), alice.role),
            ("alice", Role::Worker)
        );
        assert_eq!(
            tokens
                .authenticate("root-secret-root-secret-root-secre")
                .unwrap()
                .role,
            Role::Admin
        );
        assert!(tokens.authenticate("alice-secret").is_none());
        assert!(tokens.authenticate("").is_none());
    }

    #[test]
    fn every_problem_of_a_file_is_named() {
        let text = "[[token]]\nidentity = \"a\\u0000b\"\nrole = \"worker\"\nsha256 = \"xyz\"\n\
                    [[token]]\nidentity = \"bob\"\nrole = \"worker\"\nsha256 = \"00\"\n";
        let problems = Tokens::parse(text).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("token 1"), "{problems:?}");
        assert!(problems[2].starts_with("token 2 (`bob`)"), "{problems:?}");
        let bad_role = "[[token]]\nidentity = \"a\"\nrole = \"god\"\nsha256 = \"00\"\n";
        assert!(Tokens::parse(bad_role).unwrap_err()[0].contains("god"));
        assert!(Tokens::parse("").unwrap_err()[0].contains("no [[token]]"));
        let twice = file(&[("a", "reader", "same"), ("b", "reader", "same")]);
        assert!(Tokens::parse(&twice).unwrap_err()[0].contains("same sha256"));
    }

    #[test]
    fn roles_nest_and_routes_need_them() {
        assert_eq!(needed(&Method::GET, "/health"), None);
        assert_eq!(needed(&Method::GET, "/ready"), None);
        assert_eq!(needed(&Method::GET, "/openapi.json"), Some(Role::Reader));
        assert_eq!(needed(&Method::GET, "/cases/{case_id}"), Some(Role::Reader));
        assert_eq!(
            needed(&Method::POST, "/work-items/{id}/complete"),
            Some(Role::Worker)
        );
        assert_eq!(
            needed(&Method::POST, "/work-items/claim"),
            Some(Role::Worker)
        );
        assert_eq!(
            needed(&Method::POST, "/work-items/{id}/offer"),
            Some(Role::Operator)
        );
        assert_eq!(needed(&Method::POST, "/workflows"), Some(Role::Operator));
        assert!(Role::Reader < Role::Worker && Role::Worker < Role::Operator);
        assert!(Role::Operator < Role::Admin);
    }

    #[test]
    fn a_worker_acts_as_itself_and_an_admin_for_anyone() {
        let alice = Principal {
            identity: "alice".to_owned(),
            role: Role::Worker,
        };
        let root = Principal {
            identity: "root".to_owned(),
            role: Role::Admin,
        };
        assert_eq!(
            acting(None, Some("x".into())).unwrap().as_deref(),
            Some("x")
        );
        assert_eq!(
            acting(Some(&alice), None).unwrap().as_deref(),
            Some("alice")
        );
        assert_eq!(
            acting(Some(&alice), Some("alice".into()))
                .unwrap()
                .as_deref(),
            Some("alice")
        );
        assert_eq!(
            acting(Some(&alice), Some("bob".into())).unwrap_err().code,
            "forbidden"
        );
        assert_eq!(
            acting(Some(&root), Some("bob".into())).unwrap().as_deref(),
            Some("bob")
        );
    }
}
