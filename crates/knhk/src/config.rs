//! The binary's configuration: which settings exist, where each one is read from, how
//! its value is checked, and how the effective configuration is shown.
//!
//! Settings come in layers, each overriding the one before: built-in defaults, a TOML
//! file (named by `--config FILE` or `KNHK_CONFIG`), environment variables, and
//! command-line flags. [`resolve`] is a pure function of those inputs (the environment
//! is a lookup function, the file is read through a reader function), so the tests
//! need no global state; [`load`] binds it to the real process. The only other contact
//! with the outside world is a metadata look-up of the data paths, to report a data
//! directory that is a file before the server trips over it.
//!
//! Checking never stops at the first problem: every unknown key, wrong type, bad value
//! and missing companion setting is collected, so `knhk config validate` names them all
//! in one run. For every effective setting the module remembers its [`Source`], which
//! `knhk config show` prints.
//!
//! Two rules about empty values: an empty `KNHK_*` variable is an error (it is nearly
//! always a templating mistake, and the runtime's own path reader says so too), while an
//! empty `OTEL_*` variable counts as unset, as the OpenTelemetry specification requires.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use knhk_runtime::StoragePaths;
use knhk_runtime::paths::{DEFAULT_STATE_STORE_PATH, DEFAULT_WORKFLOW_DB};
use serde_json::{Value as Json, json};

/// The variable naming the TOML file, when `--config` is not given.
const CONFIG_VAR: &str = "KNHK_CONFIG";
/// The flag naming the TOML file.
const CONFIG_FLAG: &str = "--config";

/// The values of the command-line flags that override the other layers; `None` is a
/// flag not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Overrides {
    /// `--config FILE`: the TOML file (instead of `KNHK_CONFIG`).
    pub(crate) config: Option<PathBuf>,
    /// `--listen ADDR:PORT`.
    pub(crate) listen: Option<String>,
    /// `--state-store-path DIR`.
    pub(crate) state_store_path: Option<PathBuf>,
    /// `--log-level LEVEL`.
    pub(crate) log_level: Option<String>,
    /// `--url URL`.
    pub(crate) url: Option<String>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    /// The socket address the server listens on.
    pub(crate) listen: SocketAddr,
    /// What is logged: a level or `RUST_LOG`-style directives.
    pub(crate) log_level: LogFilter,
    /// How log lines are written on stdout.
    pub(crate) log_format: LogFormat,
    /// The data directory and the engine database file inside it.
    pub(crate) storage: StoragePaths,
    /// PostgreSQL instead of the embedded store, when set.
    pub(crate) database_url: Option<String>,
    /// Where the client commands find the server (without a trailing `/`).
    pub(crate) url: String,
    /// Bounds on what a request may ask for.
    pub(crate) limits: Limits,
    /// Bounds on HTTP connections: timeouts and how many at once.
    pub(crate) http: Http,
    /// How `GET /metrics` labels and samples.
    pub(crate) metrics: Metrics,
    /// `POST /workflows` refuses specifications that are not sound.
    pub(crate) reject_unsound: bool,
    /// The API tokens file: when set, every route but `/health` and `/ready` needs a
    /// token from it (checked here: the file reads and every entry is valid).
    pub(crate) api_tokens_file: Option<PathBuf>,
    /// The `[fortune5]` settings: checked here, and refused by the server while this
    /// build has none of those features (see [`Config::unavailable`]).
    pub(crate) fortune5: Fortune5,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: where traces are to be exported over OTLP.
    pub(crate) otel_endpoint: Option<String>,
    /// `OTEL_SERVICE_NAME`: the service name on exported traces.
    pub(crate) otel_service_name: Option<String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`: how traces are sent.
    pub(crate) otel_protocol: OtlpProtocol,
    /// `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs describing this process on traces.
    pub(crate) otel_resource_attributes: Vec<(String, String)>,
}

impl Config {
    /// The settings that ask the server for something this build does not have: the
    /// PostgreSQL store, the Fortune 5 features. Serving with one of them
    /// would quietly run without what was asked for, so the server refuses to start
    /// and names each one.
    pub(crate) fn unavailable(&self) -> Vec<String> {
        let asked = [
            (
                self.database_url.is_some(),
                Key::DATABASE_URL,
                "the PostgreSQL store",
            ),
            (
                self.fortune5.enabled,
                Key::FORTUNE5_ENABLED,
                "the Fortune 5 features (SPIFFE, KMS, multi-region)",
            ),
        ];
        asked
            .into_iter()
            .filter(|(on, _, _)| *on)
            .map(|(_, key, what)| {
                format!(
                    "{} ({}): {what} is not available in this build of knhk; unset it to serve",
                    key.name, key.env
                )
            })
            .collect()
    }
}

/// What is logged: `tracing-subscriber`'s `EnvFilter` directives (`RUST_LOG` syntax),
/// checked: `info`, or `info,knhk_runtime=debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogFilter(String);

impl LogFilter {
    /// The level names a directive without `target=` may be.
    const LEVELS: [&'static str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

    /// The directives as given.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The filter the directives describe.
    pub(crate) fn env_filter(&self) -> Result<tracing_subscriber::EnvFilter, String> {
        tracing_subscriber::EnvFilter::builder()
            .parse(&self.0)
            .map_err(|e| e.to_string())
    }

    /// Whether `text` is a filter this build accepts. A bare word must be a level:
    /// `EnvFilter` would take `verbose` for a target name and log nothing useful.
    fn parse(text: &str) -> Option<LogFilter> {
        let bare_words_are_levels = text.split(',').all(|directive| {
            directive.contains('=')
                || LogFilter::LEVELS
                    .iter()
                    .any(|level| level.eq_ignore_ascii_case(directive.trim()))
        });
        let filter = LogFilter(text.to_owned());
        (bare_words_are_levels && filter.env_filter().is_ok()).then_some(filter)
    }
}

impl Default for LogFilter {
    fn default() -> LogFilter {
        LogFilter("info".to_owned())
    }
}

/// How log lines are written on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// JSON when stdout is not a terminal (journald, `docker logs`), text when it is.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

impl LogFormat {
    /// The format's name, as the setting spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LogFormat::Auto => "auto",
            LogFormat::Json => "json",
            LogFormat::Text => "text",
        }
    }
}

/// The OTLP transport: `OTEL_EXPORTER_OTLP_PROTOCOL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OtlpProtocol {
    /// OTLP over gRPC (the default; port 4317).
    Grpc,
    /// OTLP over HTTP with protobuf bodies (port 4318).
    HttpProtobuf,
}

impl OtlpProtocol {
    /// The protocol's name, as the OpenTelemetry variable spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// Bounds on requests and on what they may store, each a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The largest request body, in bytes.
    pub(crate) body_max_bytes: usize,
    /// The most elements (tasks, conditions, flows, variables) in one specification.
    pub(crate) spec_elements_max: usize,
    /// The deepest nesting of case data (at most `knhk_kernel::Limits::DATA_DEPTH_CEILING`).
    pub(crate) data_depth_max: usize,
    /// The most items in one page of a list.
    pub(crate) page_max: usize,
    /// Registrations read and verified at once.
    pub(crate) registrations_max: usize,
    /// How long one registration's soundness check may run, in ms.
    pub(crate) verify_time_max_ms: usize,
    /// Distinct specification ids the store may hold.
    pub(crate) specs_max: usize,
    /// Versions of one specification id the store may hold.
    pub(crate) spec_versions_max: usize,
    /// The longest lease a claim may ask for, in ms.
    pub(crate) lease_max_ms: usize,
}

/// The largest `limits.data_depth_max`: the store's records wrap case data in about ten
/// levels of their own, and serde_json reads at most 127 (`knhk_kernel::Limits`).
const DATA_DEPTH_CAP: usize = knhk_kernel::Limits::DATA_DEPTH_CEILING as usize;

impl Default for Limits {
    fn default() -> Limits {
        let api = knhk_server::ApiConfig::default();
        let engine = knhk_runtime::EngineConfig::default();
        Limits {
            body_max_bytes: api.body_max_bytes,
            spec_elements_max: api.spec_elements_max,
            data_depth_max: api.data_depth_max,
            page_max: engine.page_max,
            registrations_max: api.registrations_max,
            verify_time_max_ms: usize::try_from(api.verify_time_max.as_millis())
                .unwrap_or(usize::MAX),
            specs_max: engine.spec_caps.specs_max,
            spec_versions_max: engine.spec_caps.versions_max,
            lease_max_ms: usize::try_from(engine.lease_max_ms).unwrap_or(usize::MAX),
        }
    }
}

/// Bounds on HTTP connections (the `[http]` table), each a positive integer: how long a
/// client may take over a request head, a request body and the wait between requests,
/// and how many connections are served at once (`knhk_server::HttpLimits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Http {
    /// The time to send a complete request head, in milliseconds.
    pub(crate) header_read_timeout_ms: usize,
    /// The time to send a whole request body, in milliseconds.
    pub(crate) body_timeout_ms: usize,
    /// How long a keep-alive connection may wait for its next request, in milliseconds.
    pub(crate) idle_timeout_ms: usize,
    /// The most connections served at once.
    pub(crate) connections_max: usize,
}

impl Default for Http {
    fn default() -> Http {
        Http {
            header_read_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            connections_max: 1024,
        }
    }
}

/// The `[metrics]` settings (docs/observability.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Metrics {
    /// Specification ids with a label value of their own; the others are `other`.
    pub(crate) spec_ids_max: usize,
    /// Task ids per specification with a label value of their own.
    pub(crate) task_ids_max: usize,
    /// One kernel command in this many is timed for `knhk_hot_path_ticks`.
    pub(crate) hot_path_sample_every: usize,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let engine = knhk_runtime::metrics::MetricsConfig::default();
        Metrics {
            spec_ids_max: engine.spec_ids_max,
            task_ids_max: engine.task_ids_max,
            hot_path_sample_every: usize::try_from(engine.hot_path_sample_every)
                .unwrap_or(usize::MAX),
        }
    }
}

/// Where the KMS keys live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KmsProvider {
    /// AWS KMS (the default): needs a region and a key id.
    Aws,
    /// A local key file, for development: needs a key id.
    Local,
}

impl KmsProvider {
    /// The provider's name as configured.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KmsProvider::Aws => "aws",
            KmsProvider::Local => "local",
        }
    }
}

impl fmt::Display for KmsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `[fortune5]` settings: SPIFFE identity, KMS encryption, multi-region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fortune5 {
    /// The master switch: the features below need it.
    pub(crate) enabled: bool,
    /// SPIFFE workload identity and mTLS.
    pub(crate) spiffe_enabled: bool,
    /// The SPIRE agent's Workload API socket.
    pub(crate) spiffe_socket: Option<PathBuf>,
    /// The trust domain peers must belong to.
    pub(crate) spiffe_trust_domain: Option<String>,
    /// Envelope encryption of case data at rest.
    pub(crate) kms_enabled: bool,
    /// Where the keys live.
    pub(crate) kms_provider: KmsProvider,
    /// The AWS region of the key.
    pub(crate) kms_region: Option<String>,
    /// The key wrapping the data keys.
    pub(crate) kms_key_id: Option<String>,
    /// Multi-region replication.
    pub(crate) multi_region_enabled: bool,
    /// The regions, primary included.
    pub(crate) regions: Vec<String>,
    /// The one region that writes.
    pub(crate) primary_region: Option<String>,
}

