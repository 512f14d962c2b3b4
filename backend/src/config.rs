//! Settings: built-in defaults, then an optional TOML file, then `SCF_*`
//! environment variables (the last word wins). Everything is checked here,
//! so a bad value stops the process at start with one line naming the key,
//! instead of failing later inside a request.

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./scf-data";
pub const DEFAULT_LOG: &str = "info";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Room for a 10,000-row bulk upload (about 2 MB) several times over.
pub const DEFAULT_MAX_BULK_BYTES: usize = 16 * 1024 * 1024;
pub const DEFAULT_CLOCK_SKEW_SECS: u64 = 300;
pub const DEFAULT_IDEMPOTENCY_TTL_HOURS: u64 = 24;
pub const DEFAULT_ORIGIN: &str = "scf.local/ledger";
/// Well above what one client or integration needs, well below what the
/// server can serve, so one token or address cannot take it all.
pub const DEFAULT_RATE_LIMIT_PER_SEC: u32 = 500;
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A database URL. Postgres URLs may carry a password, so `Debug` and
/// `Display` hide the user-info part; `expose` gives the real string.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite://")
    }

    fn redacted(&self) -> String {
        match self.0.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}"),
                None => self.0.clone(),
            },
            None => "***".to_owned(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    /// A `tracing_subscriber::EnvFilter` directive, e.g. `info,scf_backend=debug`.
    pub log: String,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    /// The body limit of the bulk-upload routes (`trade::BULK_PATHS`) only.
    pub max_bulk_bytes: usize,
    /// How far an intent's `client_time` may be from the server clock.
    pub clock_skew_secs: u64,
    /// How long a stored idempotent answer is kept for retries.
    pub idempotency_ttl_hours: u64,
    /// Requests per second each API token (or, without one, each client
    /// address) may sustain; `None` turns rate limiting off.
    pub rate_limit: Option<RateLimit>,
    /// How long a client may take to send a request body.
    pub body_timeout_secs: u64,
    /// Enables test-only behaviour; never set in production.
    pub test_mode: bool,
    /// The ledger's name (ledger SPEC.md §2.5), fixed when the ledger is created.
    pub origin: String,
}

/// A token bucket: `per_sec` requests a second on average, up to `burst`
/// at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_sec: std::num::NonZeroU32,
    pub burst: std::num::NonZeroU32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    File { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

/// What a TOML file may set; every key is optional and unknown keys are
/// refused so a typo does not silently fall back to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    log: Option<String>,
    log_format: Option<String>,
    max_body_bytes: Option<u64>,
    max_bulk_bytes: Option<u64>,
    clock_skew_secs: Option<u64>,
    idempotency_ttl_hours: Option<u64>,
    rate_limit_per_sec: Option<u64>,
    rate_limit_burst: Option<u64>,
    body_timeout_secs: Option<u64>,
    test_mode: Option<bool>,
    origin: Option<String>,
}

