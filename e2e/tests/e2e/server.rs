//! The real `scf` binary as a child process: bootstrapped, served on a free
//! loopback port, exported and verified with the shipped tools.

use crate::client::{Client, new_http};
use scf_backend::db::testing::TestDb;
use scf_ledger::sig::SecretKey;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Names a PostgreSQL server (`postgres://user@host:port/db`); each test
/// then gets a fresh database on it instead of SQLite in its data dir.
pub const PG_ENV: &str = "SCF_E2E_DATABASE_URL";

/// The ledger name the tests give the server and pin in the trust root.
pub const ORIGIN: &str = "e2e.scf.test/ledger";

pub const OPERATOR_NAME: &str = "Ada Operator";

/// A binary built by cargo: an explicit override, else the profile directory
/// this test executable was built into. CI builds the workspace once and the
/// suite drives what that build made, so cargo is never invoked from here.
fn binary(name: &str, override_var: &str, package: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(override_var).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "{override_var}={} is not a file", p.display());
        return p;
    }
    // The test runs from <target>/<profile>/deps/e2e-<hash>.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let profile = profile_dir.file_name().unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // The first candidate also covers CARGO_TARGET_DIR and --target builds,
    // where the profile directory is not under <workspace>/target.
    let mut candidates = vec![profile_dir.join(name)];
    let default = workspace.join("target").join(profile).join(name);
    if !candidates.contains(&default) {
        candidates.push(default);
    }
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return found.clone();
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    panic!(
        "the `{name}` binary is missing (looked for {}).\n\
         Build it first: `cargo build -p {package}` (`cargo test --workspace` builds it too), \
         or point {override_var} at it.",
        looked.join(" and "),
    );
}

pub fn scf_bin() -> PathBuf {
    binary("scf", "SCF_BIN", "scf-backend")
}

pub fn scf_verify_bin() -> PathBuf {
    binary("scf-verify", "SCF_VERIFY_BIN", "scf-ledger")
}

/// A command with none of the developer's own `SCF_*` settings, so only
/// what a test sets reaches the binary.
fn clean_command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SCF_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Insists that a finished command exited 0, showing its output if not.
pub fn succeed(what: &str, out: Output) -> Output {
    assert!(
        out.status.success(),
        "{what} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Reads a key file as `scf keygen` and `scf bootstrap` write it.
pub fn read_key(path: &Path) -> SecretKey {
    let hex = std::fs::read_to_string(path).unwrap();
    SecretKey::from_seed(&scf_ledger::hash::from_hex::<32>(hex.trim()).unwrap())
}

/// What `scf bootstrap` printed.
#[derive(Debug)]
pub struct Bootstrapped {
    pub org_id: String,
    pub user_id: String,
    pub key_id: String,
    pub key_file: PathBuf,
    pub token: String,
}

impl Bootstrapped {
    fn parse(stdout: &str) -> Bootstrapped {
        let field = |label: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(label))
                .map(|v| v.trim().to_owned())
                .unwrap_or_else(|| panic!("no {label:?} line in the bootstrap output:\n{stdout}"))
        };
        // "signing key   <key_id> (ledger seq N), secret in <path>"
        let signing = field("signing key");
        let key_id = signing.split_whitespace().next().unwrap().to_owned();
        let (_, key_file) = signing.split_once("secret in ").unwrap();
        Bootstrapped {
            org_id: field("organisation"),
            user_id: field("admin user"),
            key_id,
            key_file: PathBuf::from(key_file.trim()),
            token: field("API token"),
        }
    }
}

/// Where the server keeps its ledger: the SQLite file in its data dir, or
/// a database of its own on a PostgreSQL server.
#[derive(Debug, Clone)]
pub enum Storage {
    Sqlite(PathBuf),
    Postgres {
        /// The server the test databases live on (the `SCF_E2E_DATABASE_URL`).
        admin_url: String,
        /// This server's database on it.
        name: String,
    },
}