/// Where an effective setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The built-in default.
    Default,
    /// The TOML file at this path.
    File(PathBuf),
    /// This environment variable.
    Env(&'static str),
    /// This command-line flag (with its dashes).
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(var) => write!(f, "env {var}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A setting: its dotted TOML key and its environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    /// The dotted TOML key, also the key `config show` prints.
    pub(crate) name: &'static str,
    /// The environment variable.
    pub(crate) env: &'static str,
}

impl Key {
    const fn new(name: &'static str, env: &'static str) -> Key {
        Key { name, env }
    }

    pub(crate) const LISTEN: Key = Key::new("listen", "KNHK_LISTEN");
    pub(crate) const LOG_LEVEL: Key = Key::new("log_level", "KNHK_LOG_LEVEL");
    pub(crate) const LOG_FORMAT: Key = Key::new("log_format", "KNHK_LOG_FORMAT");
    pub(crate) const STATE_STORE_PATH: Key = Key::new("state_store_path", "KNHK_STATE_STORE_PATH");
    pub(crate) const WORKFLOW_DB_PATH: Key = Key::new("workflow_db_path", "KNHK_WORKFLOW_DB_PATH");
    pub(crate) const DATABASE_URL: Key = Key::new("database_url", "KNHK_DATABASE_URL");
    pub(crate) const URL: Key = Key::new("url", "KNHK_URL");
    pub(crate) const BODY_MAX_BYTES: Key = Key::new("limits.body_max_bytes", "KNHK_BODY_MAX_BYTES");
    pub(crate) const SPEC_ELEMENTS_MAX: Key =
        Key::new("limits.spec_elements_max", "KNHK_SPEC_ELEMENTS_MAX");
    pub(crate) const DATA_DEPTH_MAX: Key = Key::new("limits.data_depth_max", "KNHK_DATA_DEPTH_MAX");
    pub(crate) const PAGE_MAX: Key = Key::new("limits.page_max", "KNHK_PAGE_MAX");
    pub(crate) const REGISTRATIONS_MAX: Key =
        Key::new("limits.registrations_max", "KNHK_REGISTRATIONS_MAX");
    pub(crate) const VERIFY_TIME_MAX_MS: Key =
        Key::new("limits.verify_time_max_ms", "KNHK_VERIFY_TIME_MAX_MS");
    pub(crate) const SPECS_MAX: Key = Key::new("limits.specs_max", "KNHK_SPECS_MAX");
    pub(crate) const SPEC_VERSIONS_MAX: Key =
        Key::new("limits.spec_versions_max", "KNHK_SPEC_VERSIONS_MAX");
    pub(crate) const LEASE_MAX_MS: Key = Key::new("limits.lease_max_ms", "KNHK_LEASE_MAX_MS");
    pub(crate) const API_TOKENS_FILE: Key = Key::new("api_tokens_file", "KNHK_API_TOKENS_FILE");
    pub(crate) const HTTP_HEADER_READ_TIMEOUT_MS: Key = Key::new(
        "http.header_read_timeout_ms",
        "KNHK_HTTP_HEADER_READ_TIMEOUT_MS",
    );
    pub(crate) const HTTP_BODY_TIMEOUT_MS: Key =
        Key::new("http.body_timeout_ms", "KNHK_HTTP_BODY_TIMEOUT_MS");
    pub(crate) const HTTP_IDLE_TIMEOUT_MS: Key =
        Key::new("http.idle_timeout_ms", "KNHK_HTTP_IDLE_TIMEOUT_MS");
    pub(crate) const HTTP_CONNECTIONS_MAX: Key =
        Key::new("http.connections_max", "KNHK_HTTP_CONNECTIONS_MAX");
    pub(crate) const METRICS_SPEC_IDS_MAX: Key =
        Key::new("metrics.spec_ids_max", "KNHK_METRICS_SPEC_IDS_MAX");
    pub(crate) const METRICS_TASK_IDS_MAX: Key =
        Key::new("metrics.task_ids_max", "KNHK_METRICS_TASK_IDS_MAX");
    pub(crate) const METRICS_HOT_PATH_SAMPLE_EVERY: Key = Key::new(
        "metrics.hot_path_sample_every",
        "KNHK_METRICS_HOT_PATH_SAMPLE_EVERY",
    );
    pub(crate) const REJECT_UNSOUND: Key = Key::new("reject_unsound", "KNHK_REJECT_UNSOUND");
    pub(crate) const FORTUNE5_ENABLED: Key = Key::new("fortune5.enabled", "KNHK_FORTUNE5_ENABLED");
    pub(crate) const SPIFFE_ENABLED: Key =
        Key::new("fortune5.spiffe_enabled", "KNHK_SPIFFE_ENABLED");
    pub(crate) const SPIFFE_SOCKET: Key = Key::new("fortune5.spiffe_socket", "KNHK_SPIFFE_SOCKET");
    pub(crate) const SPIFFE_TRUST_DOMAIN: Key =
        Key::new("fortune5.spiffe_trust_domain", "KNHK_SPIFFE_TRUST_DOMAIN");
    pub(crate) const KMS_ENABLED: Key = Key::new("fortune5.kms_enabled", "KNHK_KMS_ENABLED");
    pub(crate) const KMS_PROVIDER: Key = Key::new("fortune5.kms_provider", "KNHK_KMS_PROVIDER");
    pub(crate) const KMS_REGION: Key = Key::new("fortune5.kms_region", "KNHK_KMS_REGION");
    pub(crate) const KMS_KEY_ID: Key = Key::new("fortune5.kms_key_id", "KNHK_KMS_KEY_ID");
    pub(crate) const MULTI_REGION_ENABLED: Key =
        Key::new("fortune5.multi_region_enabled", "KNHK_MULTI_REGION_ENABLED");
    pub(crate) const REGIONS: Key = Key::new("fortune5.regions", "KNHK_REGIONS");
    pub(crate) const PRIMARY_REGION: Key =
        Key::new("fortune5.primary_region", "KNHK_PRIMARY_REGION");
    pub(crate) const OTEL_ENDPOINT: Key = Key::new("otel_endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT");
    pub(crate) const OTEL_SERVICE_NAME: Key = Key::new("otel_service_name", "OTEL_SERVICE_NAME");
    pub(crate) const OTEL_PROTOCOL: Key = Key::new("otel_protocol", "OTEL_EXPORTER_OTLP_PROTOCOL");
    pub(crate) const OTEL_RESOURCE_ATTRIBUTES: Key =
        Key::new("otel_resource_attributes", "OTEL_RESOURCE_ATTRIBUTES");

    /// The flag overriding the setting, if there is one.
    fn flag(self) -> Option<&'static str> {
        match self.name {
            "listen" => Some("--listen"),
            "log_level" => Some("--log-level"),
            "state_store_path" => Some("--state-store-path"),
            "url" => Some("--url"),
            _ => None,
        }
    }
}

/// One thing wrong with the configuration. The message names the key, variable or flag
/// and what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConfigProblem {
    /// The config file cannot be read.
    #[error("cannot read config file {} ({origin}): {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Who named it: `--config` or `KNHK_CONFIG`.
        origin: Source,
        /// The I/O error.
        reason: String,
    },
    /// The config file is not TOML.
    #[error("{}:{line}:{column}: TOML syntax error: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// The column in characters, from 1.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A key the configuration does not have.
    #[error("{}: unknown key `{key}` (known here: {})", path.display(), known.join(", "))]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: String,
        /// The keys known in the same table.
        known: Vec<&'static str>,
    },
    /// A TOML value of the wrong type.
    #[error("{}: {key}: expected {expected}, found {found}", path.display())]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: String,
        /// The type the key takes.
        expected: &'static str,
        /// The type and value found.
        found: String,
    },
    /// A value that does not parse or is out of range.
    #[error("{}: `{value}` is not {expected}", at(key, origin))]
    Invalid {
        /// The setting.
        key: Key,
        /// Where the value was given.
        origin: Source,
        /// The value (a database URL's password masked).
        value: String,
        /// What the setting takes.
        expected: &'static str,
    },
    /// A setting given as an empty string.
    #[error("{} is set but empty", at(key, origin))]
    Empty {
        /// The setting (`config` for `KNHK_CONFIG`).
        key: Key,
        /// Where the value was given.
        origin: Source,
    },
    /// A data path that exists as the wrong kind of file.
    #[error("{}: `{}` {problem}", at(key, origin), path.display())]
    BadPath {
        /// The setting.
        key: Key,
        /// Where the path was given.
        origin: Source,
        /// The path as the server would use it.
        path: PathBuf,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A feature is on without a setting it needs.
    #[error("{} ({}) {requirement} because {because}", needs.name, needs.env)]
    Requires {
        /// The missing setting.
        needs: Key,
        /// What it must be.
        requirement: &'static str,
        /// The settings that need it, and where they came from.
        because: String,
    },
    /// A Fortune 5 feature is on while `fortune5.enabled` is off.
    #[error(
        "{} is true ({origin}) but {} is false ({enabled_origin}): set {} = true or {}=true",
        key.name, Key::FORTUNE5_ENABLED.name, Key::FORTUNE5_ENABLED.name,
        Key::FORTUNE5_ENABLED.env
    )]
    Fortune5Off {
        /// The feature's switch.
        key: Key,
        /// Where it was turned on.
        origin: Source,
        /// Where `fortune5.enabled` came from.
        enabled_origin: Source,
    },
    /// The API tokens file cannot be read, or one of its entries is bad.
    #[error("{} ({origin}): {}: {problem}", Key::API_TOKENS_FILE.name, path.display())]
    Tokens {
        /// Where the file was named.
        origin: Source,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The primary region is not one of the regions.
    #[error(
        "{} `{primary}` ({origin}) is not one of {} ({})",
        Key::PRIMARY_REGION.name, Key::REGIONS.name, regions.join(", ")
    )]
    PrimaryRegion {
        /// The primary region.
        primary: String,
        /// Where it was given.
        origin: Source,
        /// The regions.
        regions: Vec<String>,
    },
}

/// Where a value was given, as a problem's message starts: the variable, the flag, or
/// the file and key.
fn at(key: &Key, origin: &Source) -> String {
    match origin {
        Source::Default => format!("{} (default)", key.name),
        Source::File(path) => format!("{}: {}", path.display(), key.name),
        Source::Env(var) => (*var).to_owned(),
        Source::Flag(flag) => (*flag).to_owned(),
    }
}

/// The configuration and where each setting came from.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The effective configuration.
    pub(crate) config: Config,
    /// The TOML file read, if any, and who named it.
    pub(crate) file: Option<(PathBuf, Source)>,
    /// Each setting's source, by dotted key.
    sources: BTreeMap<&'static str, Source>,
}

/// One line of `config show`.
struct Row {
    key: &'static str,
    value: Json,
    source: String,
}

impl Resolved {
    /// Where the setting with this dotted key came from (`None` for an unknown key).
    #[cfg(test)]
    pub(crate) fn source(&self, key: &str) -> Option<&Source> {
        self.sources.get(key)
    }

    /// The effective configuration as a table: key, value and source, one setting per
    /// line, columns aligned. Unset values show as `(unset)`.
    pub(crate) fn show_text(&self) -> String {
        let rows: Vec<(&str, String, String)> = self
            .rows()
            .into_iter()
            .map(|row| (row.key, text_of(&row.value), row.source))
            .collect();
        let key_width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let value_width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
        let mut out = String::new();
        for (key, value, source) in rows {
            out.push_str(&format!(
                "{key:<key_width$}  {value:<value_width$}  {source}\n"
            ));
        }
        out
    }

    /// The effective configuration as JSON: `{"key": {"value": …, "source": "…"}}`.
    pub(crate) fn show_json(&self) -> Json {
        let map = self
            .rows()
            .into_iter()
            .map(|row| {
                (
                    row.key.to_owned(),
                    json!({"value": row.value, "source": row.source}),
                )
            })
            .collect::<serde_json::Map<_, _>>();
        Json::Object(map)
    }

    /// Every setting in the file's order, with `database_url`'s password masked.
    fn rows(&self) -> Vec<Row> {
        let c = &self.config;
        let f = &c.fortune5;
        let path = |p: &Path| Json::from(p.display().to_string());
        let opt = |s: &Option<String>| s.as_deref().map_or(Json::Null, Json::from);
        let mut rows = vec![Row {
            key: "config",
            value: self.file.as_ref().map_or(Json::Null, |(p, _)| path(p)),
            source: self
                .file
                .as_ref()
                .map_or(Source::Default, |(_, s)| s.clone())
                .to_string(),
        }];
        let settings = [
            (Key::LISTEN, Json::from(c.listen.to_string())),
            (Key::LOG_LEVEL, Json::from(c.log_level.as_str())),
            (Key::LOG_FORMAT, Json::from(c.log_format.as_str())),
            (Key::STATE_STORE_PATH, path(&c.storage.state_dir)),
            (Key::WORKFLOW_DB_PATH, path(&c.storage.workflow_db)),
            (
                Key::DATABASE_URL,
                c.database_url
                    .as_deref()
                    .map_or(Json::Null, |u| Json::from(mask_password(u))),
            ),
            (Key::URL, Json::from(c.url.as_str())),
            (Key::BODY_MAX_BYTES, Json::from(c.limits.body_max_bytes)),
            (
                Key::SPEC_ELEMENTS_MAX,
                Json::from(c.limits.spec_elements_max),
            ),
            (Key::DATA_DEPTH_MAX, Json::from(c.limits.data_depth_max)),
            (Key::PAGE_MAX, Json::from(c.limits.page_max)),
            (
                Key::REGISTRATIONS_MAX,
                Json::from(c.limits.registrations_max),
            ),
            (
                Key::VERIFY_TIME_MAX_MS,
                Json::from(c.limits.verify_time_max_ms),
            ),
            (Key::SPECS_MAX, Json::from(c.limits.specs_max)),
            (
                Key::SPEC_VERSIONS_MAX,
                Json::from(c.limits.spec_versions_max),
            ),
            (Key::LEASE_MAX_MS, Json::from(c.limits.lease_max_ms)),
            (
                Key::HTTP_HEADER_READ_TIMEOUT_MS,
                Json::from(c.http.header_read_timeout_ms),
            ),
            (
                Key::HTTP_BODY_TIMEOUT_MS,
                Json::from(c.http.body_timeout_ms),
            ),
            (
                Key::HTTP_IDLE_TIMEOUT_MS,
                Json::from(c.http.idle_timeout_ms),
            ),
            (
                Key::HTTP_CONNECTIONS_MAX,
                Json::from(c.http.connections_max),
            ),
            (
                Key::METRICS_SPEC_IDS_MAX,
                Json::from(c.metrics.spec_ids_max),
            ),
            (
                Key::METRICS_TASK_IDS_MAX,
                Json::from(c.metrics.task_ids_max),
            ),
            (
                Key::METRICS_HOT_PATH_SAMPLE_EVERY,
                Json::from(c.metrics.hot_path_sample_every),
            ),
            (Key::REJECT_UNSOUND, Json::from(c.reject_unsound)),
            (
                Key::API_TOKENS_FILE,
                c.api_tokens_file.as_deref().map_or(Json::Null, path),
            ),
            (Key::FORTUNE5_ENABLED, Json::from(f.enabled)),
            (Key::SPIFFE_ENABLED, Json::from(f.spiffe_enabled)),
            (
                Key::SPIFFE_SOCKET,
                f.spiffe_socket.as_deref().map_or(Json::Null, path),
            ),
            (Key::SPIFFE_TRUST_DOMAIN, opt(&f.spiffe_trust_domain)),
            (Key::KMS_ENABLED, Json::from(f.kms_enabled)),
            (Key::KMS_PROVIDER, Json::from(f.kms_provider.as_str())),
            (Key::KMS_REGION, opt(&f.kms_region)),
            (Key::KMS_KEY_ID, opt(&f.kms_key_id)),
            (
                Key::MULTI_REGION_ENABLED,
                Json::from(f.multi_region_enabled),
            ),
            (Key::REGIONS, Json::from(f.regions.clone())),
            (Key::PRIMARY_REGION, opt(&f.primary_region)),
            (Key::OTEL_ENDPOINT, opt(&c.otel_endpoint)),
            (Key::OTEL_SERVICE_NAME, opt(&c.otel_service_name)),
            (Key::OTEL_PROTOCOL, Json::from(c.otel_protocol.as_str())),
            (
                Key::OTEL_RESOURCE_ATTRIBUTES,
                Json::from(
                    c.otel_resource_attributes
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>(),
                ),
            ),
        ];
        rows.extend(settings.into_iter().map(|(key, value)| {
            Row {
                key: key.name,
                value,
                source: self
                    .sources
                    .get(key.name)
                    .unwrap_or(&Source::Default)
                    .to_string(),
            }
        }));
        rows
    }
}

