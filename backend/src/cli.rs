//! The `scf` command line. Exit status: 0 success; 1 a failure while
//! running (or, for `ledger verify`, an invalid export); 2 unusable input,
//! configuration or environment, reported as one line on stderr.

use crate::config::Settings;
use crate::routes::intents::{IntentSig, SignedIntent};
use crate::startup::{Application, StartupError};
use crate::telemetry;
use clap::{Parser, Subcommand};
use scf_ledger::intent::{Intent, SCHEMA_VERSION, signing_message};
use scf_ledger::sig::SecretKey;
use scf_ledger::time::Timestamp;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "scf",
    version,
    about = "scf: supply-chain finance on a signed ledger",
    after_help = "Exit status: 0 success, 1 failure while running, 2 unusable input or configuration."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP API server.
    ///
    /// Settings come from built-in defaults, then the TOML file given by
    /// --config (or SCF_CONFIG), then SCF_* environment variables:
    /// SCF_LISTEN, SCF_DATA_DIR, SCF_DATABASE_URL, SCF_LOG, SCF_LOG_FORMAT,
    /// SCF_MAX_BODY_BYTES, SCF_MAX_BULK_BYTES, SCF_CLOCK_SKEW_SECS, SCF_ORIGIN,
    /// SCF_TEST_MODE.
    Serve {
        /// TOML settings file; keys are the variable names without SCF_, in
        /// lowercase (listen, data_dir, ...).
        #[arg(long, env = "SCF_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Create a new Ed25519 signing key.
    ///
    /// Writes the 32-byte secret seed as hex to FILE (mode 0600, never
    /// overwriting) and prints the public key and key id to register.
    Keygen {
        /// Where to write the secret key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Sign an intent and print the body to POST.
    ///
    /// Reads an intent or a template (any JSON formatting). Missing members
    /// are filled: key_id from the key, id a new UUIDv7, client_time now,
    /// schema 1, assets [], subject "". Assets are put in ascending order of
    /// key. The result is canonicalised (RFC 8785), checked, signed, and
    /// printed as {"intent": "...", "sigs": [...]}.
    Sign {
        /// Secret key file written by `scf keygen`.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Intent JSON file, or - for standard input.
        #[arg(long, value_name = "FILE")]
        intent: PathBuf,
    },
    /// Create the platform operator's first administrator, once.
    ///
    /// Generates the administrator's Ed25519 key (written to --key-out, mode
    /// 0600), registers it in the ledger, and prints an API token. The token
    /// is shown only here; store it now. Run before `serve`, not beside it.
    Bootstrap {
        /// The administrator's name.
        #[arg(long)]
        name: String,
        /// Where to write the administrator's secret key (never overwritten).
        #[arg(long, value_name = "FILE")]
        key_out: PathBuf,
        /// TOML settings file (see `serve`).
        #[arg(long, env = "SCF_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Create or upgrade the database schema, then exit.
    ///
    /// `serve` does this too on every start; this command lets an operator
    /// do it ahead of a deployment.
    Migrate {
        /// TOML settings file (see `serve`).
        #[arg(long, env = "SCF_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Ledger tools.
    #[command(subcommand)]
    Ledger(LedgerCommand),
}

#[derive(Subcommand, Debug)]
enum LedgerCommand {
    /// Verify a ledger export offline (the same checks and exit codes as
    /// scf-verify: 0 valid, 1 invalid, 2 unusable input).
    Verify(scf_ledger::verify_cli::VerifyArgs),
    /// Write the stored ledger as an export (ledger SPEC.md §9), up to its
    /// newest checkpoint, for scf-verify or an auditor.
    Export {
        /// Where to write the export; - for standard output.
        #[arg(long, value_name = "FILE", default_value = "-")]
        out: PathBuf,
        /// TOML settings file (see `serve`).
        #[arg(long, env = "SCF_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Parses the process arguments and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve(config.as_deref()),
        Command::Keygen { out } => report("keygen", keygen(&out)),
        Command::Sign { key, intent } => report("sign", sign(&key, &intent)),
        Command::Migrate { config } => report("migrate", migrate(config.as_deref())),
        Command::Bootstrap {
            name,
            key_out,
            config,
        } => report("bootstrap", bootstrap(&name, &key_out, config.as_deref())),
        Command::Ledger(LedgerCommand::Verify(args)) => {
            scf_ledger::verify_cli::run(&args, "scf ledger verify")
        }
        Command::Ledger(LedgerCommand::Export { out, config }) => {
            report("ledger export", export(&out, config.as_deref()))
        }
    }
}

fn open_db(config: Option<&Path>) -> Result<crate::db::Db, String> {
    let settings = Settings::load(config).map_err(|e| e.to_string())?;
    crate::db::Db::connect(settings.database_url.expose(), Some(1)).map_err(|e| e.to_string())
}

fn bootstrap(name: &str, key_out: &Path, config: Option<&Path>) -> Result<(), String> {
    let settings = Settings::load(config)
        .and_then(|s| s.ensure_data_dir().map(|()| s))
        .map_err(|e| e.to_string())?;
    if name.trim().is_empty() {
        return Err("--name must not be empty".into());
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no secure randomness: {e}"))?;
    let key = SecretKey::from_seed(&seed);
    write_new_secret(key_out, &seed)?;
    let result = (|| -> Result<crate::parties::bootstrap::Bootstrapped, String> {
        let opened = crate::ledger::open(&settings).map_err(|e| e.to_string())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        runtime.block_on(async {
            let done = crate::parties::bootstrap::bootstrap(
                &opened.db,
                &opened.writer,
                opened.operator,
                name,
                &key,
            )
            .await
            .map_err(|e| e.to_string());
            opened.writer.stop().await;
            done
        })
    })();
    match result {
        Ok(b) => {
            println!("organisation  {}", b.org_id.0);
            println!("admin user    {}", b.user_id.0);
            println!(
                "signing key   {} (ledger seq {}), secret in {}",
                b.key_id,
                b.seq,
                key_out.display()
            );
            println!("API token     {}", b.token.expose());
            println!("(the token is shown only now; send it as Authorization: Bearer <token>)");
            Ok(())
        }
        Err(e) => {
            // The key was never registered: do not leave a useless secret behind.
            let _ = std::fs::remove_file(key_out);
            Err(e)
        }
    }
}

fn migrate(config: Option<&Path>) -> Result<(), String> {
    let db = open_db(config)?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let applied = crate::db::migrate(&mut conn).map_err(|e| e.to_string())?;
    if applied.is_empty() {
        println!("the schema is up to date");
    }
    for v in applied {
        println!("applied {v}");
    }
    Ok(())
}

fn export(out: &Path, config: Option<&Path>) -> Result<(), String> {
    let db = open_db(config)?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let written = if out.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::new(stdout.lock());
        crate::ledger::export(&mut conn, &mut w)
    } else {
        let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let mut w = std::io::BufWriter::new(file);
        crate::ledger::export(&mut conn, &mut w)
    }
    .map_err(|e| e.to_string())?;
    if out.as_os_str() != "-" {
        eprintln!("wrote {written} entries to {}", out.display());
    }
    Ok(())
}

fn report(cmd: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scf {cmd}: {e}");
            ExitCode::from(2)
        }
    }
}

fn serve(config: Option<&Path>) -> ExitCode {
    let settings = match Settings::load(config).and_then(|s| s.ensure_data_dir().map(|()| s)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scf serve: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = telemetry::init(&settings.log, settings.log_format) {
        eprintln!("scf serve: {e:#}");
        return ExitCode::from(2);
    }
    // One thread is enough here: actix runs its workers on threads of
    // their own, this runtime only accepts connections.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scf serve: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let data_dir = settings.data_dir.clone();
        let database = settings.database_url.to_string();
        let app = match Application::build(settings).await {
            Ok(app) => app,
            // A bad address, an unreachable or rolled-back database, or an
            // unusable key file: the operator's input, not a crash.
            Err(e @ (StartupError::Bind { .. } | StartupError::Open(_))) => {
                eprintln!("scf serve: {e}");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("scf serve: {e}");
                return ExitCode::from(1);
            }
        };
        tracing::info!(
            addr = %app.addr(),
            data_dir = %data_dir.display(),
            %database,
            "listening"
        );
        match app.run_until_stopped().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "server failed");
                eprintln!("scf serve: {e}");
                ExitCode::from(1)
            }
        }
    })
}