impl Settings {
    /// Loads from `file` (if any) and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with(file, |k| std::env::var(k).ok())
    }

    /// Loads from `file` (if any) and `env`, a lookup of `SCF_*` variables;
    /// tests pass a map instead of mutating the process environment.
    pub fn load_with(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let f = match file {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let pick = |key: &str, from_file: Option<String>| env(key).or(from_file);

        let listen_raw = pick("SCF_LISTEN", f.listen).unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen = listen_raw.parse().map_err(|_| ConfigError::Invalid {
            key: "SCF_LISTEN",
            message: format!("expected IP:PORT such as {DEFAULT_LISTEN}, got {listen_raw:?}"),
        })?;

        let data_dir = env("SCF_DATA_DIR")
            .map(PathBuf::from)
            .or(f.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("SCF_DATA_DIR", "must not be empty"));
        }

        // The default follows data_dir, so moving the data moves the database.
        let database_url = DatabaseUrl(
            pick("SCF_DATABASE_URL", f.database_url)
                .unwrap_or_else(|| format!("sqlite://{}/scf.db", data_dir.display())),
        );
        let known = ["sqlite://", "postgres://", "postgresql://"];
        if !known.iter().any(|p| database_url.0.starts_with(p)) {
            // The value is not echoed: it may hold a password.
            return Err(invalid(
                "SCF_DATABASE_URL",
                "must start with sqlite://, postgres:// or postgresql://",
            ));
        }

        let log = pick("SCF_LOG", f.log).unwrap_or_else(|| DEFAULT_LOG.into());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log) {
            return Err(invalid("SCF_LOG", format!("invalid filter {log:?}: {e}")));
        }

        let log_format = match pick("SCF_LOG_FORMAT", f.log_format).as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "SCF_LOG_FORMAT",
                    format!("expected pretty or json, got {other:?}"),
                ));
            }
        };

        let max_body = match env("SCF_MAX_BODY_BYTES") {
            Some(v) => parse_u64("SCF_MAX_BODY_BYTES", &v)?,
            None => f.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES as u64),
        };
        if max_body == 0 {
            return Err(invalid("SCF_MAX_BODY_BYTES", "must be at least 1"));
        }
        let max_body_bytes = usize::try_from(max_body)
            .map_err(|_| invalid("SCF_MAX_BODY_BYTES", "is too large for this machine"))?;

        let max_bulk = match env("SCF_MAX_BULK_BYTES") {
            Some(v) => parse_u64("SCF_MAX_BULK_BYTES", &v)?,
            None => f.max_bulk_bytes.unwrap_or(DEFAULT_MAX_BULK_BYTES as u64),
        };
        if max_bulk == 0 {
            return Err(invalid("SCF_MAX_BULK_BYTES", "must be at least 1"));
        }
        let max_bulk_bytes = usize::try_from(max_bulk)
            .map_err(|_| invalid("SCF_MAX_BULK_BYTES", "is too large for this machine"))?;

        let clock_skew_secs = match env("SCF_CLOCK_SKEW_SECS") {
            Some(v) => parse_u64("SCF_CLOCK_SKEW_SECS", &v)?,
            None => f.clock_skew_secs.unwrap_or(DEFAULT_CLOCK_SKEW_SECS),
        };
        // chrono durations top out near i64::MAX milliseconds; a day is plenty.
        if clock_skew_secs > 86_400 {
            return Err(invalid("SCF_CLOCK_SKEW_SECS", "must be at most 86400"));
        }
        let idempotency_ttl_hours = match env("SCF_IDEMPOTENCY_TTL_HOURS") {
            Some(v) => parse_u64("SCF_IDEMPOTENCY_TTL_HOURS", &v)?,
            None => f
                .idempotency_ttl_hours
                .unwrap_or(DEFAULT_IDEMPOTENCY_TTL_HOURS),
        };
        // Shorter than the clock-skew window would let a retry miss its
        // answer while its intent is still fresh enough to be resent.
        if !(1..=24 * 365).contains(&idempotency_ttl_hours) {
            return Err(invalid(
                "SCF_IDEMPOTENCY_TTL_HOURS",
                "must be 1 to 8760 hours",
            ));
        }

        let rate_limit = rate_limit(
            env("SCF_RATE_LIMIT_PER_SEC"),
            f.rate_limit_per_sec,
            env("SCF_RATE_LIMIT_BURST"),
            f.rate_limit_burst,
        )?;

        let body_timeout_secs = match env("SCF_BODY_TIMEOUT_SECS") {
            Some(v) => parse_u64("SCF_BODY_TIMEOUT_SECS", &v)?,
            None => f.body_timeout_secs.unwrap_or(DEFAULT_BODY_TIMEOUT_SECS),
        };
        if !(1..=3600).contains(&body_timeout_secs) {
            return Err(invalid(
                "SCF_BODY_TIMEOUT_SECS",
                "must be 1 to 3600 seconds",
            ));
        }

        let test_mode = match env("SCF_TEST_MODE") {
            Some(v) => parse_bool("SCF_TEST_MODE", &v)?,
            None => f.test_mode.unwrap_or(false),
        };

        let origin = pick("SCF_ORIGIN", f.origin).unwrap_or_else(|| DEFAULT_ORIGIN.into());
        if !scf_ledger::is_valid_origin(&origin) {
            return Err(invalid(
                "SCF_ORIGIN",
                "must be 1-128 printable ASCII characters without spaces",
            ));
        }

        Ok(Settings {
            origin,
            listen,
            data_dir,
            database_url,
            log,
            log_format,
            max_body_bytes,
            max_bulk_bytes,
            clock_skew_secs,
            idempotency_ttl_hours,
            rate_limit,
            body_timeout_secs,
            test_mode,
        })
    }

    /// Creates the data directory if needed and proves it is writable, so
    /// `serve` fails at start rather than on the first write.
    pub fn ensure_data_dir(&self) -> Result<(), ConfigError> {
        let dir = &self.data_dir;
        let fail = |what: &str, e: std::io::Error| ConfigError::Invalid {
            key: "SCF_DATA_DIR",
            message: format!("{}: {what}: {e}", dir.display()),
        };
        std::fs::create_dir_all(dir).map_err(|e| fail("cannot create", e))?;
        let probe = dir.join(format!(".scf-write-test-{}", std::process::id()));
        std::fs::write(&probe, b"ok").map_err(|e| fail("not writable", e))?;
        std::fs::remove_file(&probe).map_err(|e| fail("not writable", e))?;
        Ok(())
    }
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let file_err = |message: String| ConfigError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    // toml's messages span several lines with a source excerpt; keep the
    // first line, which names the problem, so the error stays one line. The
    // excerpt could also show a secret value.
    toml::from_str(&text).map_err(|e| {
        let msg = e.to_string();
        let first = msg.lines().next().unwrap_or("invalid TOML").trim();
        let at = e
            .span()
            .map(|s| {
                let line = text.get(..s.start).map_or(0, |p| p.matches('\n').count()) + 1;
                format!(" (line {line})")
            })
            .unwrap_or_default();
        file_err(format!("{first}{at}"))
    })
}