/// A value of `config show` as text: strings bare, lists comma-separated (as in the
/// environment), nothing as `(unset)`.
fn text_of(value: &Json) -> String {
    match value {
        Json::Null => "(unset)".to_owned(),
        Json::String(s) => s.clone(),
        Json::Array(items) if items.is_empty() => "(none)".to_owned(),
        Json::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// The configuration of this process: the file named by `--config` or `KNHK_CONFIG`,
/// the environment, and `overrides`.
pub(crate) fn load(overrides: &Overrides) -> Result<Resolved, Vec<ConfigProblem>> {
    resolve(
        &process_var,
        &|path| std::fs::read_to_string(path),
        overrides,
    )
}

/// `knhk config validate FILE`: the problems of `file` on its own (over the defaults,
/// without the environment or flags, so the answer does not depend on the machine it
/// is asked on). Without a FILE, validate what [`load`] returns instead.
pub(crate) fn validate_file(file: &Path) -> Vec<ConfigProblem> {
    validate_file_with(file, &|path| std::fs::read_to_string(path))
}

/// [`validate_file`] reading through `read`.
fn validate_file_with(
    file: &Path,
    read: &dyn Fn(&Path) -> io::Result<String>,
) -> Vec<ConfigProblem> {
    let overrides = Overrides {
        config: Some(file.to_path_buf()),
        ..Overrides::default()
    };
    resolve(&|_| None, read, &overrides)
        .err()
        .unwrap_or_default()
}

/// A variable of the process environment. A value that is not UTF-8 is kept (lossily)
/// rather than ignored, so that it is reported instead of silently falling back.
fn process_var(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

/// Resolves the layers: defaults, then the TOML file (named by `overrides.config`, else
/// by the variable `KNHK_CONFIG`, read through `read`), then the variables (looked up
/// through `var`), then the flags in `overrides`. Returns every problem found.
pub(crate) fn resolve(
    var: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&Path) -> io::Result<String>,
    overrides: &Overrides,
) -> Result<Resolved, Vec<ConfigProblem>> {
    let mut b = Builder::new(var, overrides);
    let file = b.config_file(read);

    let listen = b.setting(Key::LISTEN, default_listen(), parse_addr);
    let log_level = b.setting(Key::LOG_LEVEL, LogFilter::default(), parse_level);
    let log_format = b.setting(Key::LOG_FORMAT, LogFormat::Auto, parse_log_format);
    let state_dir = b.setting(
        Key::STATE_STORE_PATH,
        PathBuf::from(DEFAULT_STATE_STORE_PATH),
        parse_path,
    );
    let workflow_db = b.setting(
        Key::WORKFLOW_DB_PATH,
        PathBuf::from(DEFAULT_WORKFLOW_DB),
        parse_path,
    );
    let database_url = b.setting(Key::DATABASE_URL, None, parse_postgres_url);
    let url = b.setting(Key::URL, "http://localhost:8080".to_owned(), parse_http_url);
    let defaults = Limits::default();
    let limits = Limits {
        body_max_bytes: b.setting(Key::BODY_MAX_BYTES, defaults.body_max_bytes, parse_count),
        spec_elements_max: b.setting(
            Key::SPEC_ELEMENTS_MAX,
            defaults.spec_elements_max,
            parse_count,
        ),
        data_depth_max: b.setting(Key::DATA_DEPTH_MAX, defaults.data_depth_max, parse_depth),
        page_max: b.setting(Key::PAGE_MAX, defaults.page_max, parse_count),
        registrations_max: b.setting(
            Key::REGISTRATIONS_MAX,
            defaults.registrations_max,
            parse_count,
        ),
        verify_time_max_ms: b.setting(
            Key::VERIFY_TIME_MAX_MS,
            defaults.verify_time_max_ms,
            parse_count,
        ),
        specs_max: b.setting(Key::SPECS_MAX, defaults.specs_max, parse_count),
        spec_versions_max: b.setting(
            Key::SPEC_VERSIONS_MAX,
            defaults.spec_versions_max,
            parse_count,
        ),
        lease_max_ms: b.setting(Key::LEASE_MAX_MS, defaults.lease_max_ms, parse_count),
    };
    let defaults = Http::default();
    let http = Http {
        header_read_timeout_ms: b.setting(
            Key::HTTP_HEADER_READ_TIMEOUT_MS,
            defaults.header_read_timeout_ms,
            parse_count,
        ),
        body_timeout_ms: b.setting(
            Key::HTTP_BODY_TIMEOUT_MS,
            defaults.body_timeout_ms,
            parse_count,
        ),
        idle_timeout_ms: b.setting(
            Key::HTTP_IDLE_TIMEOUT_MS,
            defaults.idle_timeout_ms,
            parse_count,
        ),
        connections_max: b.setting(
            Key::HTTP_CONNECTIONS_MAX,
            defaults.connections_max,
            parse_count,
        ),
    };
    let defaults = Metrics::default();
    let metrics = Metrics {
        spec_ids_max: b.setting(
            Key::METRICS_SPEC_IDS_MAX,
            defaults.spec_ids_max,
            parse_count,
        ),
        task_ids_max: b.setting(
            Key::METRICS_TASK_IDS_MAX,
            defaults.task_ids_max,
            parse_count,
        ),
        hot_path_sample_every: b.setting(
            Key::METRICS_HOT_PATH_SAMPLE_EVERY,
            defaults.hot_path_sample_every,
            parse_count,
        ),
    };
    let reject_unsound = b.setting(Key::REJECT_UNSOUND, false, parse_bool);
    let api_tokens_file = b.setting(Key::API_TOKENS_FILE, None, |raw| parse_path(raw).map(Some));
    let fortune5 = Fortune5 {
        enabled: b.setting(Key::FORTUNE5_ENABLED, false, parse_bool),
        spiffe_enabled: b.setting(Key::SPIFFE_ENABLED, false, parse_bool),
        spiffe_socket: b.setting(Key::SPIFFE_SOCKET, None, |raw| parse_path(raw).map(Some)),
        spiffe_trust_domain: b.setting(Key::SPIFFE_TRUST_DOMAIN, None, parse_name),
        kms_enabled: b.setting(Key::KMS_ENABLED, false, parse_bool),
        kms_provider: b.setting(Key::KMS_PROVIDER, KmsProvider::Aws, parse_provider),
        kms_region: b.setting(Key::KMS_REGION, None, parse_name),
        kms_key_id: b.setting(Key::KMS_KEY_ID, None, parse_name),
        multi_region_enabled: b.setting(Key::MULTI_REGION_ENABLED, false, parse_bool),
        regions: b.setting(Key::REGIONS, Vec::new(), parse_regions),
        primary_region: b.setting(Key::PRIMARY_REGION, None, parse_name),
    };
    let otel_endpoint = b.setting(Key::OTEL_ENDPOINT, None, |raw| {
        parse_http_url(raw).map(Some)
    });
    let otel_service_name = b.setting(Key::OTEL_SERVICE_NAME, None, parse_name);
    let otel_protocol = b.setting(Key::OTEL_PROTOCOL, OtlpProtocol::Grpc, parse_protocol);
    let otel_resource_attributes =
        b.setting(Key::OTEL_RESOURCE_ATTRIBUTES, Vec::new(), parse_attributes);

    b.check_unknown_keys();
    let storage = StoragePaths::new(state_dir, Some(&workflow_db));
    b.check_storage(&storage);
    b.check_fortune5(&fortune5);
    if let Some(path) = &api_tokens_file {
        b.check_tokens(path, read);
    }

    if !b.problems.is_empty() {
        return Err(b.problems);
    }
    let mut sources = b.sources;
    if let Some((_, origin)) = &file {
        sources.insert("config", origin.clone());
    }
    Ok(Resolved {
        config: Config {
            listen,
            log_level,
            log_format,
            storage,
            database_url,
            url,
            limits,
            http,
            metrics,
            reject_unsound,
            api_tokens_file,
            fortune5,
            otel_endpoint,
            otel_service_name,
            otel_protocol,
            otel_resource_attributes,
        },
        file,
        sources,
    })
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8080))
}

/// A value as given in one layer.
#[derive(Debug, Clone, Copy)]
enum Raw<'v> {
    /// The text of a variable or flag: every type is spelled as text there.
    Given(&'v str),
    /// A TOML string.
    Str(&'v str),
    /// A TOML boolean.
    Bool(bool),
    /// A TOML integer.
    Int(i64),
    /// A TOML array of strings.
    List(&'v [toml::Value]),
    /// Any other TOML value.
    Other,
}

impl<'v> Raw<'v> {
    fn of(value: &'v toml::Value) -> Raw<'v> {
        match value {
            toml::Value::String(s) => Raw::Str(s),
            toml::Value::Boolean(b) => Raw::Bool(*b),
            toml::Value::Integer(i) => Raw::Int(*i),
            toml::Value::Array(items) if items.iter().all(toml::Value::is_str) => Raw::List(items),
            _ => Raw::Other,
        }
    }
}

/// Why a value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reject {
    /// An empty string.
    Empty,
    /// Not a valid value: what is expected.
    Invalid(&'static str),
    /// A TOML value of the wrong type: the type expected.
    Type(&'static str),
}

const ADDR: &str = "an address:port (example: 0.0.0.0:8080)";
const LEVEL: &str = "a log level (trace, debug, info, warn, error, off) or RUST_LOG-style \
                     directives (info,knhk_runtime=debug)";
const LOG_FORMAT: &str = "a log format (json, text, auto)";
const PROTOCOL: &str = "an OTLP protocol (grpc, http/protobuf)";
const ATTRIBUTES: &str = "comma-separated key=value pairs (deployment.environment=prod,team=ops)";
const HTTP_URL: &str = "an http:// or https:// URL";
const POSTGRES_URL: &str = "a PostgreSQL URL (postgres://… or postgresql://…)";
const COUNT: &str = "a positive integer";
const DEPTH: &str = "a positive integer up to 100 (what the store reads back)";
const BOOL: &str = "a boolean (true, false, 1, 0, yes, no)";
const PROVIDER: &str = "a KMS provider (aws, local)";
const REGIONS: &str = "a comma-separated list of region names";
const UTF8: &str = "valid UTF-8";

/// A string setting's text; TOML must spell it as a string.
fn text(raw: Raw<'_>) -> Result<&str, Reject> {
    match raw {
        Raw::Given("") | Raw::Str("") => Err(Reject::Empty),
        Raw::Given(s) | Raw::Str(s) => Ok(s),
        _ => Err(Reject::Type("a string")),
    }
}

fn parse_addr(raw: Raw<'_>) -> Result<SocketAddr, Reject> {
    text(raw)?.parse().map_err(|_| Reject::Invalid(ADDR))
}

fn parse_level(raw: Raw<'_>) -> Result<LogFilter, Reject> {
    LogFilter::parse(text(raw)?).ok_or(Reject::Invalid(LEVEL))
}

fn parse_log_format(raw: Raw<'_>) -> Result<LogFormat, Reject> {
    let s = text(raw)?;
    [LogFormat::Auto, LogFormat::Json, LogFormat::Text]
        .into_iter()
        .find(|format| format.as_str().eq_ignore_ascii_case(s))
        .ok_or(Reject::Invalid(LOG_FORMAT))
}

/// The OTLP protocols this build sends (`http/json`, the third the specification
/// names, is not one of them).
fn parse_protocol(raw: Raw<'_>) -> Result<OtlpProtocol, Reject> {
    let s = text(raw)?;
    [OtlpProtocol::Grpc, OtlpProtocol::HttpProtobuf]
        .into_iter()
        .find(|protocol| protocol.as_str() == s)
        .ok_or(Reject::Invalid(PROTOCOL))
}

/// `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs, comma-separated, each key non-empty;
/// values are taken as written (no percent-decoding).
fn parse_attributes(raw: Raw<'_>) -> Result<Vec<(String, String)>, Reject> {
    text(raw)?
        .split(',')
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_owned(), value.trim().to_owned()))
            }
            _ => Err(Reject::Invalid(ATTRIBUTES)),
        })
        .collect()
}

fn parse_path(raw: Raw<'_>) -> Result<PathBuf, Reject> {
    text(raw).map(PathBuf::from)
}

/// A free-form name (region, key id, trust domain, service name).
fn parse_name(raw: Raw<'_>) -> Result<Option<String>, Reject> {
    text(raw).map(|s| Some(s.to_owned()))
}

