//! Secrets and witnesses in the data directory: the platform signing key
//! (owner-only permissions) and the newest published checkpoint, which lets
//! the service notice at start that its database was rolled back.

use scf_ledger::checkpoint::Checkpoint;
use scf_ledger::sig::SecretKey;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const PLATFORM_KEY_FILE: &str = "platform.key";
pub const PUBLISHED_FILE: &str = "published-checkpoint.json";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: not a 64-character hex Ed25519 seed")]
    BadKey(PathBuf),
    #[error("{0}: permissions are too open (must be readable by its owner only)")]
    Permissions(PathBuf),
    #[error("{0}: not a checkpoint line: {1}")]
    BadCheckpoint(PathBuf, String),
    #[error("no randomness available: {0}")]
    Random(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename) with the
/// given Unix mode.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyFileError> {
    let tmp = path.with_extension("tmp");
    {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        let mut f = opts.open(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        // The rename is durable only once the directory entry is.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    let _ = mode;
    Ok(())
}

/// Loads the platform key from the data directory, creating it on first
/// start. Refuses a key file that others can read.
pub fn load_or_create_platform_key(data_dir: &Path) -> Result<SecretKey, KeyFileError> {
    load_or_create_secret(data_dir, PLATFORM_KEY_FILE).map(|seed| SecretKey::from_seed(&seed))
}

/// Loads 32 secret bytes kept as hex in `data_dir/file`, creating them on
/// first use, readable by the owner only. Refuses a file others can read.
pub fn load_or_create_secret(data_dir: &Path, file: &str) -> Result<[u8; 32], KeyFileError> {
    let path = data_dir.join(file);
    if path.exists() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).map_err(io(&path))?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(KeyFileError::Permissions(path));
            }
        }
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        return scf_ledger::hash::from_hex::<32>(text.trim()).ok_or(KeyFileError::BadKey(path));
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyFileError::Random(e.to_string()))?;
    write_atomic(&path, format!("{}\n", hex::encode(seed)).as_bytes(), 0o600)?;
    Ok(seed)
}

pub fn parse_seed(hex_seed: &str) -> Option<SecretKey> {
    scf_ledger::hash::from_hex::<32>(hex_seed).map(|s| SecretKey::from_seed(&s))
}

/// The newest checkpoint this service published, if any.
pub fn read_published(data_dir: &Path) -> Result<Option<Checkpoint>, KeyFileError> {
    let path = data_dir.join(PUBLISHED_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = fs::read(&path).map_err(io(&path))?;
    let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    Checkpoint::parse_line(line)
        .map(Some)
        .map_err(|e| KeyFileError::BadCheckpoint(path, e.to_string()))
}

pub fn write_published(data_dir: &Path, cp: &Checkpoint) -> Result<(), KeyFileError> {
    let mut line = cp.to_line();
    line.push(b'\n');
    write_atomic(&data_dir.join(PUBLISHED_FILE), &line, 0o644)
}