/// A running `scf serve` with its own data directory (and database).
/// Dropping it kills the process and, if the test is failing, prints the
/// server's output. It can be killed, stopped and started again on the
/// same data directory and database.
#[derive(Debug)]
pub struct Server {
    /// None while the server is down (killed or stopped).
    process: Option<Process>,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    port: u16,
    pub bootstrap: Bootstrapped,
    http: reqwest::Client,
    env: Vec<(&'static str, String)>,
    logs: [PathBuf; 2],
    starts: usize,
    storage: Storage,
    /// Dropped after `Drop::drop` has stopped the server, so a PostgreSQL
    /// database is removed only once nothing uses it.
    _db: Option<TestDb>,
    dir: tempfile::TempDir,
}

impl Server {
    /// `scf bootstrap`, then `scf serve` until `/readyz` answers 200.
    pub async fn start() -> Server {
        Server::start_logging("info").await
    }

    /// [`Server::start`] with another `SCF_LOG` filter: a long crash run
    /// logs less.
    pub async fn start_logging(log: &str) -> Server {
        Server::start_with(log, &[]).await
    }

    /// [`Server::start`] in test mode (`SCF_TEST_MODE=true`): the operator's
    /// admin may move the platform clock with `POST /v1/test/clock`, so a
    /// scenario can reach a maturity date. Test mode holds for every start
    /// of this server, restarts included.
    pub async fn start_test_mode() -> Server {
        Server::start_with("info", &[("SCF_TEST_MODE", "true")]).await
    }