/// `SCF_RATE_LIMIT_PER_SEC` (0 turns limiting off) and
/// `SCF_RATE_LIMIT_BURST` (twice the rate unless set).
fn rate_limit(
    per_sec_env: Option<String>,
    per_sec_file: Option<u64>,
    burst_env: Option<String>,
    burst_file: Option<u64>,
) -> Result<Option<RateLimit>, ConfigError> {
    let per_sec = match per_sec_env {
        Some(v) => parse_u64("SCF_RATE_LIMIT_PER_SEC", &v)?,
        None => per_sec_file.unwrap_or(u64::from(DEFAULT_RATE_LIMIT_PER_SEC)),
    };
    let burst = match burst_env {
        Some(v) => Some(parse_u64("SCF_RATE_LIMIT_BURST", &v)?),
        None => burst_file,
    };
    let per_sec = u32::try_from(per_sec)
        .map_err(|_| invalid("SCF_RATE_LIMIT_PER_SEC", "must be at most 4294967295"))?;
    let Some(per_sec) = std::num::NonZeroU32::new(per_sec) else {
        return Ok(None);
    };
    let burst = match burst {
        Some(b) => u32::try_from(b)
            .ok()
            .and_then(std::num::NonZeroU32::new)
            .ok_or_else(|| invalid("SCF_RATE_LIMIT_BURST", "must be 1 to 4294967295"))?,
        None => per_sec.saturating_mul(std::num::NonZeroU32::MIN.saturating_add(1)),
    };
    Ok(Some(RateLimit { per_sec, burst }))
}

fn parse_u64(key: &'static str, v: &str) -> Result<u64, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| invalid(key, format!("expected a non-negative integer, got {v:?}")))
}

