//! RFC 6962 Merkle trees over leaf hashes, with the RFC 9162 §2.1 inclusion
//! and consistency proofs.
//!
//! Two shapes serve two jobs. A [`Frontier`] keeps only the O(log n) roots of
//! the perfect subtrees covering the log, which is all a verifier needs to
//! follow a stream of entries and recompute its root. A [`Tree`] keeps every
//! complete node so that a producer can answer proofs for any earlier size;
//! incomplete right edges are never stored because they change with every
//! append, and are rebuilt on demand from at most log n stored nodes.
//!
//! All size and index arithmetic is on `u64` and never overflows: the verify
//! functions take sizes straight from untrusted input.

use crate::hash::{Hash, empty_root, node_hash};

/// Why a proof could not be produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A tree size larger than the tree that was asked.
    #[error("tree size {size} is larger than the {available} leaves held")]
    SizeOutOfRange { size: u64, available: u64 },
    /// The pair of sizes does not describe an old tree and a newer one.
    #[error("no consistency proof between sizes {old} and {new}: need 0 < old <= new")]
    InvalidSizes { old: u64, new: u64 },
    /// The proof has more or fewer hashes than its sizes call for.
    #[error("proof has {got} hashes, but these sizes need exactly {expected}")]
    WrongProofLength { expected: usize, got: usize },
    /// The proof does not lead to the old root it claims to extend.
    #[error("the proof does not reproduce the old root")]
    OldRootMismatch,
    /// The proof does not lead to the root it was checked against.
    #[error("the proof does not reproduce the expected root")]
    RootMismatch,
}

/// Compact range: the roots of the perfect subtrees covering leaves [0, size), left to right (largest first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    // One node per set bit of `size`, highest bit first.
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Roots of the perfect subtrees, largest (leftmost) first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Rebuild from stored parts; None unless nodes.len() == size.count_ones().
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        (u64::try_from(nodes.len()).ok()? == u64::from(size.count_ones()))
            .then_some(Self { size, nodes })
    }

    /// Append one leaf hash (already leaf-hashed). Amortised O(1), worst O(log n). Never rebuilds.
    ///
    /// A frontier already holding `u64::MAX` leaves cannot count another one,
    /// so the push is dropped rather than wrapping the size.
    pub fn push(&mut self, leaf: Hash) {
        let Some(next) = self.size.checked_add(1) else {
            return;
        };
        // Each trailing one bit of the old size is a perfect subtree that the
        // new leaf completes into one twice its height: binary carry.
        let mut carry = leaf;
        for _ in 0..self.size.trailing_ones() {
            let Some(left) = self.nodes.pop() else { break };
            carry = node_hash(&left, &carry);
        }
        self.nodes.push(carry);
        self.size = next;
    }

    /// RFC 6962 Merkle Tree Hash of the leaves so far; empty_root() for size 0. O(log n).
    pub fn root(&self) -> Hash {
        // MTH splits at the largest power of two, so the tree is the perfect
        // subtrees joined right to left.
        let mut right_first = self.nodes.iter().rev();
        match right_first.next() {
            None => empty_root(),
            Some(&last) => right_first.fold(last, |acc, left| node_hash(left, &acc)),
        }
    }
}