/// An http(s) URL with something after the scheme; a trailing `/` is dropped so that
/// clients can append paths.
fn parse_http_url(raw: Raw<'_>) -> Result<String, Reject> {
    let s = text(raw)?;
    let rest = strip_scheme(s, &["http://", "https://"]).ok_or(Reject::Invalid(HTTP_URL))?;
    if rest.trim_end_matches('/').is_empty() {
        return Err(Reject::Invalid(HTTP_URL));
    }
    Ok(s.trim_end_matches('/').to_owned())
}

fn parse_postgres_url(raw: Raw<'_>) -> Result<Option<String>, Reject> {
    let s = text(raw)?;
    strip_scheme(s, &["postgres://", "postgresql://"]).ok_or(Reject::Invalid(POSTGRES_URL))?;
    Ok(Some(s.to_owned()))
}

/// `s` after the first of `schemes` it starts with (schemes are case-insensitive).
fn strip_scheme<'s>(s: &'s str, schemes: &[&str]) -> Option<&'s str> {
    schemes.iter().find_map(|scheme| {
        let head = s.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &s[scheme.len()..])
    })
}

fn parse_count(raw: Raw<'_>) -> Result<usize, Reject> {
    let n = match raw {
        Raw::Given(s) => s.trim().parse::<usize>().ok(),
        Raw::Int(i) => usize::try_from(i).ok(),
        _ => return Err(Reject::Type("an integer")),
    };
    n.filter(|&n| n > 0).ok_or(Reject::Invalid(COUNT))
}

/// A data depth: a count up to [`DATA_DEPTH_CAP`].
fn parse_depth(raw: Raw<'_>) -> Result<usize, Reject> {
    let depth = parse_count(raw)?;
    if depth > DATA_DEPTH_CAP {
        return Err(Reject::Invalid(DEPTH));
    }
    Ok(depth)
}

fn parse_bool(raw: Raw<'_>) -> Result<bool, Reject> {
    match raw {
        Raw::Bool(b) => Ok(b),
        Raw::Given(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(Reject::Invalid(BOOL)),
        },
        _ => Err(Reject::Type("a boolean")),
    }
}

fn parse_provider(raw: Raw<'_>) -> Result<KmsProvider, Reject> {
    let s = text(raw)?;
    [KmsProvider::Aws, KmsProvider::Local]
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(s))
        .ok_or(Reject::Invalid(PROVIDER))
}

/// Regions: comma-separated in a variable, an array of strings in TOML. Blanks around
/// names are dropped; an empty name (`a,,b`) is refused rather than guessed at.
fn parse_regions(raw: Raw<'_>) -> Result<Vec<String>, Reject> {
    let names: Vec<&str> = match raw {
        Raw::Given(s) => s.split(',').map(str::trim).collect(),
        Raw::List(items) => items
            .iter()
            .filter_map(toml::Value::as_str)
            .map(str::trim)
            .collect(),
        _ => return Err(Reject::Type("an array of strings")),
    };
    if names.iter().any(|name| name.is_empty()) {
        return Err(Reject::Invalid(REGIONS));
    }
    Ok(names.into_iter().map(str::to_owned).collect())
}

/// The text of a variable or flag through `parse`; empty text is refused whatever the
/// setting's type (see the module's documentation).
fn given<T>(text: &str, parse: fn(Raw<'_>) -> Result<T, Reject>) -> Result<T, Reject> {
    if text.is_empty() {
        return Err(Reject::Empty);
    }
    parse(Raw::Given(text))
}

/// The TOML file's table and where it is.
struct FileLayer {
    path: PathBuf,
    table: toml::Table,
}

/// The state of one resolution: the layers' inputs, and what has been found so far.
struct Builder<'a> {
    var: &'a dyn Fn(&str) -> Option<String>,
    overrides: &'a Overrides,
    file: Option<FileLayer>,
    problems: Vec<ConfigProblem>,
    /// The settings some layer gave a bad value for: the cross-checks skip them, so a
    /// bad value is not reported a second time as a missing one.
    failed: BTreeSet<&'static str>,
    sources: BTreeMap<&'static str, Source>,
    /// The settings' keys in declaration order, for the unknown-key check and hints.
    known: Vec<&'static str>,
}

impl<'a> Builder<'a> {
    fn new(var: &'a dyn Fn(&str) -> Option<String>, overrides: &'a Overrides) -> Builder<'a> {
        Builder {
            var,
            overrides,
            file: None,
            problems: Vec::new(),
            failed: BTreeSet::new(),
            sources: BTreeMap::new(),
            known: Vec::new(),
        }
    }

    /// Reads and parses the config file, if one is named; returns its path and who
    /// named it.
    fn config_file(
        &mut self,
        read: &dyn Fn(&Path) -> io::Result<String>,
    ) -> Option<(PathBuf, Source)> {
        let (path, origin) = match (&self.overrides.config, (self.var)(CONFIG_VAR)) {
            (Some(path), _) => (path.clone(), Source::Flag(CONFIG_FLAG)),
            (None, Some(value)) if value.is_empty() => {
                self.problems.push(ConfigProblem::Empty {
                    key: Key::new("config", CONFIG_VAR),
                    origin: Source::Env(CONFIG_VAR),
                });
                return None;
            }
            (None, Some(value)) => (PathBuf::from(value), Source::Env(CONFIG_VAR)),
            (None, None) => return None,
        };
        match read(&path) {
            Ok(text) => match text.parse::<toml::Table>() {
                Ok(table) => {
                    self.file = Some(FileLayer {
                        path: path.clone(),
                        table,
                    });
                }
                Err(err) => {
                    let (line, column) = err
                        .span()
                        .map_or((1, 1), |span| line_column(&text, span.start));
                    self.problems.push(ConfigProblem::Syntax {
                        path: path.clone(),
                        line,
                        column,
                        message: err.message().trim_end().to_owned(),
                    });
                }
            },
            Err(err) => self.problems.push(ConfigProblem::Unreadable {
                path: path.clone(),
                origin: origin.clone(),
                reason: err.to_string(),
            }),
        }
        Some((path, origin))
    }

    /// One setting through the layers: `default`, the file, the variable, the flag.
    /// A bad value in any layer is reported (even one a higher layer overrides: it is
    /// still wrong where it is written) and leaves the value of the layers below.
    fn setting<T>(&mut self, key: Key, default: T, parse: fn(Raw<'_>) -> Result<T, Reject>) -> T {
        self.known.push(key.name);
        let mut value = default;
        let mut source = Source::Default;

        let from_file = self
            .file
            .as_ref()
            .and_then(|file| lookup(&file.table, key.name).map(|v| (file.path.clone(), v.clone())));
        if let Some((path, raw)) = from_file {
            let origin = Source::File(path);
            match parse(Raw::of(&raw)) {
                Ok(v) => (value, source) = (v, origin),
                Err(reject) => {
                    let shown = raw.as_str().map_or_else(|| raw.to_string(), str::to_owned);
                    self.reject(key, origin, &shown, reject, Some(&raw));
                }
            }
        }

        // An empty OTEL_* variable is unset: the OpenTelemetry specification says so.
        let from_env =
            (self.var)(key.env).filter(|value| !(value.is_empty() && key.env.starts_with("OTEL_")));
        if let Some(text) = from_env {
            let origin = Source::Env(key.env);
            match given(&text, parse) {
                Ok(v) => (value, source) = (v, origin),
                Err(reject) => self.reject(key, origin, &text, reject, None),
            }
        }

        if let Some((flag, flag_text)) = self.flag(key) {
            let origin = Source::Flag(flag);
            match flag_text {
                Ok(text) => match given(&text, parse) {
                    Ok(v) => (value, source) = (v, origin),
                    Err(reject) => self.reject(key, origin, &text, reject, None),
                },
                Err(lossy) => self.reject(key, origin, &lossy, Reject::Invalid(UTF8), None),
            }
        }

        self.sources.insert(key.name, source);
        value
    }

    /// The flag's name and its value (`Err` with the lossy text when not UTF-8).
    fn flag(&self, key: Key) -> Option<(&'static str, Result<String, String>)> {
        let o = self.overrides;
        let path = |p: &Option<PathBuf>| {
            p.as_ref().map(|p| {
                p.to_str()
                    .map(str::to_owned)
                    .ok_or_else(|| p.to_string_lossy().into_owned())
            })
        };
        let given = match key.name {
            "listen" => o.listen.clone().map(Ok),
            "log_level" => o.log_level.clone().map(Ok),
            "state_store_path" => path(&o.state_store_path),
            "url" => o.url.clone().map(Ok),
            _ => None,
        }?;
        Some((key.flag()?, given))
    }

    fn reject(
        &mut self,
        key: Key,
        origin: Source,
        shown: &str,
        reject: Reject,
        toml: Option<&toml::Value>,
    ) {
        self.failed.insert(key.name);
        let problem = match (reject, origin) {
            (Reject::Empty, origin) => ConfigProblem::Empty { key, origin },
            (Reject::Type(expected), Source::File(path)) => ConfigProblem::WrongType {
                path,
                key: key.name.to_owned(),
                expected,
                found: toml.map_or_else(|| shown.to_owned(), describe),
            },
            (Reject::Invalid(expected) | Reject::Type(expected), origin) => {
                // The value is echoed, so a database URL's password must not be.
                let value = if key == Key::DATABASE_URL {
                    mask_password(shown)
                } else {
                    shown.to_owned()
                };
                ConfigProblem::Invalid {
                    key,
                    origin,
                    value,
                    expected,
                }
            }
        };
        self.problems.push(problem);
    }

    /// Reports the file's keys that are no setting, and known tables given as values.
    fn check_unknown_keys(&mut self) {
        if let Some(file) = self.file.take() {
            self.check_table(&file.path, &file.table, "");
            self.file = Some(file);
        }
    }

    fn check_table(&mut self, path: &Path, table: &toml::Table, prefix: &str) {
        for (name, value) in table {
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            if self.known.contains(&key.as_str()) {
                continue;
            }
            let table_prefix = format!("{key}.");
            if self.known.iter().any(|k| k.starts_with(&table_prefix)) {
                match value {
                    toml::Value::Table(inner) => self.check_table(path, inner, &key),
                    other => self.problems.push(ConfigProblem::WrongType {
                        path: path.to_path_buf(),
                        key,
                        expected: "a table",
                        found: describe(other),
                    }),
                }
                continue;
            }
            let known = self.known_in(prefix);
            self.problems.push(ConfigProblem::UnknownKey {
                path: path.to_path_buf(),
                key,
                known,
            });
        }
    }

    /// The names known directly in table `prefix` (`""`: the top level).
    fn known_in(&self, prefix: &str) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for key in &self.known {
            let rest = if prefix.is_empty() {
                Some(*key)
            } else {
                key.strip_prefix(prefix).and_then(|r| r.strip_prefix('.'))
            };
            if let Some(name) = rest.and_then(|r| r.split('.').next())
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
        names
    }

    /// A data directory that is a file, or a database path that is a directory, would
    /// only fail when the server opens the store; say so now. Missing paths are fine:
    /// the server creates them.
    fn check_storage(&mut self, storage: &StoragePaths) {
        let checks = [
            (
                Key::STATE_STORE_PATH,
                &storage.state_dir,
                false,
                "exists but is not a directory",
            ),
            (
                Key::WORKFLOW_DB_PATH,
                &storage.workflow_db,
                true,
                "is a directory, not a database file",
            ),
        ];
        for (key, path, bad_if_dir, problem) in checks {
            if self.failed.contains(key.name) {
                continue;
            }
            if let Ok(meta) = std::fs::metadata(path)
                && meta.is_dir() == bad_if_dir
            {
                self.problems.push(ConfigProblem::BadPath {
                    key,
                    origin: self.source_of(key),
                    path: path.clone(),
                    problem,
                });
            }
        }
    }

    fn source_of(&self, key: Key) -> Source {
        self.sources
            .get(key.name)
            .cloned()
            .unwrap_or(Source::Default)
    }

    /// "`key` is `value` (source)", for the messages of the cross-checks.
    fn because(&self, key: Key, value: &str) -> String {
        format!("{} is {value} ({})", key.name, self.source_of(key))
    }

    /// The Fortune 5 features need their master switch and their companion settings.
    fn check_fortune5(&mut self, f: &Fortune5) {
        let switches = [
            (Key::SPIFFE_ENABLED, f.spiffe_enabled),
            (Key::KMS_ENABLED, f.kms_enabled),
            (Key::MULTI_REGION_ENABLED, f.multi_region_enabled),
        ];
        if !f.enabled && !self.failed.contains(Key::FORTUNE5_ENABLED.name) {
            for (key, on) in switches {
                if on {
                    self.problems.push(ConfigProblem::Fortune5Off {
                        key,
                        origin: self.source_of(key),
                        enabled_origin: self.source_of(Key::FORTUNE5_ENABLED),
                    });
                }
            }
        }
        if f.spiffe_enabled {
            let because = self.because(Key::SPIFFE_ENABLED, "true");
            self.require(Key::SPIFFE_SOCKET, f.spiffe_socket.is_some(), &because);
            self.require(
                Key::SPIFFE_TRUST_DOMAIN,
                f.spiffe_trust_domain.is_some(),
                &because,
            );
        }
        if f.kms_enabled {
            let because = self.because(Key::KMS_ENABLED, "true");
            self.require(Key::KMS_KEY_ID, f.kms_key_id.is_some(), &because);
            if f.kms_provider == KmsProvider::Aws && !self.failed.contains(Key::KMS_PROVIDER.name) {
                let because = format!("{because} and {}", self.because(Key::KMS_PROVIDER, "aws"));
                self.require(Key::KMS_REGION, f.kms_region.is_some(), &because);
            }
        }
        // Bad regions were reported already; checking the primary against them would
        // only repeat that.
        if f.multi_region_enabled && !self.failed.contains(Key::REGIONS.name) {
            if f.regions.is_empty() {
                self.problems.push(ConfigProblem::Requires {
                    needs: Key::REGIONS,
                    requirement: "must name at least one region",
                    because: self.because(Key::MULTI_REGION_ENABLED, "true"),
                });
            } else if let Some(primary) = &f.primary_region
                && !f.regions.contains(primary)
            {
                self.problems.push(ConfigProblem::PrimaryRegion {
                    primary: primary.clone(),
                    origin: self.source_of(Key::PRIMARY_REGION),
                    regions: f.regions.clone(),
                });
            }
        }
    }

    /// Reports a tokens file that cannot be read, or each of its bad entries.
    fn check_tokens(&mut self, path: &Path, read: &dyn Fn(&Path) -> io::Result<String>) {
        let origin = self.source_of(Key::API_TOKENS_FILE);
        let problems = match read(path) {
            Ok(text) => knhk_server::Tokens::parse(&text).err().unwrap_or_default(),
            Err(e) => vec![format!("cannot be read: {e}")],
        };
        for problem in problems {
            self.problems.push(ConfigProblem::Tokens {
                origin: origin.clone(),
                path: path.to_path_buf(),
                problem,
            });
        }
    }

    /// Reports `needs` as missing, unless it is `present` or was given a bad value.
    fn require(&mut self, needs: Key, present: bool, because: &str) {
        if !present && !self.failed.contains(needs.name) {
            self.problems.push(ConfigProblem::Requires {
                needs,
                requirement: "must be set",
                because: because.to_owned(),
            });
        }
    }
}