fn keygen(out: &Path) -> Result<(), String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no secure randomness: {e}"))?;
    let key = SecretKey::from_seed(&seed);
    write_new_secret(out, &seed)?;
    let public = key.public_key();
    println!("public_key {}", public.to_hex());
    println!("key_id     {}", public.key_id().to_hex());
    Ok(())
}

/// Writes a secret seed as hex to a new file readable by its owner only;
/// never overwrites an existing key.
fn write_new_secret(out: &Path, seed: &[u8; 32]) -> Result<(), String> {
    let mut text = hex::encode(seed);
    text.push('\n');
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts.open(out).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            format!(
                "{}: already exists; refusing to overwrite a key",
                out.display()
            )
        }
        _ => format!("{}: {e}", out.display()),
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", out.display()))
}

/// Reads a key file: 64 lowercase hex characters, surrounding whitespace
/// ignored. Errors never include the file's content.
pub fn read_secret_key(path: &Path) -> Result<SecretKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let seed = scf_ledger::hash::from_hex::<32>(text.trim()).ok_or_else(|| {
        format!(
            "{}: not a key file (expected 64 lowercase hex characters)",
            path.display()
        )
    })?;
    Ok(SecretKey::from_seed(&seed))
}

fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("standard input: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn sign(key_path: &Path, intent_path: &Path) -> Result<(), String> {
    let key = read_secret_key(key_path)?;
    let input = read_input(intent_path)?;
    let signed = sign_template(&key, &input, Timestamp::now(), uuid::Uuid::now_v7())?;
    let json = serde_json::to_string(&signed).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}