/// A tree that keeps every complete node (level 0 = leaves, level h = roots of complete 2^h subtrees), so it can answer proofs for any size <= its own.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    // `levels[h][i]` is the root of leaves [i·2^h, (i+1)·2^h).
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Append one leaf hash. O(log n) worst case, never rebuilds.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut height = 0;
        loop {
            if self.levels.len() == height {
                self.levels.push(Vec::new());
            }
            let Some(level) = self.levels.get_mut(height) else {
                return;
            };
            level.push(node);
            // An odd count means the new node still waits for its right sibling.
            if level.len() % 2 == 1 {
                return;
            }
            let [.., left, right] = level.as_slice() else {
                return;
            };
            node = node_hash(left, right);
            height += 1;
        }
    }

    /// The leaf hash at `index`, if the tree has that many leaves.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.node(0, index)
    }

    /// Root at the current size.
    pub fn root(&self) -> Hash {
        // Every prefix of the tree is covered by stored nodes, so the fallback
        // is unreachable; it only spares the signature a Result.
        self.range_hash(0, self.size()).unwrap_or_else(empty_root)
    }

    /// Root of the tree of the first `size` leaves, for any size <= self.size(). O(log n).
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_size(size)?;
        self.range(0, size)
    }

    /// Frontier at the current size.
    pub fn frontier(&self) -> Frontier {
        let size = self.size();
        let mut nodes = Vec::with_capacity(size.count_ones() as usize);
        let mut start = 0u64;
        for height in (0..u64::BITS).rev().filter(|&h| size >> h & 1 == 1) {
            nodes.extend(self.node(height, start >> height));
            start += 1 << height;
        }
        Frontier { size, nodes }
    }

    /// RFC 9162 §2.1.3.1 audit path for leaf `index` in the tree of `size` leaves (size <= self.size()).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size)?;
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        // PATH(m, D[start..start+len]) unrolled top-down. Only the first step
        // into a left half has an incomplete sibling; after it every subtree
        // is perfect, so the whole path costs O(log n) hashes.
        let (mut start, mut len, mut m) = (0, size, index);
        let mut proof = Vec::new();
        while len > 1 {
            let k = split(len);
            if m < k {
                proof.push(self.range(start + k, len - k)?);
                len = k;
            } else {
                proof.push(self.range(start, k)?);
                start += k;
                m -= k;
                len -= k;
            }
        }
        // The recursion emits the leaf's sibling last; the proof lists it first.
        proof.reverse();
        Ok(proof)
    }

    /// RFC 9162 §2.1.4.1 consistency proof between sizes old and new (0 < old <= new <= self.size()). old == new gives an empty proof.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(new)?;
        if old == 0 || old > new {
            return Err(ProofError::InvalidSizes { old, new });
        }
        // SUBPROOF(m, D[start..start+len], b) unrolled top-down; `on_left_edge`
        // is the RFC's b: while true, the old tree's root is the current
        // subtree's hash, which the verifier already holds.
        let (mut start, mut len, mut m, mut on_left_edge) = (0, new, old, true);
        let mut proof = Vec::new();
        while m != len {
            let k = split(len);
            if m <= k {
                proof.push(self.range(start + k, len - k)?);
                len = k;
            } else {
                proof.push(self.range(start, k)?);
                start += k;
                m -= k;
                len -= k;
                on_left_edge = false;
            }
        }
        if !on_left_edge {
            proof.push(self.range(start, m)?);
        }
        proof.reverse();
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        let available = self.size();
        if size > available {
            return Err(ProofError::SizeOutOfRange { size, available });
        }
        Ok(())
    }

    fn node(&self, height: u32, index: u64) -> Option<Hash> {
        let level = self.levels.get(usize::try_from(height).ok()?)?;
        level.get(usize::try_from(index).ok()?).copied()
    }

    fn range(&self, start: u64, len: u64) -> Result<Hash, ProofError> {
        self.range_hash(start, len)
            .ok_or(ProofError::SizeOutOfRange {
                size: start.saturating_add(len),
                available: self.size(),
            })
    }

    /// MTH of leaves [start, start + len). Every range the RFC recursion
    /// visits starts at a multiple of its largest power of two, so it splits
    /// into stored perfect subtrees exactly as a frontier does; other ranges
    /// are refused rather than hashed wrongly.
    fn range_hash(&self, start: u64, len: u64) -> Option<Hash> {
        if len
            .checked_ilog2()
            .is_some_and(|top| start.trailing_zeros() < top)
        {
            return None;
        }
        let mut end = start.checked_add(len)?;
        let mut acc: Option<Hash> = None;
        // Smallest (rightmost) subtree first, so the fold needs no buffer.
        let mut bits = len;
        while bits != 0 {
            let height = bits.trailing_zeros();
            bits &= bits - 1;
            end -= 1 << height;
            let node = self.node(height, end >> height)?;
            acc = Some(acc.map_or(node, |right| node_hash(&node, &right)));
        }
        Some(acc.unwrap_or_else(empty_root))
    }
}