    /// `scf bootstrap` and `scf serve` with `SCF_LOG=log` and `extra`
    /// settings on top of the data dir, origin and database.
    async fn start_with(log: &str, extra: &[(&'static str, &str)]) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("scf-e2e-")
            .tempdir()
            .unwrap();
        let data_dir = dir.path().join("data");
        let admin_url = std::env::var(PG_ENV).ok().filter(|u| !u.trim().is_empty());
        let db = admin_url
            .as_deref()
            .map(|url| TestDb::postgres(url).unwrap());
        let mut env = vec![
            ("SCF_DATA_DIR", data_dir.display().to_string()),
            ("SCF_ORIGIN", ORIGIN.to_owned()),
            ("SCF_LOG", log.to_owned()),
        ];
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        // Without it the server uses its default, SQLite in the data dir.
        let storage = match (&db, admin_url) {
            (Some(db), Some(admin_url)) => {
                env.push(("SCF_DATABASE_URL", db.url().to_owned()));
                let name = db.url().rsplit('/').next().unwrap().to_owned();
                Storage::Postgres { admin_url, name }
            }
            _ => Storage::Sqlite(data_dir.join("scf.db")),
        };

        let key_file = dir.path().join("operator.key");
        let out = clean_command(&scf_bin())
            .args(["bootstrap", "--name", OPERATOR_NAME, "--key-out"])
            .arg(&key_file)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        let out = succeed("scf bootstrap", out);
        let bootstrap = Bootstrapped::parse(&text(&out.stdout));
        assert_eq!(bootstrap.key_file, key_file);

        let logs = [
            dir.path().join("serve.stdout"),
            dir.path().join("serve.stderr"),
        ];
        let mut server = Server {
            process: None,
            base: String::new(),
            port: 0,
            bootstrap,
            http: new_http(),
            env,
            logs,
            starts: 0,
            storage,
            _db: db,
            dir,
        };
        server.serve().await;
        server
    }

    /// `scf serve` on the server's port (a free one the first time, or if
    /// another process took it meanwhile), until `/readyz` answers 200.
    async fn serve(&mut self) {
        assert!(self.process.is_none(), "the server is running already");
        self.starts += 1;
        // A fresh client: pooled connections to a killed server are dead.
        self.http = new_http();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if self.port == 0 || attempt > 1 {
                self.port = free_port();
            }
            let listen = format!("127.0.0.1:{}", self.port);
            let mut process = self.spawn_serve(&listen);
            let base = format!("http://{listen}");
            match wait_ready(&mut process.0, &self.http, &base).await {
                Ok(()) => {
                    self.process = Some(process);
                    self.base = base;
                    return;
                }
                // The free port is found by binding and releasing it, so
                // another process can take it before the server binds; try
                // again then.
                Err(_) if attempt < 3 && read_log(&self.logs[1]).contains("cannot listen") => {}
                Err(why) => {
                    drop(process);
                    print_logs(&self.logs);
                    panic!("scf serve did not become ready: {why}");
                }
            }
        }
    }

    /// Spawns `scf serve` on `listen`, its output appended to the logs
    /// after a line that says which start this is.
    fn spawn_serve(&self, listen: &str) -> Process {
        let log = |path: &Path| {
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap();
            writeln!(f, "=== scf serve, start {} on {listen}", self.starts).unwrap();
            f
        };
        Process(
            clean_command(&scf_bin())
                .arg("serve")
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .env("SCF_LISTEN", listen)
                .stdin(Stdio::null())
                .stdout(log(&self.logs[0]))
                .stderr(log(&self.logs[1]))
                .spawn()
                .unwrap(),
        )
    }

    /// `kill -9`: no request is finished, no checkpoint is written, the
    /// writer's transaction (if one is open) is cut off wherever it is.
    pub fn kill(&mut self) {
        let mut process = self.process.take().expect("the server is not running");
        process.stop();
    }

    /// SIGTERM, as a service manager stops it: the server finishes its
    /// requests, covers them with a final checkpoint and exits 0.
    pub fn stop(&mut self) {
        let mut process = self.process.take().expect("the server is not running");
        let pid = process.0.id().to_string();
        succeed(
            "kill -TERM",
            Command::new("kill").args(["-TERM", &pid]).output().unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = process.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "scf serve did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(
            status.success(),
            "scf serve exited with {status} on SIGTERM"
        );
    }

    /// Starts `scf serve` and SIGKILLs it `after` later, ready or not: a
    /// crash during start-up (migrations, the replay of the stored ledger,
    /// the start-up checkpoint). Fails if it exits by itself first.
    pub async fn start_and_kill(&mut self, after: Duration) {
        assert!(self.process.is_none(), "the server is running already");
        self.starts += 1;
        let mut process = self.spawn_serve(&format!("127.0.0.1:{}", self.port));
        tokio::time::sleep(after).await;
        if let Some(status) = process.0.try_wait().unwrap() {
            print_logs(&self.logs);
            panic!("scf serve exited by itself with {status} while starting");
        }
        process.stop();
    }

    /// Starts the server again on the same data directory and database
    /// (and, if it is still free, the same port).
    pub async fn restart(&mut self) {
        self.serve().await;
    }

    /// Runs `scf serve` on the server's data directory and database while
    /// the server is down, expecting it to refuse to start: returns its
    /// exit status and stderr. Kills it and fails if it starts after all.
    pub fn refused_start(&self) -> (std::process::ExitStatus, String) {
        assert!(self.process.is_none(), "stop the server first");
        let stderr = self.path("refused.stderr");
        let mut process = Process(
            clean_command(&scf_bin())
                .arg("serve")
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .env("SCF_LISTEN", format!("127.0.0.1:{}", free_port()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&stderr).unwrap())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = process.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "scf serve was expected to refuse to start, but it is still running after 30 s:\n{}",
                read_log(&stderr)
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        (status, read_log(&stderr))
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The HTTP client of the current run of the server.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `scf` with the server's settings (data dir, database).
    pub fn scf(&self, args: &[&str]) -> Output {
        clean_command(&scf_bin())
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    /// The platform operator's first admin, as bootstrapped.
    pub fn operator(&self) -> Client {
        let b = &self.bootstrap;
        let mut c = Client::new(
            &self.http,
            &self.base,
            read_key(&b.key_file),
            &b.org_id,
            &b.user_id,
        );
        c.token = Some(b.token.clone());
        c
    }

    /// A client for a user that holds `key`, not yet logged in.
    pub fn client(&self, key: SecretKey, org_id: &str, user_id: &str) -> Client {
        Client::new(&self.http, &self.base, key, org_id, user_id)
    }

    /// Waits until the published checkpoint covers `size` entries; an
    /// export stops at the newest checkpoint.
    pub async fn wait_for_checkpoint(&self, size: u64) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = format!("{}/v1/ledger/checkpoint", self.base);
        loop {
            let r = self.http.get(&url).send().await.unwrap();
            if r.status() == 200 {
                let cp: serde_json::Value = r.json().await.unwrap();
                if cp["size"].as_u64().unwrap() >= size {
                    return cp;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no checkpoint of size {size} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `scf ledger export` into the test's directory.
    pub fn export(&self, name: &str) -> PathBuf {
        let out = self.path(name);
        succeed(
            "scf ledger export",
            self.scf(&["ledger", "export", "--out", out.to_str().unwrap()]),
        );
        out
    }

    /// What an auditor is given out of band: the ledger's name and the
    /// platform's first public key (here read from the platform key file in
    /// the data dir, as its operator could).
    pub fn trust_root(&self) -> PathBuf {
        let key = read_key(&self.data_dir().join("platform.key"));
        let root = scf_ledger::verify::TrustRoot {
            origin: ORIGIN.to_owned(),
            platform_key: key.public_key(),
        };
        let path = self.path("trust-root.json");
        std::fs::write(&path, root.to_json()).unwrap();
        path
    }

    /// `scf-verify --trust-root ... --state ... EXPORT`, which must exit 0;
    /// returns its report.
    pub fn verify(&self, export: &Path) -> String {
        let out = clean_command(&scf_verify_bin())
            .arg("--trust-root")
            .arg(self.trust_root())
            .arg("--state")
            .arg(self.path("verify-state.json"))
            .arg(export)
            .output()
            .unwrap();
        let out = succeed("scf-verify", out);
        let report = text(&out.stdout);
        assert!(
            report.starts_with(&format!("VALID    {ORIGIN}\n")),
            "{report}"
        );
        assert!(report.contains("anchored in the trust root"), "{report}");
        report
    }

    /// `scf-verify --trust-root ... ARGS EXPORT`, without the state file,
    /// whatever its outcome: its exit code and report.
    pub fn verify_with(&self, args: &[&std::ffi::OsStr], export: &Path) -> (Option<i32>, String) {
        let out = clean_command(&scf_verify_bin())
            .arg("--trust-root")
            .arg(self.trust_root())
            .args(args)
            .arg(export)
            .output()
            .unwrap();
        (out.status.code(), text(&out.stdout) + &text(&out.stderr))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.stop();
        }
        if std::thread::panicking() {
            print_logs(&self.logs);
        }
    }
}

/// A child process that is killed when dropped, so that no server outlives
/// its test, whether the test passes, fails or panics half-way.
#[derive(Debug)]
struct Process(Child);

impl Process {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Ok once `/readyz` answers 200; Err if the process exits first or 30 s
/// pass.
async fn wait_ready(child: &mut Child, http: &reqwest::Client, base: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("{base}/readyz");
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("it exited with {status}"));
        }
        if http.get(&url).send().await.is_ok_and(|r| r.status() == 200) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err("/readyz did not answer 200 within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Prints the end of each log: a crash run restarts the server dozens of
/// times, and the last starts are the ones that matter.
fn print_logs(logs: &[PathBuf]) {
    const TAIL: usize = 300;
    for log in logs {
        let text = read_log(log);
        let lines: Vec<&str> = text.lines().collect();
        let skipped = lines.len().saturating_sub(TAIL);
        eprintln!(
            "--- {} (last {} lines)",
            log.display(),
            lines.len() - skipped
        );
        for line in lines.iter().skip(skipped) {
            eprintln!("{line}");
        }
    }
}

/// The intent type of every entry in an export, in ledger order.
pub fn entry_types(export: &Path) -> Vec<String> {
    use scf_ledger::export::{Kind, Record};
    let bytes = std::fs::read(export).unwrap();
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| Record::kind_of(l) == Some(Kind::Entry))
        .map(|l| {
            let entry = scf_ledger::entry::Entry::parse_line(l).unwrap();
            scf_ledger::intent::Intent::parse(entry.intent.as_bytes())
                .unwrap()
                .kind
        })
        .collect()
}