/// Completes, canonicalises, checks and signs an intent template.
pub fn sign_template(
    key: &SecretKey,
    template: &[u8],
    now: Timestamp,
    id: uuid::Uuid,
) -> Result<SignedIntent, String> {
    let value: Value =
        serde_json::from_slice(template).map_err(|e| format!("intent is not JSON: {e}"))?;
    let Value::Object(mut obj) = value else {
        return Err("intent must be a JSON object".to_owned());
    };
    let key_id = key.public_key().key_id().to_hex();
    match obj.get("key_id") {
        None => {
            obj.insert("key_id".into(), Value::String(key_id.clone()));
        }
        Some(Value::String(k)) if *k == key_id => {}
        Some(other) => {
            return Err(format!(
                "intent key_id {other} is not the id of this key ({key_id})"
            ));
        }
    }
    obj.entry("id")
        .or_insert_with(|| Value::String(id.to_string()));
    obj.entry("client_time")
        .or_insert_with(|| Value::String(now.to_string()));
    obj.entry("schema")
        .or_insert_with(|| Value::from(SCHEMA_VERSION));
    obj.entry("assets")
        .or_insert_with(|| Value::Array(Vec::new()));
    // The canonical form lists asset keys ascending (ledger SPEC §4), but
    // their order means nothing: a template may name them in any order,
    // as a clearing that releases several parts does. A key named twice
    // stays twice and is refused by the check below.
    if let Some(Value::Array(assets)) = obj.get_mut("assets") {
        assets.sort_by(|a, b| {
            let key = |v: &Value| v.get("key").and_then(Value::as_str).map(str::to_owned);
            key(a).cmp(&key(b))
        });
    }
    obj.entry("subject")
        .or_insert_with(|| Value::String(String::new()));

    let bytes = scf_ledger::jcs::to_vec(&Value::Object(obj));
    Intent::parse(&bytes).map_err(|e| e.to_string())?;
    let sig = key.sign(&signing_message(&bytes));
    let intent = String::from_utf8(bytes).map_err(|e| e.to_string())?;
    Ok(SignedIntent {
        intent,
        sigs: vec![IntentSig {
            key_id,
            sig: sig.to_hex(),
        }],
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn template_is_completed_canonicalised_and_signed() {
        let key = SecretKey::from_seed(&[1; 32]);
        let now = Timestamp::parse("2026-01-31T08:00:00Z").unwrap();
        let id = uuid::Uuid::nil();
        let template = br#"{ "type": "key.add", "org": "acme",
                              "body": {"amount": "12.50"} }"#;
        let s = sign_template(&key, template, now, id).unwrap();
        let kid = key.public_key().key_id().to_hex();
        assert_eq!(
            s.intent,
            format!(
                r#"{{"assets":[],"body":{{"amount":"12.50"}},"client_time":"2026-01-31T08:00:00.000000Z","id":"00000000-0000-0000-0000-000000000000","key_id":"{kid}","org":"acme","schema":1,"subject":"","type":"key.add"}}"#
            )
        );
        let sig = scf_ledger::sig::Signature::from_hex(&s.sigs[0].sig).unwrap();
        scf_ledger::sig::verify(
            &key.public_key(),
            &signing_message(s.intent.as_bytes()),
            &sig,
        )
        .unwrap();
    }

    #[test]
    fn template_errors() {
        let key = SecretKey::from_seed(&[1; 32]);
        let now = Timestamp::now();
        let id = uuid::Uuid::nil();
        let e = sign_template(&key, b"[1]", now, id).unwrap_err();
        assert_eq!(e, "intent must be a JSON object");
        let e = sign_template(&key, b"{", now, id).unwrap_err();
        assert!(e.starts_with("intent is not JSON"), "{e}");
        let e = sign_template(&key, br#"{"type":"x","org":"a","body":{}}"#, now, id).unwrap_err();
        assert!(e.starts_with("intent field type"), "{e}");
        let e = sign_template(
            &key,
            br#"{"type":"a.b","org":"a","body":{},"key_id":"00000000000000000000000000000000"}"#,
            now,
            id,
        )
        .unwrap_err();
        assert!(e.contains("is not the id of this key"), "{e}");
    }
}