/// The value at dotted `key` in `table`, if every table on the way exists.
fn lookup<'t>(table: &'t toml::Table, key: &str) -> Option<&'t toml::Value> {
    let mut parts = key.split('.');
    let first = table.get(parts.next()?)?;
    parts.try_fold(first, |value, part| value.as_table()?.get(part))
}

/// A TOML value's type, and the value itself when it is short.
fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(_) => "a table".to_owned(),
        other => format!("{} `{other}`", other.type_str()),
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// `url` with its password replaced by `***`: the one in the user information
/// (`user:secret@host`) and a `password=` query parameter (libpq's other spelling).
/// Everything before the last `@` ahead of the query is taken as user information, so
/// an unescaped `/` or `@` in a password is masked too (at worst, more is masked).
pub(crate) fn mask_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return mask_keyword_password(url);
    };
    let (head, rest) = url.split_at(scheme_end);
    let query_at = rest.find(['?', '#']).unwrap_or(rest.len());
    let (before_query, tail) = rest.split_at(query_at);
    let mut out = head.to_owned();
    match before_query.rfind('@') {
        Some(at) => {
            let (userinfo, host) = before_query.split_at(at);
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(host);
        }
        None => out.push_str(before_query),
    }
    out.push_str(&mask_query(tail));
    out
}

