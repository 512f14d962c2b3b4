//! Bulk-uploaded invoices checked against their rows (SPEC.md §10.5).
//!
//! An `invoice.batch` entry commits to up to 10,000 invoice rows only by
//! Merkle roots: its intent would be too large to hold them. Whoever holds
//! a batch's rows file can give it to the verifier, which recomputes both
//! roots and encumbers the rows' invoice asset keys as if the entry's
//! `assets` had named them, so a key in two batches, or in a batch and a
//! single `invoice.record`, fails `no_double_encumbrance` like any other.

use crate::asset::AssetKey;
use crate::hash::{Hash, from_hex, leaf_hash, to_hex};
use crate::intent::{AssetOp, AssetRef, Intent};
use crate::merkle::root_from_leaves;
use crate::state::Violation;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The intent type of a bulk upload.
pub const BATCH_TYPE: &str = "invoice.batch";
/// Extension of a rows file: `<batch_id>.jsonl`.
pub const ROWS_EXT: &str = "jsonl";
/// Longest row line (its canonical JSON, without the newline). The platform
/// refuses longer rows at upload, so a real rows file never has one.
pub const MAX_ROW_BYTES: usize = 64 * 1024;

/// The rows files a verifier was given (`--batch-rows DIR`), by batch id.
#[derive(Debug, Clone, Default)]
pub struct BatchRows {
    files: BTreeMap<String, PathBuf>,
    /// A batch entry without a rows file fails (`batch_rows_missing`)
    /// instead of being reported as not checked.
    pub require: bool,
}

impl BatchRows {
    /// Every `<batch_id>.jsonl` in `dir`; other files are ignored.
    pub fn open(dir: &Path, require: bool) -> Result<BatchRows, String> {
        let listing = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut files = BTreeMap::new();
        for item in listing {
            let path = item.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some(ROWS_EXT) {
                continue;
            }
            let Some(id) = path.file_stem().and_then(|s| s.to_str()) else {
                return Err(format!(
                    "{}: a rows file is named <batch_id>.{ROWS_EXT}",
                    path.display()
                ));
            };
            // Named as the platform serves it, or in any other spelling.
            let id = crate::conservation::canonical_uuid(id).unwrap_or_else(|| id.to_owned());
            files.insert(id, path.clone());
        }
        Ok(BatchRows { files, require })
    }

    pub fn file(&self, batch_id: &str) -> Option<&Path> {
        self.files.get(batch_id).map(PathBuf::as_path)
    }

    pub fn batch_ids(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

/// What a batch entry's intent commits to.
struct Commitment {
    count: u64,
    rows_root: Hash,
    asset_keys_root: Hash,
}

fn bad_intent(msg: &str) -> Violation {
    Violation::new("bad_intent", format!("invoice.batch {msg}"))
}

fn root_member(intent: &Intent, field: &'static str) -> Result<Hash, Violation> {
    intent
        .body_str(field)
        .ok()
        .and_then(from_hex::<32>)
        .ok_or_else(|| bad_intent(&format!("body.{field} must be 64 lowercase hex characters")))
}

fn commitment(intent: &Intent) -> Result<Commitment, Violation> {
    let count = intent
        .body
        .get("count")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad_intent("body.count must be a non-negative integer"))?;
    Ok(Commitment {
        count,
        rows_root: root_member(intent, "rows_root")?,
        asset_keys_root: root_member(intent, "asset_keys_root")?,
    })
}

/// The batch id an `invoice.batch` entry names, which names its rows file.
/// The batch's id in its canonical spelling: the platform takes any UUID
/// spelling, and its rows file is named by the canonical one.
pub fn batch_id(intent: &Intent) -> Result<String, Violation> {
    intent
        .body_str("batch_id")
        .ok()
        .and_then(crate::conservation::canonical_uuid)
        .ok_or_else(|| bad_intent("body.batch_id must be a UUID"))
}

/// A row's invoice asset key, derived as the platform derives it (SPEC.md
/// §6: the seller's USCC and the invoice number, normalised).
fn row_key(row: &Value) -> Result<AssetKey, String> {
    let field = |name: &str| {
        row.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{name} must be a string"))
    };
    AssetKey::invoice(field("seller_uscc")?, field("invoice_number")?).map_err(|e| e.to_string())
}

/// Reads one line, stopping a little past `max` bytes so a hostile line
/// costs no more memory than that; `None` at the end, else whether the
/// line was terminated (the `\n` is removed).
pub(crate) fn read_line_within<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(2);
    let n = r.by_ref().take(limit).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    let terminated = buf.last() == Some(&b'\n');
    if terminated {
        buf.pop();
    }
    Ok(Some(terminated))
}

