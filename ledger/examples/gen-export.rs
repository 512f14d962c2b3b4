//! Writes a valid export of a generated ledger: several organisations and
//! actors, invoices pledged and released, a revoked key, a platform key
//! rotation and periodic checkpoints.
//!
//!     cargo run -p scf-ledger --release --example gen-export -- --events 10000 --out /tmp/ledger.jsonl

use clap::Parser;
use scf_ledger::sim::{SimConfig, generate};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "gen-export", about = "Generate a valid scf-ledger export")]
struct Args {
    /// Total entries, including the genesis and key registrations.
    #[arg(long, default_value_t = 1000)]
    events: u64,
    /// Where to write the export.
    #[arg(long)]
    out: PathBuf,
    /// Seed of every key and choice; the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Checkpoint after this many entries (or a simulated second).
    #[arg(long, default_value_t = 1000)]
    checkpoint_every: u64,
    /// Also write the trust root (origin and first platform key) here.
    #[arg(long)]
    trust_root_out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cfg = SimConfig {
        events: args.events,
        seed: args.seed,
        checkpoint_every: args.checkpoint_every,
        ..SimConfig::default()
    };
    let sim = match generate(&cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gen-export: {e}");
            return ExitCode::FAILURE;
        }
    };
    let written = File::create(&args.out).and_then(|f| sim.log.export(BufWriter::new(f)));
    if let Err(e) = written {
        eprintln!("gen-export: {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    if let Some(p) = &args.trust_root_out
        && let Err(e) = std::fs::write(p, sim.trust_root.to_json())
    {
        eprintln!("gen-export: {}: {e}", p.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "wrote {} entries and {} checkpoints to {}",
        sim.log.state().size(),
        sim.log.checkpoints().len(),
        args.out.display()
    );
    ExitCode::SUCCESS
}