/// A libpq key=value connection string (`host=db user=admin password=secret`) with the
/// value of each `password` masked, quoted (`'…'`, with `\\` escapes) or not. Anything
/// else passes unchanged.
fn mask_keyword_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_ignore_case(rest, "password") {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        out.push_str(&after[.."password".len()]);
        let after = &after["password".len()..];
        let value_at = after.trim_start();
        let Some(value) = value_at.strip_prefix('=') else {
            rest = after;
            continue;
        };
        out.push_str(&after[..after.len() - value_at.len()]);
        out.push('=');
        let spaces = value.len() - value.trim_start().len();
        out.push_str(&value[..spaces]);
        let value = &value[spaces..];
        let end = if let Some(quoted) = value.strip_prefix('\'') {
            let mut escaped = false;
            let close = quoted.char_indices().find(|&(_, c)| {
                let closes = c == '\'' && !escaped;
                escaped = c == '\\' && !escaped;
                closes
            });
            close.map_or(value.len(), |(i, _)| i + 2)
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        out.push_str("***");
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// The byte offset of the first `needle` (ASCII) in `haystack`, ignoring ASCII case.
fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// `tail` (`?query#fragment`) with the value of each `password` parameter masked.
fn mask_query(tail: &str) -> String {
    let Some(query) = tail.strip_prefix('?') else {
        return tail.to_owned();
    };
    let (query, fragment) = query.split_at(query.find('#').unwrap_or(query.len()));
    let params = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
            _ => param.to_owned(),
        })
        .collect::<Vec<_>>();
    format!("?{}{fragment}", params.join("&"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// The file every test with file text names through `KNHK_CONFIG`.
    const FILE: &str = "knhk.toml";

    /// Resolves with variables `env`, a config file with text `file` (named by
    /// `KNHK_CONFIG` unless `env` or `overrides` name one) and `overrides`.
    fn run(
        file: Option<&str>,
        env: &[(&str, &str)],
        overrides: &Overrides,
    ) -> Result<Resolved, Vec<ConfigProblem>> {
        let mut vars: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if file.is_some() && !vars.iter().any(|(k, _)| k == CONFIG_VAR) {
            vars.push((CONFIG_VAR.to_owned(), FILE.to_owned()));
        }
        let var = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let text = file.map(str::to_owned);
        let read = move |_: &Path| {
            text.clone()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
        };
        resolve(&var, &read, overrides)
    }

    fn ok(file: Option<&str>, env: &[(&str, &str)], overrides: &Overrides) -> Resolved {
        match run(file, env, overrides) {
            Ok(resolved) => resolved,
            Err(problems) => panic!("unexpected problems: {}", messages(&problems).join("\n")),
        }
    }

    fn problems(file: Option<&str>, env: &[(&str, &str)], overrides: &Overrides) -> Vec<String> {
        match run(file, env, overrides) {
            Ok(_) => panic!("expected problems"),
            Err(problems) => messages(&problems),
        }
    }

    fn messages(problems: &[ConfigProblem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    fn source(resolved: &Resolved, key: &str) -> String {
        resolved.source(key).unwrap().to_string()
    }

    fn file_source() -> String {
        format!("file {FILE}")
    }

    /// A path that exists and is a file: this crate's manifest.
    fn a_file() -> String {
        concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml").to_owned()
    }

    /// An existing directory: this crate's.
    fn a_dir() -> String {
        env!("CARGO_MANIFEST_DIR").to_owned()
    }

    fn fortune5_env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut env = vec![("KNHK_FORTUNE5_ENABLED", "true")];
        env.extend_from_slice(extra);
        env
    }

    #[test]
    fn defaults() {
        let r = ok(None, &[], &Overrides::default());
        let c = &r.config;
        assert_eq!(c.listen, "0.0.0.0:8080".parse::<SocketAddr>().unwrap());
        assert_eq!(c.log_level.as_str(), "info");
        assert_eq!(c.storage.state_dir, PathBuf::from("knhk-data"));
        assert_eq!(
            c.storage.workflow_db,
            PathBuf::from("knhk-data/workflow_db")
        );
        assert_eq!(c.database_url, None);
        assert_eq!(c.url, "http://localhost:8080");
        assert_eq!(
            c.limits,
            Limits {
                body_max_bytes: 16_777_216,
                spec_elements_max: 100_000,
                data_depth_max: 32,
                page_max: 1000,
                registrations_max: 2,
                verify_time_max_ms: 10_000,
                specs_max: 10_000,
                spec_versions_max: 1_000,
                lease_max_ms: 86_400_000,
            }
        );
        assert_eq!(
            c.http,
            Http {
                header_read_timeout_ms: 10_000,
                body_timeout_ms: 30_000,
                idle_timeout_ms: 60_000,
                connections_max: 1024,
            }
        );
        assert_eq!(
            c.metrics,
            Metrics {
                spec_ids_max: 100,
                task_ids_max: 100,
                hot_path_sample_every: 64,
            }
        );
        assert!(!c.reject_unsound);
        assert_eq!(
            c.fortune5,
            Fortune5 {
                enabled: false,
                spiffe_enabled: false,
                spiffe_socket: None,
                spiffe_trust_domain: None,
                kms_enabled: false,
                kms_provider: KmsProvider::Aws,
                kms_region: None,
                kms_key_id: None,
                multi_region_enabled: false,
                regions: Vec::new(),
                primary_region: None,
            }
        );
        assert_eq!(c.otel_endpoint, None);
        assert_eq!(c.otel_service_name, None);
        assert_eq!(r.file, None);
        assert_eq!(r.source("config"), None);
        for row in r.rows() {
            assert_eq!(row.source, "default", "{}", row.key);
        }
        assert_eq!(r.rows().len(), 41);
    }

    #[test]
    fn every_setting_from_the_file() {
        let text = r#"
            listen = "127.0.0.1:9000"
            log_level = "debug"
            state_store_path = "/srv/knhk"
            workflow_db_path = "engine.redb"
            database_url = "postgres://knhk@db/knhk"
            url = "https://knhk.example.com/"
            reject_unsound = true
            log_format = "text"
            otel_endpoint = "http://collector:4317"
            otel_service_name = "knhk-test"
            otel_protocol = "http/protobuf"
            otel_resource_attributes = "team=ops"

            [limits]
            body_max_bytes = 1024
            spec_elements_max = 10
            data_depth_max = 4
            page_max = 50
            registrations_max = 3
            verify_time_max_ms = 500
            specs_max = 7
            spec_versions_max = 8
            lease_max_ms = 9000

            [http]
            header_read_timeout_ms = 1000
            body_timeout_ms = 2000
            idle_timeout_ms = 3000
            connections_max = 16

            [metrics]
            spec_ids_max = 5
            task_ids_max = 6
            hot_path_sample_every = 7

            [fortune5]
            enabled = true
            spiffe_enabled = true
            spiffe_socket = "/run/spire/agent.sock"
            spiffe_trust_domain = "example.org"
            kms_enabled = true
            kms_provider = "local"
            kms_key_id = "dev-key"
            multi_region_enabled = true
            regions = ["us-east-1", "eu-west-1"]
            primary_region = "eu-west-1"
        "#;
        let r = ok(Some(text), &[], &Overrides::default());
        let c = &r.config;
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.log_level.as_str(), "debug");
        assert_eq!(c.storage.state_dir, PathBuf::from("/srv/knhk"));
        assert_eq!(
            c.storage.workflow_db,
            PathBuf::from("/srv/knhk/engine.redb")
        );
        assert_eq!(c.database_url.as_deref(), Some("postgres://knhk@db/knhk"));
        assert_eq!(c.url, "https://knhk.example.com", "trailing slash dropped");
        assert!(c.reject_unsound);
        assert_eq!(c.otel_endpoint.as_deref(), Some("http://collector:4317"));
        assert_eq!(c.otel_service_name.as_deref(), Some("knhk-test"));
        assert_eq!(
            c.limits,
            Limits {
                body_max_bytes: 1024,
                spec_elements_max: 10,
                data_depth_max: 4,
                page_max: 50,
                registrations_max: 3,
                verify_time_max_ms: 500,
                specs_max: 7,
                spec_versions_max: 8,
                lease_max_ms: 9000,
            }
        );
        assert_eq!(
            c.http,
            Http {
                header_read_timeout_ms: 1000,
                body_timeout_ms: 2000,
                idle_timeout_ms: 3000,
                connections_max: 16,
            }
        );
        assert_eq!(
            c.metrics,
            Metrics {
                spec_ids_max: 5,
                task_ids_max: 6,
                hot_path_sample_every: 7,
            }
        );
        let f = &c.fortune5;
        assert!(f.enabled && f.spiffe_enabled && f.kms_enabled && f.multi_region_enabled);
        assert_eq!(
            f.spiffe_socket.as_deref(),
            Some(Path::new("/run/spire/agent.sock"))
        );
        assert_eq!(f.spiffe_trust_domain.as_deref(), Some("example.org"));
        assert_eq!(f.kms_provider, KmsProvider::Local);
        assert_eq!(f.kms_region, None);
        assert_eq!(f.kms_key_id.as_deref(), Some("dev-key"));
        assert_eq!(f.regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(f.primary_region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            r.file,
            Some((PathBuf::from(FILE), Source::Env("KNHK_CONFIG")))
        );
        assert_eq!(source(&r, "config"), "env KNHK_CONFIG");
        for row in r.rows().iter().skip(1) {
            // The tokens file is tested on its own: here every path reads as the
            // config file.
            let expected = if row.key == "fortune5.kms_region" || row.key == "api_tokens_file" {
                "default".to_owned()
            } else {
                file_source()
            };
            assert_eq!(row.source, expected, "{}", row.key);
        }
    }

    #[test]
    fn every_setting_from_the_environment() {
        let env = [
            ("KNHK_LISTEN", "[::1]:7000"),
            ("KNHK_LOG_LEVEL", "WARN"),
            ("KNHK_STATE_STORE_PATH", "/var/lib/knhk"),
            ("KNHK_WORKFLOW_DB_PATH", "db/engine"),
            ("KNHK_DATABASE_URL", "postgresql://u:p@h:5432/d"),
            ("KNHK_URL", "http://10.0.0.1:8080"),
            ("KNHK_BODY_MAX_BYTES", "2048"),
            ("KNHK_SPEC_ELEMENTS_MAX", "20"),
            ("KNHK_DATA_DEPTH_MAX", "8"),
            ("KNHK_PAGE_MAX", "100"),
            ("KNHK_HTTP_HEADER_READ_TIMEOUT_MS", "500"),
            ("KNHK_HTTP_BODY_TIMEOUT_MS", " 600 "),
            ("KNHK_HTTP_IDLE_TIMEOUT_MS", "700"),
            ("KNHK_HTTP_CONNECTIONS_MAX", "8"),
            ("KNHK_REJECT_UNSOUND", "yes"),
            ("KNHK_FORTUNE5_ENABLED", "1"),
            ("KNHK_SPIFFE_ENABLED", "TRUE"),
            ("KNHK_SPIFFE_SOCKET", "/run/spire.sock"),
            ("KNHK_SPIFFE_TRUST_DOMAIN", "prod.example"),
            ("KNHK_KMS_ENABLED", "Yes"),
            ("KNHK_KMS_PROVIDER", "AWS"),
            ("KNHK_KMS_REGION", "us-east-1"),
            ("KNHK_KMS_KEY_ID", "arn:aws:kms:us-east-1:1:key/abc"),
            ("KNHK_MULTI_REGION_ENABLED", "true"),
            ("KNHK_REGIONS", "us-east-1,us-west-2"),
            ("KNHK_PRIMARY_REGION", "us-east-1"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel:4318"),
            ("OTEL_SERVICE_NAME", "knhk"),
        ];
        let r = ok(None, &env, &Overrides::default());
        let c = &r.config;
        assert_eq!(c.listen.to_string(), "[::1]:7000");
        assert_eq!(c.log_level.as_str(), "WARN");
        assert_eq!(
            c.storage.workflow_db,
            PathBuf::from("/var/lib/knhk/db/engine")
        );
        assert_eq!(c.limits.page_max, 100);
        assert_eq!(
            c.http,
            Http {
                header_read_timeout_ms: 500,
                body_timeout_ms: 600,
                idle_timeout_ms: 700,
                connections_max: 8,
            }
        );
        assert!(c.reject_unsound);
        assert_eq!(c.fortune5.kms_provider, KmsProvider::Aws);
        assert_eq!(c.fortune5.regions, ["us-east-1", "us-west-2"]);
        assert_eq!(c.otel_endpoint.as_deref(), Some("https://otel:4318"));
        for (var, _) in env {
            let row = r
                .rows()
                .into_iter()
                .find(|row| row.source == format!("env {var}"));
            assert!(row.is_some(), "{var} is no row's source");
        }
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let text = r#"
            listen = "1.1.1.1:1"
            log_level = "trace"
            state_store_path = "from-file"
            url = "http://file"
        "#;
        let env = [
            ("KNHK_LISTEN", "2.2.2.2:2"),
            ("KNHK_LOG_LEVEL", "debug"),
            ("KNHK_STATE_STORE_PATH", "from-env"),
        ];
        let flags = Overrides {
            listen: Some("3.3.3.3:3".to_owned()),
            state_store_path: Some(PathBuf::from("from-flag")),
            ..Overrides::default()
        };

        let r = ok(Some(text), &env, &flags);
        assert_eq!(r.config.listen.to_string(), "3.3.3.3:3");
        assert_eq!(source(&r, "listen"), "flag --listen");
        assert_eq!(r.config.log_level.as_str(), "debug");
        assert_eq!(source(&r, "log_level"), "env KNHK_LOG_LEVEL");
        assert_eq!(r.config.storage.state_dir, PathBuf::from("from-flag"));
        assert_eq!(source(&r, "state_store_path"), "flag --state-store-path");
        assert_eq!(r.config.url, "http://file");
        assert_eq!(source(&r, "url"), file_source());
        assert_eq!(source(&r, "limits.page_max"), "default");

        let r = ok(Some(text), &env, &Overrides::default());
        assert_eq!(r.config.listen.to_string(), "2.2.2.2:2");
        assert_eq!(source(&r, "listen"), "env KNHK_LISTEN");

        let r = ok(Some(text), &[], &Overrides::default());
        assert_eq!(r.config.listen.to_string(), "1.1.1.1:1");
        assert_eq!(source(&r, "listen"), file_source());

        let flags = Overrides {
            log_level: Some("error".to_owned()),
            url: Some("https://flag".to_owned()),
            ..Overrides::default()
        };
        let r = ok(Some(text), &env, &flags);
        assert_eq!(r.config.log_level.as_str(), "error");
        assert_eq!(source(&r, "log_level"), "flag --log-level");
        assert_eq!(r.config.url, "https://flag");
        assert_eq!(source(&r, "url"), "flag --url");
    }

    #[test]
    fn config_flag_beats_the_variable() {
        let asked = std::cell::RefCell::new(Vec::new());
        let read = |path: &Path| {
            asked.borrow_mut().push(path.to_path_buf());
            Ok(String::from("log_level = \"warn\""))
        };
        let var = |name: &str| (name == "KNHK_CONFIG").then(|| "from-env.toml".to_owned());
        let flags = Overrides {
            config: Some(PathBuf::from("from-flag.toml")),
            ..Overrides::default()
        };
        let r = resolve(&var, &read, &flags).unwrap();
        assert_eq!(*asked.borrow(), [PathBuf::from("from-flag.toml")]);
        assert_eq!(source(&r, "config"), "flag --config");
        assert_eq!(source(&r, "log_level"), "file from-flag.toml");

        let r = resolve(&var, &read, &Overrides::default()).unwrap();
        assert_eq!(asked.borrow().last(), Some(&PathBuf::from("from-env.toml")));
        assert_eq!(source(&r, "config"), "env KNHK_CONFIG");
    }

    #[test]
    fn unknown_keys_are_named_by_their_dotted_path() {
        let text = r#"
            lisen = "0.0.0.0:1"
            [limits]
            body_max = 10
            [fortune5.spiffe]
            socket = "/x"
            [extra]
            a = 1
        "#;
        let found = problems(Some(text), &[], &Overrides::default());
        assert_eq!(
            found,
            [
                "knhk.toml: unknown key `extra` (known here: listen, log_level, \
                 log_format, state_store_path, workflow_db_path, database_url, url, limits, http, \
                 metrics, reject_unsound, api_tokens_file, fortune5, otel_endpoint, \
                 otel_service_name, otel_protocol, otel_resource_attributes)",
                "knhk.toml: unknown key `fortune5.spiffe` (known here: enabled, \
                 spiffe_enabled, spiffe_socket, spiffe_trust_domain, kms_enabled, \
                 kms_provider, kms_region, kms_key_id, multi_region_enabled, regions, \
                 primary_region)",
                "knhk.toml: unknown key `limits.body_max` (known here: body_max_bytes, \
                 spec_elements_max, data_depth_max, page_max, registrations_max, \
                 verify_time_max_ms, specs_max, spec_versions_max, lease_max_ms)",
                "knhk.toml: unknown key `lisen` (known here: listen, log_level, \
                 log_format, state_store_path, workflow_db_path, database_url, url, limits, http, \
                 metrics, reject_unsound, api_tokens_file, fortune5, otel_endpoint, \
                 otel_service_name, otel_protocol, otel_resource_attributes)",
            ]
        );
    }

    #[test]
    fn metrics_settings_are_positive_integers() {
        let text = "[metrics]\nspec_ids_max = 0\ntask_ids_max = \"all\"";
        let found = problems(
            Some(text),
            &[("KNHK_METRICS_HOT_PATH_SAMPLE_EVERY", "-1")],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "knhk.toml: metrics.spec_ids_max: `0` is not a positive integer",
                "knhk.toml: metrics.task_ids_max: expected an integer, found string `\"all\"`",
                "KNHK_METRICS_HOT_PATH_SAMPLE_EVERY: `-1` is not a positive integer",
            ]
        );
    }

    #[test]
    fn http_settings_are_positive_integers() {
        let text = "[http]\nheader_read_timeout_ms = 0\nbody_timeout_ms = \"30s\"\n\
                    idle_timeout_ms = -5\nconnections_max = 1.5\nidle = 1";
        let found = problems(
            Some(text),
            &[
                ("KNHK_HTTP_HEADER_READ_TIMEOUT_MS", "10s"),
                ("KNHK_HTTP_BODY_TIMEOUT_MS", "0"),
                ("KNHK_HTTP_IDLE_TIMEOUT_MS", ""),
                ("KNHK_HTTP_CONNECTIONS_MAX", "-1"),
            ],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "knhk.toml: http.header_read_timeout_ms: `0` is not a positive integer",
                "KNHK_HTTP_HEADER_READ_TIMEOUT_MS: `10s` is not a positive integer",
                "knhk.toml: http.body_timeout_ms: expected an integer, found string `\"30s\"`",
                "KNHK_HTTP_BODY_TIMEOUT_MS: `0` is not a positive integer",
                "knhk.toml: http.idle_timeout_ms: `-5` is not a positive integer",
                "KNHK_HTTP_IDLE_TIMEOUT_MS is set but empty",
                "knhk.toml: http.connections_max: expected an integer, found float `1.5`",
                "KNHK_HTTP_CONNECTIONS_MAX: `-1` is not a positive integer",
                "knhk.toml: unknown key `http.idle` (known here: header_read_timeout_ms, \
                 body_timeout_ms, idle_timeout_ms, connections_max)",
            ]
        );
        // The environment beats the file, and `config show` names both the value and
        // where it came from.
        let r = ok(
            Some("[http]\nidle_timeout_ms = 5000\nconnections_max = 2"),
            &[("KNHK_HTTP_CONNECTIONS_MAX", "3")],
            &Overrides::default(),
        );
        assert_eq!(r.config.http.idle_timeout_ms, 5000);
        assert_eq!(r.config.http.connections_max, 3);
        let json = r.show_json();
        assert_eq!(
            json["http.idle_timeout_ms"],
            json!({"value": 5000, "source": "file knhk.toml"})
        );
        assert_eq!(
            json["http.connections_max"],
            json!({"value": 3, "source": "env KNHK_HTTP_CONNECTIONS_MAX"})
        );
        assert_eq!(
            json["http.header_read_timeout_ms"],
            json!({"value": 10000, "source": "default"})
        );
        assert_eq!(
            json["http.body_timeout_ms"],
            json!({"value": 30000, "source": "default"})
        );
    }

    #[test]
    fn wrong_types() {
        let text = r#"
            listen = 8080
            reject_unsound = "yes"
            limits = 5
            state_store_path = ["a"]
            [fortune5]
            regions = ["a", 1]
            enabled = 1
            spiffe_socket = { path = "/x" }
        "#;
        let found = problems(Some(text), &[], &Overrides::default());
        assert_eq!(
            found,
            [
                "knhk.toml: listen: expected a string, found integer `8080`",
                "knhk.toml: state_store_path: expected a string, found array `[\"a\"]`",
                "knhk.toml: reject_unsound: expected a boolean, found string `\"yes\"`",
                "knhk.toml: fortune5.enabled: expected a boolean, found integer `1`",
                "knhk.toml: fortune5.spiffe_socket: expected a string, found a table",
                "knhk.toml: fortune5.regions: expected an array of strings, found array \
                 `[\"a\", 1]`",
                "knhk.toml: limits: expected a table, found integer `5`",
            ]
        );
        let found = problems(
            Some("[limits]\npage_max = \"10\""),
            &[],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            ["knhk.toml: limits.page_max: expected an integer, found string `\"10\"`"]
        );
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let text = "listen = \"0.0.0.0:1\"\nlog_level = \n";
        let Err(found) = run(Some(text), &[], &Overrides::default()) else {
            panic!("expected a syntax error");
        };
        let [
            ConfigProblem::Syntax {
                path,
                line,
                column,
                message,
            },
        ] = found.as_slice()
        else {
            panic!("unexpected problems: {found:?}");
        };
        assert_eq!(path, Path::new(FILE));
        assert_eq!((*line, *column), (2, 13));
        assert!(!message.is_empty());
        assert!(
            found[0]
                .to_string()
                .starts_with("knhk.toml:2:13: TOML syntax error: ")
        );
    }

    #[test]
    fn a_syntax_error_does_not_hide_the_other_layers_problems() {
        let found = problems(
            Some("listen = "),
            &[("KNHK_LISTEN", "nowhere")],
            &Overrides::default(),
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("TOML syntax error"));
        assert!(found[1].starts_with("KNHK_LISTEN: "));
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let var = |name: &str| (name == "KNHK_CONFIG").then(|| "/etc/knhk/missing.toml".to_owned());
        let read = |_: &Path| Err(io::Error::new(io::ErrorKind::NotFound, "no such file"));
        let found = messages(&resolve(&var, &read, &Overrides::default()).unwrap_err());
        assert_eq!(
            found,
            ["cannot read config file /etc/knhk/missing.toml (env KNHK_CONFIG): no such file"]
        );

        // The real reader, on a directory.
        let found = validate_file(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].to_string().starts_with(&format!(
                "cannot read config file {} (flag --config): ",
                a_dir()
            )),
            "{}",
            found[0]
        );
    }

    #[test]
    fn bad_listen_addresses() {
        let found = problems(None, &[("KNHK_LISTEN", "localhost")], &Overrides::default());
        assert_eq!(
            found,
            ["KNHK_LISTEN: `localhost` is not an address:port (example: 0.0.0.0:8080)"]
        );
        let flags = Overrides {
            listen: Some("0.0.0.0".to_owned()),
            ..Overrides::default()
        };
        let found = problems(Some("listen = \":80\""), &[], &flags);
        assert_eq!(
            found,
            [
                "knhk.toml: listen: `:80` is not an address:port (example: 0.0.0.0:8080)",
                "--listen: `0.0.0.0` is not an address:port (example: 0.0.0.0:8080)",
            ]
        );
    }

    #[test]
    fn booleans_from_the_environment() {
        for (text, expected) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("yes", true),
            ("Yes", true),
            ("false", false),
            ("False", false),
            ("0", false),
            ("no", false),
            ("NO", false),
        ] {
            let r = ok(
                None,
                &[("KNHK_REJECT_UNSOUND", text)],
                &Overrides::default(),
            );
            assert_eq!(r.config.reject_unsound, expected, "{text}");
        }
        let found = problems(
            None,
            &[("KNHK_REJECT_UNSOUND", "maybe")],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            ["KNHK_REJECT_UNSOUND: `maybe` is not a boolean (true, false, 1, 0, yes, no)"]
        );
    }

    #[test]
    fn limits_must_be_positive_integers() {
        let found = problems(
            Some("[limits]\nbody_max_bytes = 0\ndata_depth_max = -5"),
            &[("KNHK_PAGE_MAX", "0"), ("KNHK_SPEC_ELEMENTS_MAX", "many")],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "knhk.toml: limits.body_max_bytes: `0` is not a positive integer",
                "KNHK_SPEC_ELEMENTS_MAX: `many` is not a positive integer",
                "knhk.toml: limits.data_depth_max: `-5` is not a positive integer",
                "KNHK_PAGE_MAX: `0` is not a positive integer",
            ]
        );
    }

    #[test]
    fn url_schemes() {
        let found = problems(
            None,
            &[
                ("KNHK_URL", "localhost:8080"),
                ("KNHK_DATABASE_URL", "mysql://root:hunter2@db/knhk"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"),
            ],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "KNHK_DATABASE_URL: `mysql://root:***@db/knhk` is not a PostgreSQL URL \
                 (postgres://… or postgresql://…)",
                "KNHK_URL: `localhost:8080` is not an http:// or https:// URL",
                "OTEL_EXPORTER_OTLP_ENDPOINT: `http://` is not an http:// or https:// URL",
            ]
        );
        let r = ok(
            None,
            &[
                ("KNHK_URL", "HTTPS://Example.com:8443/knhk/"),
                ("KNHK_DATABASE_URL", "postgres:///knhk?host=/run/postgresql"),
            ],
            &Overrides::default(),
        );
        assert_eq!(r.config.url, "HTTPS://Example.com:8443/knhk");
        assert_eq!(
            r.config.database_url.as_deref(),
            Some("postgres:///knhk?host=/run/postgresql")
        );
    }

    #[test]
    fn log_levels() {
        for level in [
            "TRACE",
            "debug",
            "Info",
            "warn",
            "error",
            "off",
            "info,knhk_runtime=debug",
        ] {
            let r = ok(None, &[("KNHK_LOG_LEVEL", level)], &Overrides::default());
            assert_eq!(r.config.log_level.as_str(), level);
            assert!(r.config.log_level.env_filter().is_ok());
        }
        let flags = Overrides {
            log_level: Some("loud".to_owned()),
            ..Overrides::default()
        };
        let found = problems(
            Some("log_level = \"verbose\""),
            &[("KNHK_LOG_LEVEL", "info,knhk_runtime=chatty")],
            &flags,
        );
        let expected = "is not a log level (trace, debug, info, warn, error, off) or \
                        RUST_LOG-style directives (info,knhk_runtime=debug)";
        assert_eq!(
            found,
            [
                format!("knhk.toml: log_level: `verbose` {expected}"),
                format!("KNHK_LOG_LEVEL: `info,knhk_runtime=chatty` {expected}"),
                format!("--log-level: `loud` {expected}"),
            ]
        );
    }

    #[test]
    fn log_formats_protocols_and_resource_attributes() {
        let c = ok(None, &[], &Overrides::default()).config;
        assert_eq!(c.log_format, LogFormat::Auto);
        assert_eq!(c.otel_protocol, OtlpProtocol::Grpc);
        let env = [
            ("KNHK_LOG_FORMAT", "TEXT"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod, team=ops",
            ),
        ];
        let c = ok(None, &env, &Overrides::default()).config;
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.otel_protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(
            c.otel_resource_attributes,
            [
                ("deployment.environment".to_owned(), "prod".to_owned()),
                ("team".to_owned(), "ops".to_owned())
            ]
        );
        let env = [
            ("KNHK_LOG_FORMAT", "yaml"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_RESOURCE_ATTRIBUTES", "a=1,=2"),
        ];
        let found = problems(None, &env, &Overrides::default());
        assert_eq!(
            found,
            [
                "KNHK_LOG_FORMAT: `yaml` is not a log format (json, text, auto)",
                "OTEL_EXPORTER_OTLP_PROTOCOL: `http/json` is not an OTLP protocol (grpc, \
                 http/protobuf)",
                "OTEL_RESOURCE_ATTRIBUTES: `a=1,=2` is not comma-separated key=value pairs \
                 (deployment.environment=prod,team=ops)",
            ]
        );
    }

    #[test]
    fn empty_values() {
        let found = problems(
            Some("state_store_path = \"\""),
            &[
                ("KNHK_LISTEN", ""),
                ("KNHK_REGIONS", ""),
                ("KNHK_PAGE_MAX", ""),
            ],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "KNHK_LISTEN is set but empty",
                "knhk.toml: state_store_path is set but empty",
                "KNHK_PAGE_MAX is set but empty",
                "KNHK_REGIONS is set but empty",
            ]
        );
        let found = problems(None, &[("KNHK_CONFIG", "")], &Overrides::default());
        assert_eq!(found, ["KNHK_CONFIG is set but empty"]);

        // The OpenTelemetry variables follow their specification: empty is unset.
        let r = ok(
            None,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
                ("OTEL_SERVICE_NAME", ""),
            ],
            &Overrides::default(),
        );
        assert_eq!(r.config.otel_endpoint, None);
        assert_eq!(r.config.otel_service_name, None);
        assert_eq!(source(&r, "otel_endpoint"), "default");
    }

    #[test]
    fn a_state_store_path_that_is_a_file() {
        let file = a_file();
        let found = problems(
            None,
            &[("KNHK_STATE_STORE_PATH", &file)],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [format!(
                "KNHK_STATE_STORE_PATH: `{file}` exists but is not a directory"
            )]
        );
        // A directory is fine, and so is a path that does not exist yet.
        ok(
            None,
            &[("KNHK_STATE_STORE_PATH", &a_dir())],
            &Overrides::default(),
        );
        ok(
            None,
            &[("KNHK_STATE_STORE_PATH", "/nonexistent/knhk/data")],
            &Overrides::default(),
        );
        // The database's own path must not be a directory.
        let found = problems(
            None,
            &[
                ("KNHK_STATE_STORE_PATH", &a_dir()),
                ("KNHK_WORKFLOW_DB_PATH", "src"),
            ],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [format!(
                "KNHK_WORKFLOW_DB_PATH: `{}/src` is a directory, not a database file",
                a_dir()
            )]
        );
    }

    #[test]
    fn the_workflow_db_path_is_inside_the_data_directory_unless_absolute() {
        let r = ok(
            None,
            &[
                ("KNHK_STATE_STORE_PATH", "/data"),
                ("KNHK_WORKFLOW_DB_PATH", "db/engine.redb"),
            ],
            &Overrides::default(),
        );
        assert_eq!(r.config.storage.state_dir, PathBuf::from("/data"));
        assert_eq!(
            r.config.storage.workflow_db,
            PathBuf::from("/data/db/engine.redb")
        );
        assert!(r.show_text().contains("/data/db/engine.redb"));

        let r = ok(
            None,
            &[("KNHK_WORKFLOW_DB_PATH", "/elsewhere/engine.redb")],
            &Overrides::default(),
        );
        assert_eq!(r.config.storage.state_dir, PathBuf::from("knhk-data"));
        assert_eq!(
            r.config.storage.workflow_db,
            PathBuf::from("/elsewhere/engine.redb")
        );
        // The same as the runtime's own reading of the variables.
        let vars = |name: &str| {
            (name == "KNHK_WORKFLOW_DB_PATH").then(|| "/elsewhere/engine.redb".to_owned())
        };
        assert_eq!(r.config.storage, StoragePaths::from_vars(vars).unwrap());
    }

    #[test]
    fn spiffe_needs_its_socket_and_trust_domain() {
        let found = problems(
            None,
            &fortune5_env(&[("KNHK_SPIFFE_ENABLED", "true")]),
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "fortune5.spiffe_socket (KNHK_SPIFFE_SOCKET) must be set because \
                 fortune5.spiffe_enabled is true (env KNHK_SPIFFE_ENABLED)",
                "fortune5.spiffe_trust_domain (KNHK_SPIFFE_TRUST_DOMAIN) must be set \
                 because fortune5.spiffe_enabled is true (env KNHK_SPIFFE_ENABLED)",
            ]
        );
        ok(
            None,
            &fortune5_env(&[
                ("KNHK_SPIFFE_ENABLED", "true"),
                ("KNHK_SPIFFE_SOCKET", "/run/spire/agent.sock"),
                ("KNHK_SPIFFE_TRUST_DOMAIN", "example.org"),
            ]),
            &Overrides::default(),
        );
    }

    #[test]
    fn kms_needs_a_key_and_for_aws_a_region() {
        let found = problems(
            None,
            &fortune5_env(&[("KNHK_KMS_ENABLED", "true")]),
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "fortune5.kms_key_id (KNHK_KMS_KEY_ID) must be set because \
                 fortune5.kms_enabled is true (env KNHK_KMS_ENABLED)",
                "fortune5.kms_region (KNHK_KMS_REGION) must be set because \
                 fortune5.kms_enabled is true (env KNHK_KMS_ENABLED) and \
                 fortune5.kms_provider is aws (default)",
            ]
        );
        // The local provider needs no region.
        let r = ok(
            None,
            &fortune5_env(&[
                ("KNHK_KMS_ENABLED", "true"),
                ("KNHK_KMS_PROVIDER", "local"),
                ("KNHK_KMS_KEY_ID", "dev"),
            ]),
            &Overrides::default(),
        );
        assert_eq!(r.config.fortune5.kms_provider, KmsProvider::Local);
        // An unknown provider is one problem, not also a missing region.
        let found = problems(
            None,
            &fortune5_env(&[
                ("KNHK_KMS_ENABLED", "true"),
                ("KNHK_KMS_PROVIDER", "gcp"),
                ("KNHK_KMS_KEY_ID", "k"),
            ]),
            &Overrides::default(),
        );
        assert_eq!(
            found,
            ["KNHK_KMS_PROVIDER: `gcp` is not a KMS provider (aws, local)"]
        );
    }

    #[test]
    fn multi_region_needs_regions_including_the_primary() {
        let found = problems(
            None,
            &fortune5_env(&[("KNHK_MULTI_REGION_ENABLED", "true")]),
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "fortune5.regions (KNHK_REGIONS) must name at least one region because \
              fortune5.multi_region_enabled is true (env KNHK_MULTI_REGION_ENABLED)"
            ]
        );
        let found = problems(
            Some("[fortune5]\nregions = [\"us-east-1\", \"us-west-2\"]"),
            &fortune5_env(&[
                ("KNHK_MULTI_REGION_ENABLED", "true"),
                ("KNHK_PRIMARY_REGION", "eu-west-1"),
            ]),
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "fortune5.primary_region `eu-west-1` (env KNHK_PRIMARY_REGION) is not one of \
              fortune5.regions (us-east-1, us-west-2)"
            ]
        );
        // Without multi-region, the regions are only stored.
        ok(
            None,
            &[
                ("KNHK_PRIMARY_REGION", "eu-west-1"),
                ("KNHK_REGIONS", "us-east-1"),
            ],
            &Overrides::default(),
        );
    }

    #[test]
    fn fortune5_features_need_the_master_switch() {
        let text = "[fortune5]\nkms_enabled = true\nkms_provider = \"local\"\nkms_key_id = \"k\"";
        let found = problems(
            Some(text),
            &[
                ("KNHK_SPIFFE_ENABLED", "true"),
                ("KNHK_SPIFFE_SOCKET", "/s"),
                ("KNHK_SPIFFE_TRUST_DOMAIN", "d"),
                ("KNHK_MULTI_REGION_ENABLED", "true"),
                ("KNHK_REGIONS", "a"),
            ],
            &Overrides::default(),
        );
        let off = |key: &str, origin: &str| {
            format!(
                "{key} is true ({origin}) but fortune5.enabled is false (default): set \
                 fortune5.enabled = true or KNHK_FORTUNE5_ENABLED=true"
            )
        };
        assert_eq!(
            found,
            [
                off("fortune5.spiffe_enabled", "env KNHK_SPIFFE_ENABLED"),
                off("fortune5.kms_enabled", "file knhk.toml"),
                off(
                    "fortune5.multi_region_enabled",
                    "env KNHK_MULTI_REGION_ENABLED"
                ),
            ]
        );
    }

    #[test]
    fn a_bad_companion_value_is_not_also_reported_missing() {
        let found = problems(
            Some("[fortune5]\nspiffe_socket = 7\nregions = \"a,b\""),
            &fortune5_env(&[
                ("KNHK_SPIFFE_ENABLED", "true"),
                ("KNHK_SPIFFE_TRUST_DOMAIN", "d"),
                ("KNHK_MULTI_REGION_ENABLED", "true"),
                ("KNHK_PRIMARY_REGION", "c"),
            ]),
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "knhk.toml: fortune5.spiffe_socket: expected a string, found integer `7`",
                "knhk.toml: fortune5.regions: expected an array of strings, found string \
                 `\"a,b\"`",
            ]
        );
        // A bad master switch: the features it gates are not reported as well.
        let found = problems(
            None,
            &[
                ("KNHK_FORTUNE5_ENABLED", "on"),
                ("KNHK_KMS_ENABLED", "true"),
                ("KNHK_KMS_PROVIDER", "local"),
                ("KNHK_KMS_KEY_ID", "k"),
            ],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            ["KNHK_FORTUNE5_ENABLED: `on` is not a boolean (true, false, 1, 0, yes, no)"]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = r#"
            listen = 8080
            log_level = "chatty"
            colour = "blue"
            [limits]
            page_max = 0
            [fortune5]
            spiffe_enabled = true
        "#;
        let flags = Overrides {
            url: Some("ftp://server".to_owned()),
            ..Overrides::default()
        };
        let found = run(
            Some(text),
            &[
                ("KNHK_REJECT_UNSOUND", "perhaps"),
                ("KNHK_BODY_MAX_BYTES", "-1"),
            ],
            &flags,
        )
        .unwrap_err();
        let kinds: Vec<&str> = found
            .iter()
            .map(|p| match p {
                ConfigProblem::WrongType { .. } => "type",
                ConfigProblem::Invalid { .. } => "invalid",
                ConfigProblem::UnknownKey { .. } => "unknown",
                ConfigProblem::Requires { .. } => "requires",
                ConfigProblem::Fortune5Off { .. } => "off",
                other => panic!("unexpected {other}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "type",     // listen = 8080
                "invalid",  // log_level
                "invalid",  // --url
                "invalid",  // KNHK_BODY_MAX_BYTES
                "invalid",  // limits.page_max
                "invalid",  // KNHK_REJECT_UNSOUND
                "unknown",  // colour
                "off",      // spiffe without fortune5.enabled
                "requires", // spiffe_socket
                "requires", // spiffe_trust_domain
            ],
            "{:#?}",
            messages(&found)
        );
    }

    #[test]
    fn a_bad_value_is_reported_even_when_a_higher_layer_overrides_it() {
        let flags = Overrides {
            listen: Some("127.0.0.1:1".to_owned()),
            ..Overrides::default()
        };
        let found = problems(None, &[("KNHK_LISTEN", "nope")], &flags);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("KNHK_LISTEN: `nope`"));
    }

    #[test]
    fn regions() {
        let r = ok(
            None,
            &[("KNHK_REGIONS", " us-east-1 , eu-west-1,ap-south-1 ")],
            &Overrides::default(),
        );
        assert_eq!(
            r.config.fortune5.regions,
            ["us-east-1", "eu-west-1", "ap-south-1"]
        );
        assert_eq!(source(&r, "fortune5.regions"), "env KNHK_REGIONS");
        let r = ok(
            Some("[fortune5]\nregions = [\"one\"]"),
            &[],
            &Overrides::default(),
        );
        assert_eq!(r.config.fortune5.regions, ["one"]);
        let r = ok(Some("[fortune5]\nregions = []"), &[], &Overrides::default());
        assert!(r.config.fortune5.regions.is_empty());
        assert!(r.show_text().contains("(none)"));

        let found = problems(
            Some("[fortune5]\nregions = [\"a\", \" \"]"),
            &[("KNHK_REGIONS", "a,,b")],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "knhk.toml: fortune5.regions: `[\"a\", \" \"]` is not a comma-separated \
                 list of region names",
                "KNHK_REGIONS: `a,,b` is not a comma-separated list of region names",
            ]
        );
    }

    #[test]
    fn a_data_depth_beyond_what_the_store_reads_back_is_refused() {
        let r = ok(
            None,
            &[("KNHK_DATA_DEPTH_MAX", "100")],
            &Overrides::default(),
        );
        assert_eq!(r.config.limits.data_depth_max, 100);
        let found = problems(
            None,
            &[("KNHK_DATA_DEPTH_MAX", "101")],
            &Overrides::default(),
        );
        assert_eq!(
            found,
            [
                "KNHK_DATA_DEPTH_MAX: `101` is not a positive integer up to 100 (what the store \
              reads back)"
            ]
        );
    }

    #[test]
    fn a_tokens_file_is_read_and_every_bad_entry_named() {
        let tokens = "[[token]]\nidentity = \"alice\"\nrole = \"worker\"\nsha256 = \"00\"\n\
                      [[token]]\nidentity = \"bob\"\nrole = \"king\"\nsha256 = \"00\"\n";
        let read = |path: &Path| {
            if path == Path::new("/etc/knhk/tokens.toml") {
                Ok(tokens.to_owned())
            } else {
                Err(io::Error::new(io::ErrorKind::NotFound, "no such file"))
            }
        };
        let var = |name: &str| {
            (name == "KNHK_API_TOKENS_FILE").then(|| "/etc/knhk/tokens.toml".to_owned())
        };
        let found = messages(&resolve(&var, &read, &Overrides::default()).unwrap_err());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .starts_with("api_tokens_file (env KNHK_API_TOKENS_FILE): /etc/knhk/tokens.toml: ")
                && found[0].contains("king"),
            "{found:?}"
        );
        let missing = |name: &str| {
            (name == "KNHK_API_TOKENS_FILE").then(|| "/nowhere/tokens.toml".to_owned())
        };
        let found = messages(&resolve(&missing, &read, &Overrides::default()).unwrap_err());
        assert_eq!(
            found,
            [
                "api_tokens_file (env KNHK_API_TOKENS_FILE): /nowhere/tokens.toml: cannot be \
              read: no such file"
            ]
        );
        let good = format!(
            "[[token]]\nidentity = \"alice\"\nrole = \"worker\"\nsha256 = \"{}\"\n",
            "ab".repeat(32)
        );
        let read_good = |_: &Path| Ok(good.clone());
        let r = resolve(&var, &read_good, &Overrides::default()).unwrap();
        assert_eq!(
            r.config.api_tokens_file.as_deref(),
            Some(Path::new("/etc/knhk/tokens.toml"))
        );
    }

    #[test]
    fn passwords_are_masked() {
        for (url, masked) in [
            (
                "postgres://knhk:s3cret@db:5432/knhk",
                "postgres://knhk:***@db:5432/knhk",
            ),
            ("postgresql://knhk@db/knhk", "postgresql://knhk@db/knhk"),
            ("postgres://db/knhk", "postgres://db/knhk"),
            ("postgres://u:p@ss/w@rd@db/knhk", "postgres://u:***@db/knhk"),
            (
                "postgres://db/knhk?user=u&password=s3cret&sslmode=require",
                "postgres://db/knhk?user=u&password=***&sslmode=require",
            ),
            ("postgres://u:@db/k", "postgres://u:***@db/k"),
            ("not a url", "not a url"),
            (
                "host=db user=admin password=s3cret dbname=k",
                "host=db user=admin password=*** dbname=k",
            ),
            (
                "host=db PASSWORD = 'se cr\\'et' port=5",
                "host=db PASSWORD = *** port=5",
            ),
            ("password=", "password=***"),
            ("passwords are fine", "passwords are fine"),
        ] {
            assert_eq!(mask_password(url), masked, "{url}");
        }
        let r = ok(
            None,
            &[("KNHK_DATABASE_URL", "postgres://knhk:s3cret@db/knhk")],
            &Overrides::default(),
        );
        assert_eq!(
            r.config.database_url.as_deref(),
            Some("postgres://knhk:s3cret@db/knhk"),
            "the configuration itself keeps the password"
        );
        let text = r.show_text();
        let json = r.show_json().to_string();
        assert!(text.contains("postgres://knhk:***@db/knhk"), "{text}");
        assert!(!text.contains("s3cret") && !json.contains("s3cret"));
        assert_eq!(
            r.show_json()["database_url"]["value"],
            "postgres://knhk:***@db/knhk"
        );
    }

    #[test]
    fn show_text_is_an_aligned_table() {
        let r = ok(
            Some("listen = \"127.0.0.1:9\""),
            &[("KNHK_LOG_LEVEL", "debug")],
            &Overrides {
                url: Some("http://h:1".to_owned()),
                ..Overrides::default()
            },
        );
        let text = r.show_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 41);
        let line = |key: &str| {
            *lines
                .iter()
                .find(|l| l.split_whitespace().next() == Some(key))
                .unwrap()
        };
        let value_column = line("listen").find("127.0.0.1:9").unwrap();
        let source_column = line("listen").find("file knhk.toml").unwrap();
        for l in &lines {
            let key = l.split_whitespace().next().unwrap();
            assert!(l.len() > source_column, "{l}");
            assert_eq!(&l[value_column - 2..value_column], "  ", "{l}");
            assert_ne!(&l[value_column..=value_column], " ", "{key}: no value");
            assert_eq!(&l[source_column - 2..source_column], "  ", "{l}");
            assert!(!l.ends_with(' '), "trailing blank: {l:?}");
        }
        assert!(
            line("config").contains("knhk.toml") && line("config").ends_with("env KNHK_CONFIG")
        );
        assert!(line("log_level").ends_with("env KNHK_LOG_LEVEL"));
        assert!(line("url").ends_with("flag --url"));
        assert!(line("limits.body_max_bytes").contains("16777216"));
        assert!(line("database_url").contains("(unset)"));
        assert!(line("fortune5.enabled").contains("false"));
    }

    #[test]
    fn show_json_has_value_and_source_per_key() {
        let r = ok(
            None,
            &[
                ("KNHK_REGIONS", "a,b"),
                ("KNHK_PAGE_MAX", "7"),
                ("OTEL_SERVICE_NAME", "svc"),
            ],
            &Overrides::default(),
        );
        let json = r.show_json();
        let object = json.as_object().unwrap();
        assert_eq!(object.len(), 41);
        for (key, entry) in object {
            let entry = entry.as_object().unwrap();
            assert_eq!(entry.len(), 2, "{key}");
            assert!(entry["source"].is_string(), "{key}");
        }
        assert_eq!(json["config"], json!({"value": null, "source": "default"}));
        assert_eq!(
            json["listen"],
            json!({"value": "0.0.0.0:8080", "source": "default"})
        );
        assert_eq!(
            json["limits.page_max"],
            json!({"value": 7, "source": "env KNHK_PAGE_MAX"})
        );
        assert_eq!(
            json["fortune5.regions"],
            json!({"value": ["a", "b"], "source": "env KNHK_REGIONS"})
        );
        assert_eq!(json["reject_unsound"]["value"], false);
        assert_eq!(json["otel_service_name"]["value"], "svc");
        assert_eq!(json["workflow_db_path"]["value"], "knhk-data/workflow_db");
    }

    #[test]
    fn validate_file_ignores_the_environment_and_reports_everything() {
        let read = |_: &Path| Ok("listen = 1\nlog_level = \"x\"\n[limits]\nnope = 1".to_owned());
        let found = messages(&validate_file_with(Path::new("c.toml"), &read));
        assert_eq!(
            found,
            [
                "c.toml: listen: expected a string, found integer `1`",
                "c.toml: log_level: `x` is not a log level (trace, debug, info, warn, error, off) \
                 or RUST_LOG-style directives (info,knhk_runtime=debug)",
                "c.toml: unknown key `limits.nope` (known here: body_max_bytes, \
                 spec_elements_max, data_depth_max, page_max, registrations_max, \
                 verify_time_max_ms, specs_max, spec_versions_max, lease_max_ms)",
            ]
        );
        let read = |_: &Path| Ok("listen = \"127.0.0.1:1\"".to_owned());
        assert!(validate_file_with(Path::new("c.toml"), &read).is_empty());
    }

    #[test]
    fn load_reads_the_file_named_by_the_flag() {
        // The process environment is whatever the test runner has, so only the file's
        // problem is asserted.
        let path = PathBuf::from("/nonexistent/knhk-test/knhk.toml");
        let found = load(&Overrides {
            config: Some(path.clone()),
            ..Overrides::default()
        })
        .unwrap_err();
        assert!(
            found.iter().any(|p| matches!(
                p,
                ConfigProblem::Unreadable { path: p, origin: Source::Flag("--config"), .. }
                    if *p == path
            )),
            "{found:?}"
        );
        assert_eq!(process_var("KNHK_TEST_A_VARIABLE_NOBODY_SETS"), None);
    }

    #[test]
    fn problems_name_what_they_are_about() {
        // The key, variable or flag comes first in every message about one value.
        let problem = ConfigProblem::Invalid {
            key: Key::PAGE_MAX,
            origin: Source::File(PathBuf::from("/etc/knhk.toml")),
            value: "0".to_owned(),
            expected: COUNT,
        };
        assert_eq!(
            problem.to_string(),
            "/etc/knhk.toml: limits.page_max: `0` is not a positive integer"
        );
        let problem = ConfigProblem::BadPath {
            key: Key::STATE_STORE_PATH,
            origin: Source::Default,
            path: PathBuf::from("knhk-data"),
            problem: "exists but is not a directory",
        };
        assert_eq!(
            problem.to_string(),
            "state_store_path (default): `knhk-data` exists but is not a directory"
        );
    }

    #[test]
    fn line_columns_count_characters() {
        assert_eq!(line_column("abc", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é = \nx", 4), (1, 4));
        assert_eq!(line_column("short", 99), (1, 6));
    }

    #[test]
    #[cfg(unix)]
    fn a_flag_path_that_is_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(b"data\xff"));
        let flags = Overrides {
            state_store_path: Some(path),
            ..Overrides::default()
        };
        let found = problems(None, &[], &flags);
        assert_eq!(
            found,
            ["--state-store-path: `data\u{fffd}` is not valid UTF-8"]
        );
    }
}
