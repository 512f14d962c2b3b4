//! The command line of the offline verifier, shared by `scf-verify` and
//! `scf ledger verify`, so both give the same report and exit codes:
//! 0 the export is valid; 1 it is not, and the report names the first bad
//! seq; 2 the input (or a side file) is unusable.

use crate::batch::BatchRows;
use crate::checkpoint::Checkpoint;
use crate::hash::to_hex;
use crate::verify::{self, InputError, Options, Report, TrustRoot};
use clap::Args;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args, Debug)]
#[command(
    after_help = "Exit status: 0 valid, 1 invalid (the report names the first bad seq), 2 unusable input."
)]
pub struct VerifyArgs {
    /// JSON file {"origin": ..., "platform_key": ...} naming the ledger and
    /// its first platform key. Without it the genesis entry is taken on trust.
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    /// File holding the newest checkpoint accepted before. It is checked
    /// against the export (detecting truncation, rollback and forks) and
    /// replaced by the export's newest checkpoint when the export is valid.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Print a JSON report instead of the summary.
    #[arg(long)]
    json: bool,
    /// Verify every signature on its own instead of in batches (slower).
    #[arg(long)]
    strict: bool,
    /// Worker threads (default: the number of cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Show progress on stderr even when it is not a terminal.
    #[arg(long)]
    progress: bool,
    /// Directory of rows files of bulk uploads, one `<batch_id>.jsonl` per
    /// batch (as `GET /v1/invoices/batches/{id}/rows` gives it). Each is
    /// checked against its `invoice.batch` entry's roots and its rows'
    /// invoice keys join the single invoices' in the double-encumbrance
    /// check. Batches without a file are reported as not checked.
    #[arg(long, value_name = "DIR")]
    batch_rows: Option<PathBuf>,
    /// Fail on an `invoice.batch` entry whose rows file is not in the
    /// --batch-rows directory.
    #[arg(long, requires = "batch_rows")]
    require_batch_rows: bool,
    /// The export file, or - for standard input.
    #[arg(value_name = "EXPORT")]
    export: PathBuf,
}

fn unusable(name: &str, msg: impl std::fmt::Display, json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::json!({"valid": false, "unusable": msg.to_string()})
        );
    } else {
        eprintln!("{name}: unusable input: {msg}");
    }
    ExitCode::from(2)
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn load_state(path: &Path) -> Result<Option<Checkpoint>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let bytes = read_file(path)?;
    let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    Checkpoint::parse_line(line)
        .map(Some)
        .map_err(|e| format!("{}: not a saved checkpoint: {e}", path.display()))
}

/// Write-then-rename, so a crash never leaves a half-written state file
/// that the next run would refuse.
fn save_state(path: &Path, cp: &Checkpoint) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(&cp.to_line())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn summary(r: &Report, elapsed: f64, saved: Option<&Checkpoint>) -> String {
    let mut s = String::new();
    let origin = r.origin.as_deref().unwrap_or("?");
    // Writing to a String cannot fail.
    let _ = match &r.failure {
        None => writeln!(s, "VALID    {origin}"),
        Some(f) => writeln!(
            s,
            "INVALID  {origin}\n  first bad seq  {} (line {})\n  reason         {}: {}",
            f.seq, f.line, f.code, f.message
        ),
    };
    let _ = writeln!(s, "  entries        {} verified", r.entries);
    let _ = write!(s, "  checkpoints    {}", r.checkpoints);
    if let Some(c) = &r.latest_checkpoint {
        let _ = write!(
            s,
            ", newest size {} root {} at {}",
            c.size,
            to_hex(&c.root),
            c.time
        );
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "  keys           {} actor, {} revoked, {} platform",
        r.actor_keys, r.revoked_keys, r.platform_keys
    );
    s.push_str(if r.anchored {
        "  trust          anchored in the trust root\n"
    } else {
        "  trust          genesis taken from the export (give --trust-root to anchor it)\n"
    });
    if let Some(cp) = saved {
        let _ = match r.saved_consistent {
            Some(n) => writeln!(
                s,
                "  saved state    consistent with the checkpoint of size {n}"
            ),
            None => writeln!(
                s,
                "  saved state    checkpoint of size {} not confirmed",
                cp.size
            ),
        };
    }
    let rate = if elapsed > 0.0 {
        r.entries as f64 / elapsed
    } else {
        0.0
    };
    if r.batches_checked + r.batches_unchecked > 0 {
        let _ = writeln!(
            s,
            "  batches        {} checked against their rows, {} not checked: rows not supplied",
            r.batches_checked, r.batches_unchecked
        );
    }
    let _ = writeln!(s, "  time           {elapsed:.2} s ({rate:.0} entries/s)");
    s
}

/// Runs the verifier; `name` prefixes messages on stderr.
pub fn run(args: &VerifyArgs, name: &str) -> ExitCode {
    let mut opts = Options::default();
    if let Some(n) = args.threads {
        opts.threads = n.max(1);
    }
    opts.strict = args.strict;
    if let Some(p) = &args.trust_root {
        match read_file(p).and_then(|b| TrustRoot::parse(&b)) {
            Ok(t) => opts.trust_root = Some(t),
            Err(e) => return unusable(name, e, args.json),
        }
    }
    if let Some(dir) = &args.batch_rows {
        match BatchRows::open(dir, args.require_batch_rows) {
            Ok(b) => opts.batch_rows = Some(b),
            Err(e) => return unusable(name, e, args.json),
        }
    }
    if let Some(p) = &args.state {
        match load_state(p) {
            Ok(s) => opts.saved = s,
            Err(e) => return unusable(name, e, args.json),
        }
    }
    let input: Box<dyn Read> = if args.export.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        match File::open(&args.export) {
            Ok(f) => Box::new(f),
            Err(e) => return unusable(name, format!("{}: {e}", args.export.display()), args.json),
        }
    };
    let show_progress = args.progress || io::stderr().is_terminal();
    let started = Instant::now();
    let mut last = Instant::now();
    let mut progress = |entries: u64, bytes: u64| {
        if show_progress && last.elapsed().as_millis() >= 500 {
            last = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            eprint!(
                "\rverified {entries} entries, {:.1} MB, {:.0} entries/s   ",
                bytes as f64 / 1e6,
                entries as f64 / secs.max(1e-9)
            );
        }
    };
    let result = verify::verify(
        BufReader::with_capacity(1 << 20, input),
        &opts,
        &mut progress,
    );
    if show_progress {
        eprint!("\r\x1b[K");
    }
    let report = match result {
        Ok(r) => r,
        Err(
            e @ (InputError::Io(_)
            | InputError::NotAnExport(_)
            | InputError::State(_)
            | InputError::BatchRows(_)),
        ) => {
            return unusable(name, e, args.json);
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", summary(&report, elapsed, opts.saved.as_ref()));
    }
    if !report.is_valid() {
        return ExitCode::from(1);
    }
    if let (Some(path), Some(cp)) = (&args.state, &report.latest_checkpoint)
        && let Err(e) = save_state(path, cp)
    {
        eprintln!("{name}: the export is valid but the state file could not be written: {e}");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