/// Checks one batch entry against its rows file: `Err` when the file is
/// unusable (unreadable, a line that is not canonical JSON or too long),
/// `Ok(Err)` when the rows are not what the entry committed to, and
/// otherwise the batch's assets, one `encumber` per row.
pub fn check_rows<R: Read>(
    intent: &Intent,
    name: &str,
    input: R,
) -> Result<Result<Vec<AssetRef>, Violation>, String> {
    let c = match commitment(intent) {
        Ok(c) => c,
        Err(v) => return Ok(Err(v)),
    };
    let mut input = BufReader::new(input);
    let mut buf = Vec::new();
    let mut leaves = Vec::new();
    let mut keys: Vec<Result<AssetKey, String>> = Vec::new();
    let mut line = 0u64;
    // One row past the committed count is enough to know it is wrong.
    while line <= c.count {
        let Some(terminated) = read_line_within(&mut input, &mut buf, MAX_ROW_BYTES)
            .map_err(|e| format!("{name}: {e}"))?
        else {
            break;
        };
        line += 1;
        if buf.len() > MAX_ROW_BYTES {
            return Err(format!(
                "{name} line {line}: longer than {MAX_ROW_BYTES} bytes"
            ));
        }
        if !terminated {
            return Err(format!("{name} line {line}: no terminating newline"));
        }
        let row = crate::jcs::parse_canonical(&buf)
            .map_err(|e| format!("{name} line {line}: not a row in canonical JSON: {e}"))?;
        leaves.push(leaf_hash(&buf));
        keys.push(row_key(&row));
    }
    let violation = |code, msg: String| Ok(Err(Violation::new(code, format!("{name}: {msg}"))));
    if line != c.count {
        let held = if line > c.count {
            format!("more than {}", c.count)
        } else {
            line.to_string()
        };
        return violation(
            "batch_row_count_mismatch",
            format!("holds {held} rows, the entry commits to {}", c.count),
        );
    }
    let rows_root = root_from_leaves(&leaves);
    if rows_root != c.rows_root {
        return violation(
            "batch_rows_root_mismatch",
            format!(
                "the rows' Merkle root is {}, the entry commits to {}",
                to_hex(&rows_root),
                to_hex(&c.rows_root)
            ),
        );
    }
    let mut sorted = Vec::with_capacity(keys.len());
    for (i, k) in keys.into_iter().enumerate() {
        match k {
            Ok(k) => sorted.push((k, i)),
            Err(e) => return violation("bad_batch_row", format!("row {i}: {e}")),
        }
    }
    sorted.sort_unstable();
    let key_leaves: Vec<Hash> = sorted.iter().map(|(k, _)| leaf_hash(&k.0)).collect();
    let keys_root = root_from_leaves(&key_leaves);
    if keys_root != c.asset_keys_root {
        return violation(
            "batch_asset_keys_root_mismatch",
            format!(
                "the rows' asset keys have Merkle root {}, the entry commits to {}",
                to_hex(&keys_root),
                to_hex(&c.asset_keys_root)
            ),
        );
    }
    if let Some(w) = sorted
        .windows(2)
        .find(|w| matches!(w, [a, b] if a.0 == b.0))
        && let [(key, first), (_, again)] = w
    {
        return violation(
            "batch_duplicate_key",
            format!(
                "rows {} and {} have the same asset key {key}",
                first.min(again),
                first.max(again)
            ),
        );
    }
    Ok(Ok(sorted
        .into_iter()
        .map(|(key, _)| AssetRef {
            key,
            op: AssetOp::Encumber,
        })
        .collect()))
}