fn parse_bool(key: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(invalid(key, format!("expected true or false, got {v:?}"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn toml_file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn defaults() {
        let s = Settings::load_with(None, env(&[])).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./scf-data"));
        assert_eq!(s.database_url.expose(), "sqlite://./scf-data/scf.db");
        assert_eq!(s.log, "info");
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert_eq!(s.max_body_bytes, 1 << 20);
        assert_eq!(s.max_bulk_bytes, 16 << 20);
        assert_eq!(s.clock_skew_secs, 300);
        let limit = s.rate_limit.unwrap();
        assert_eq!((limit.per_sec.get(), limit.burst.get()), (500, 1000));
        assert_eq!(s.body_timeout_secs, 30);
        assert!(!s.test_mode);
    }

    #[test]
    fn rate_limit_can_be_tuned_or_turned_off() {
        let s = Settings::load_with(None, env(&[("SCF_RATE_LIMIT_PER_SEC", "5")])).unwrap();
        let limit = s.rate_limit.unwrap();
        assert_eq!((limit.per_sec.get(), limit.burst.get()), (5, 10));
        let f = toml_file("rate_limit_per_sec = 7\nrate_limit_burst = 3\nbody_timeout_secs = 2\n");
        let s = Settings::load_with(Some(f.path()), env(&[])).unwrap();
        let limit = s.rate_limit.unwrap();
        assert_eq!((limit.per_sec.get(), limit.burst.get()), (7, 3));
        assert_eq!(s.body_timeout_secs, 2);
        let s = Settings::load_with(None, env(&[("SCF_RATE_LIMIT_PER_SEC", "0")])).unwrap();
        assert_eq!(s.rate_limit, None);
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let f = toml_file(
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/scf\"\nlog_format = \"json\"\n\
             max_body_bytes = 2048\nclock_skew_secs = 60\ntest_mode = true\n",
        );
        let s = Settings::load_with(Some(f.path()), env(&[])).unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(s.database_url.expose(), "sqlite:///srv/scf/scf.db");
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.max_body_bytes, 2048);
        assert_eq!(s.clock_skew_secs, 60);
        assert!(s.test_mode);

        let s = Settings::load_with(
            Some(f.path()),
            env(&[
                ("SCF_LISTEN", "127.0.0.1:0"),
                ("SCF_DATA_DIR", "/tmp/x"),
                ("SCF_MAX_BODY_BYTES", "10"),
                ("SCF_TEST_MODE", "false"),
                ("SCF_LOG_FORMAT", "pretty"),
            ]),
        )
        .unwrap();
        assert_eq!(s.listen.port(), 0);
        assert_eq!(s.database_url.expose(), "sqlite:///tmp/x/scf.db");
        assert_eq!(s.max_body_bytes, 10);
        assert_eq!(s.clock_skew_secs, 60);
        assert!(!s.test_mode);
        assert_eq!(s.log_format, LogFormat::Pretty);
    }

    #[test]
    fn explicit_database_url_wins_over_derived_default() {
        let s = Settings::load_with(
            None,
            env(&[
                ("SCF_DATA_DIR", "/d"),
                ("SCF_DATABASE_URL", "postgres://scf:s3cret@db/scf"),
            ]),
        )
        .unwrap();
        assert_eq!(s.database_url.expose(), "postgres://scf:s3cret@db/scf");
        assert!(!format!("{s:?}").contains("s3cret"));
        assert_eq!(s.database_url.to_string(), "postgres://***@db/scf");
    }

    #[test]
    fn invalid_values_name_the_key_in_one_line() {
        let cases: &[(&str, &str, &str)] = &[
            ("SCF_LISTEN", "localhost", "SCF_LISTEN:"),
            ("SCF_MAX_BODY_BYTES", "1MB", "SCF_MAX_BODY_BYTES:"),
            ("SCF_MAX_BODY_BYTES", "0", "SCF_MAX_BODY_BYTES:"),
            ("SCF_CLOCK_SKEW_SECS", "-1", "SCF_CLOCK_SKEW_SECS:"),
            ("SCF_TEST_MODE", "maybe", "SCF_TEST_MODE:"),
            ("SCF_LOG_FORMAT", "xml", "SCF_LOG_FORMAT:"),
            ("SCF_LOG", "scf=[", "SCF_LOG:"),
            ("SCF_DATABASE_URL", "mysql://u:pw@h/db", "SCF_DATABASE_URL:"),
            ("SCF_RATE_LIMIT_PER_SEC", "lots", "SCF_RATE_LIMIT_PER_SEC:"),
            (
                "SCF_RATE_LIMIT_PER_SEC",
                "5000000000",
                "SCF_RATE_LIMIT_PER_SEC:",
            ),
            ("SCF_RATE_LIMIT_BURST", "0", "SCF_RATE_LIMIT_BURST:"),
            ("SCF_BODY_TIMEOUT_SECS", "0", "SCF_BODY_TIMEOUT_SECS:"),
        ];
        for (k, v, prefix) in cases {
            let e = Settings::load_with(None, env(&[(k, v)])).unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with(prefix), "{k}={v}: {msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
        let e = Settings::load_with(None, env(&[("SCF_DATABASE_URL", "mysql://u:pw@h/db")]))
            .unwrap_err();
        assert!(!e.to_string().contains("pw"));
    }

    #[test]
    fn bad_files_are_one_line_errors() {
        let missing = Path::new("/nonexistent/scf.toml");
        let e = Settings::load_with(Some(missing), env(&[])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config file /nonexistent/scf.toml:")
        );

        for text in ["listen = ", "lisen = \"x\"", "max_body_bytes = \"big\""] {
            let f = toml_file(text);
            let msg = Settings::load_with(Some(f.path()), env(&[]))
                .unwrap_err()
                .to_string();
            assert!(msg.starts_with("config file "), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn data_dir_check() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Settings::load_with(None, env(&[])).unwrap();
        s.data_dir = tmp.path().join("nested/data");
        s.ensure_data_dir().unwrap();
        assert!(s.data_dir.is_dir());

        s.data_dir = PathBuf::from("/proc/scf");
        let msg = s.ensure_data_dir().unwrap_err().to_string();
        assert!(msg.starts_with("SCF_DATA_DIR: /proc/scf:"), "{msg}");
    }
}