/// RFC 9162 §2.1.3.2 verification. Ok(()) iff the proof is valid.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let last = size - 1;
    let expected = path_len(index, last);
    let wrong_length = || ProofError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length());
    }
    let (_, computed) = chain(index, last, *leaf, proof, false).ok_or_else(wrong_length)?;
    if computed != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2 verification.
///
/// Equal sizes need an empty proof and equal roots. Old size 0 needs an empty
/// proof and `old_root == empty_root()`: the empty tree is a prefix of every
/// tree, so there is nothing else to check.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::InvalidSizes {
            old: old_size,
            new: new_size,
        });
    }
    let wrong_length = |expected| ProofError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(wrong_length(0));
        }
        if old_size == 0 && *old_root != empty_root() {
            return Err(ProofError::OldRootMismatch);
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }

    // The proof is the audit path of the old tree's last leaf, minus the
    // levels below the perfect subtree holding that leaf (whose hash seeds
    // the chain), plus that seed unless it is the old root itself.
    let (fn0, sn0) = (old_size - 1, new_size - 1);
    let shift = old_size.trailing_zeros();
    let seed_given = !old_size.is_power_of_two();
    let expected = path_len(fn0, sn0).saturating_sub(shift as usize) + usize::from(seed_given);
    if proof.len() != expected {
        return Err(wrong_length(expected));
    }
    let (seed, path) = match (seed_given, proof.split_first()) {
        (false, _) => (*old_root, proof),
        (true, Some((first, rest))) => (*first, rest),
        (true, None) => return Err(wrong_length(expected)),
    };
    let (computed_old, computed_new) = chain(fn0 >> shift, sn0 >> shift, seed, path, true)
        .ok_or_else(|| wrong_length(expected))?;
    if computed_old != Some(*old_root) {
        return Err(ProofError::OldRootMismatch);
    }
    if computed_new != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Reference MTH by the RFC's recursive definition (slow; for tests and tiny inputs). k = largest power of two strictly less than n.
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [only] => *only,
        _ => {
            let k = split(leaves.len() as u64) as usize;
            match leaves.split_at_checked(k) {
                Some((left, right)) => node_hash(&root_from_leaves(left), &root_from_leaves(right)),
                None => empty_root(),
            }
        }
    }
}

/// Largest power of two strictly less than `n`, the RFC's split point; 0 for
/// n <= 1, where there is nothing to split.
fn split(n: u64) -> u64 {
    n.saturating_sub(1)
        .checked_ilog2()
        .map_or(0, |bit| 1 << bit)
}

/// Length of the audit path of leaf `index` in a tree whose last leaf is
/// `last`: one sibling per level below the point where the two paths from the
/// root diverge, then one per left subtree along the right border above it.
fn path_len(index: u64, last: u64) -> usize {
    let inner = u64::BITS - (index ^ last).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The loop shared by RFC 9162 §2.1.3.2 and §2.1.4.2. `fn_` walks the path of
/// the proven node and `sn` that of the new tree's last leaf; a proof hash
/// lies on the left exactly when `fn_` is a right child or the rightmost node
/// of its level. When `track_old` is set, the first return value folds only
/// the left-hand hashes, which is the old tree's root in a consistency proof.
/// None if the path does not end exactly at the root.
fn chain(
    mut fn_: u64,
    mut sn: u64,
    seed: Hash,
    path: &[Hash],
    track_old: bool,
) -> Option<(Option<Hash>, Hash)> {
    let mut old = track_old.then_some(seed);
    let mut new = seed;
    for c in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            old = old.map(|o| node_hash(c, &o));
            new = node_hash(c, &new);
            // A rightmost node with no right sibling is promoted unchanged
            // through the levels where the tree's right edge is ragged.
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            new = node_hash(&new, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some((old, new))
}
