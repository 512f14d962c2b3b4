//! RFC 6962 / 9162 Merkle tree: published vectors, exhaustive checks of every
//! tree, proof and consistency pair up to 256 leaves against the RFC's
//! recursive definitions, and property tests on large and hostile inputs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use proptest::prelude::*;
use scf_ledger::hash::{Hash, empty_root, from_hex, leaf_hash, node_hash};
use scf_ledger::merkle::{
    Frontier, ProofError, Tree, root_from_leaves, verify_consistency, verify_inclusion,
};

fn h(s: &str) -> Hash {
    from_hex::<32>(s).expect("32-byte lowercase hex")
}

fn hs(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|s| h(s)).collect()
}

// ---------------------------------------------------------------------------
// Published vectors.
//
// Source: github.com/transparency-dev/merkle (Trillian's successor), files
// testonly/constants.go (LeafInputs, NodeHashes, RootHashes, CompactTrees) and
// proof/verify_test.go (inclusionProofs, consistencyProofs). They are the
// vectors of google/certificate-transparency's merkle_tree_test.cc.
// ---------------------------------------------------------------------------

const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the trees of the first n leaf inputs, n = 0..=8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Every complete node of the 8-leaf tree, by level then position.
const NODE_HASHES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// Expected frontiers (Go: CompactTrees) as (level, position) into NODE_HASHES.
const COMPACT: [&[(usize, usize)]; 9] = [
    &[],
    &[(0, 0)],
    &[(1, 0)],
    &[(1, 0), (0, 2)],
    &[(2, 0)],
    &[(2, 0), (0, 4)],
    &[(2, 0), (1, 2)],
    &[(2, 0), (1, 2), (0, 6)],
    &[(3, 0)],
];

/// (leaf index, tree size, audit path). Go numbers the leaves from 1; these
/// indexes are converted to 0-based.
const INCLUSION_VECTORS: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, consistency proof).
const CONSISTENCY_VECTORS: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn published_leaves() -> Vec<Hash> {
    LEAF_INPUTS
        .iter()
        .map(|s| leaf_hash(&hex::decode(s).unwrap()))
        .collect()
}

fn published_tree() -> Tree {
    let mut tree = Tree::new();
    for leaf in published_leaves() {
        tree.push(leaf);
    }
    tree
}

#[test]
fn published_roots_nodes_and_frontiers() {
    let leaves = published_leaves();
    assert_eq!(
        ROOTS[0],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(empty_root(), h(ROOTS[0]));
    let mut tree = Tree::new();
    let mut frontier = Frontier::new();
    for n in 0..=8 {
        let want = h(ROOTS[n]);
        assert_eq!(root_from_leaves(&leaves[..n]), want, "reference, size {n}");
        assert_eq!(frontier.root(), want, "frontier, size {n}");
        assert_eq!(tree.root(), want, "tree, size {n}");
        assert_eq!(tree.root_at(n as u64), Ok(want));
        let compact: Vec<Hash> = COMPACT[n]
            .iter()
            .map(|&(l, i)| h(NODE_HASHES[l][i]))
            .collect();
        assert_eq!(
            frontier.nodes(),
            compact.as_slice(),
            "frontier nodes, size {n}"
        );
        assert_eq!(tree.frontier(), frontier);
        if let Some(&leaf) = leaves.get(n) {
            tree.push(leaf);
            frontier.push(leaf);
        }
    }
    for (level, nodes) in NODE_HASHES.iter().enumerate() {
        let width = 1 << level;
        for (i, node) in nodes.iter().enumerate() {
            let span = &leaves[i * width..(i + 1) * width];
            assert_eq!(root_from_leaves(span), h(node), "node ({level}, {i})");
        }
    }
    for (i, leaf) in leaves.iter().enumerate() {
        assert_eq!(tree.leaf(i as u64), Some(*leaf));
        assert_eq!(*leaf, h(NODE_HASHES[0][i]));
    }
    assert_eq!(tree.leaf(8), None);
}

#[test]
fn published_inclusion_proofs() {
    let tree = published_tree();
    let leaves = published_leaves();
    for (index, size, path) in INCLUSION_VECTORS {
        let want = hs(path);
        assert_eq!(
            tree.inclusion_proof(index, size),
            Ok(want.clone()),
            "({index}, {size})"
        );
        let root = h(ROOTS[size as usize]);
        assert_eq!(
            verify_inclusion(&leaves[index as usize], index, size, &want, &root),
            Ok(())
        );
        assert_inclusion_tamper_fails(&leaves[index as usize], index, size, &want, &root, true);
    }
}

#[test]
fn published_consistency_proofs() {
    let tree = published_tree();
    for (old, new, path) in CONSISTENCY_VECTORS {
        let want = hs(path);
        assert_eq!(
            tree.consistency_proof(old, new),
            Ok(want.clone()),
            "({old}, {new})"
        );
        let (r1, r2) = (h(ROOTS[old as usize]), h(ROOTS[new as usize]));
        assert_eq!(verify_consistency(old, new, &r1, &r2, &want), Ok(()));
        assert_consistency_tamper_fails(old, new, &r1, &r2, &want, true);
    }
}

/// The edge cases of transparency-dev's TestVerifyInclusion and
/// TestVerifyConsistency. One deliberate difference: from the empty tree Go
/// accepts any old root, this crate only the empty root.
#[test]
fn published_verify_edge_cases() {
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    let empty = empty_root();
    for (index, size) in [(0, 0), (0, 1), (1, 0), (2, 1)] {
        assert!(verify_inclusion(&some, index, size, &[], &[0; 32]).is_err());
        assert!(verify_inclusion(&[0; 32], index, size, &[], &empty).is_err());
        assert!(verify_inclusion(&some, index, size, &[], &empty).is_err());
    }
    let leaf = leaf_hash(b"data");
    assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
    assert_eq!(
        verify_inclusion(&leaf, 0, 1, &[], &some),
        Err(ProofError::RootMismatch)
    );

    let (r1, r2) = (h(ROOTS[1]), h(ROOTS[2]));
    let cases: [(u64, u64, Hash, Hash, Vec<Hash>, bool); 14] = [
        (0, 0, r1, r2, vec![], false),
        (1, 1, r1, r2, vec![], false),
        (0, 0, empty, empty, vec![], true),
        (0, 1, empty, r2, vec![], true),
        (0, 1, r1, r2, vec![], false),
        (1, 1, r2, r2, vec![], true),
        (1, 0, r1, r2, vec![], false),
        (2, 1, r1, r2, vec![], false),
        (1, 2, r1, r2, vec![], false),
        (0, 0, empty, r2, vec![], false),
        (1, 1, empty, r2, vec![], false),
        (0, 0, empty, empty, vec![empty], false),
        (0, 1, empty, empty, vec![empty], false),
        (1, 1, empty, empty, vec![empty], false),
    ];
    for (old, new, a, b, proof, ok) in cases {
        let got = verify_consistency(old, new, &a, &b, &proof);
        assert_eq!(got.is_ok(), ok, "({old}, {new}): {got:?}");
    }
}

// ---------------------------------------------------------------------------
// Reference implementation: the RFC 9162 recursive definitions, memoised so
// that checking every proof of every tree up to 256 leaves stays cheap.
// ---------------------------------------------------------------------------

struct Reference<'a> {
    leaves: &'a [Hash],
    memo: RefCell<HashMap<(usize, usize), Hash>>,
}

impl<'a> Reference<'a> {
    fn new(leaves: &'a [Hash]) -> Self {
        Self {
            leaves,
            memo: RefCell::default(),
        }
    }

    /// Largest power of two strictly less than n, by counting.
    fn k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn mth(&self, lo: usize, hi: usize) -> Hash {
        if let Some(hash) = self.memo.borrow().get(&(lo, hi)) {
            return *hash;
        }
        let hash = root_from_leaves(&self.leaves[lo..hi]);
        self.memo.borrow_mut().insert((lo, hi), hash);
        hash
    }

    fn path(&self, m: usize, lo: usize, hi: usize) -> Vec<Hash> {
        let n = hi - lo;
        if n == 1 {
            return vec![];
        }
        let k = Self::k(n);
        let (mut sub, sibling) = if m < k {
            (self.path(m, lo, lo + k), self.mth(lo + k, hi))
        } else {
            (self.path(m - k, lo + k, hi), self.mth(lo, lo + k))
        };
        sub.push(sibling);
        sub
    }

    fn subproof(&self, m: usize, lo: usize, hi: usize, b: bool) -> Vec<Hash> {
        let n = hi - lo;
        if m == n {
            return if b { vec![] } else { vec![self.mth(lo, hi)] };
        }
        let k = Self::k(n);
        let (mut sub, other) = if m <= k {
            (self.subproof(m, lo, lo + k, b), self.mth(lo + k, hi))
        } else {
            (
                self.subproof(m - k, lo + k, hi, false),
                self.mth(lo, lo + k),
            )
        };
        sub.push(other);
        sub
    }
}

const SMALL: usize = 256;

struct Small {
    leaves: Vec<Hash>,
    tree: Tree,
    /// roots[n] = MTH of the first n leaves, by the reference definition.
    roots: Vec<Hash>,
}

fn small() -> &'static Small {
    static SMALL_TREE: OnceLock<Small> = OnceLock::new();
    SMALL_TREE.get_or_init(|| {
        let leaves: Vec<Hash> = (0..SMALL as u64)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        let mut tree = Tree::new();
        leaves.iter().for_each(|&l| tree.push(l));
        let reference = Reference::new(&leaves);
        let roots = (0..=SMALL).map(|n| reference.mth(0, n)).collect();
        Small {
            leaves,
            tree,
            roots,
        }
    })
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut out = *hash;
    out[bit / 8 % 32] ^= 1 << (bit % 8);
    out
}

/// Every way of damaging a valid inclusion proof must be refused. Each
/// altered element costs a full recomputation, so unless `every_element` is
/// set only one element is altered, chosen by the caller to rotate.
fn assert_inclusion_tamper_fails(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
    every_element: bool,
) {
    let refused = |what: &str, leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash| {
        let got = verify_inclusion(leaf, index, size, proof, root);
        assert!(got.is_err(), "{what} accepted for ({index}, {size})");
    };
    refused("other leaf", &flip(leaf, 3), index, size, proof, root);
    refused("other root", leaf, index, size, proof, &flip(root, 200));
    if index > 0 {
        refused("index - 1", leaf, index - 1, size, proof, root);
    }
    refused("index + 1", leaf, index + 1, size, proof, root);
    refused("index ^ 2", leaf, index ^ 2, size, proof, root);
    refused("size * 2", leaf, index, size * 2, proof, root);
    refused("size / 2", leaf, index, size / 2, proof, root);
    let positions: Vec<usize> = match proof.len() {
        0 => vec![],
        len if every_element => (0..len).collect(),
        len => vec![(index + size) as usize % len],
    };
    for i in positions {
        let mut bad = proof.to_vec();
        bad[i] = flip(&bad[i], 8 * i + 3);
        refused("altered element", leaf, index, size, &bad, root);
    }
    if let Some((_, shorter)) = proof.split_last() {
        refused("truncated", leaf, index, size, shorter, root);
        refused("first dropped", leaf, index, size, &proof[1..], root);
    }
    let mut longer = proof.to_vec();
    longer.push(*root);
    refused("extended", leaf, index, size, &longer, root);
    let mut longer = vec![[0; 32]];
    longer.extend_from_slice(proof);
    refused("prepended", leaf, index, size, &longer, root);
}

/// Every way of damaging a valid consistency proof must be refused; altered
/// elements as for inclusion.
fn assert_consistency_tamper_fails(
    old: u64,
    new: u64,
    r1: &Hash,
    r2: &Hash,
    proof: &[Hash],
    every_element: bool,
) {
    if old == new {
        assert!(verify_consistency(old, new, r1, &flip(r2, 1), proof).is_err());
        assert!(verify_consistency(old, new, r1, r2, &[*r1]).is_err());
        return;
    }
    let refused = |what: &str, old: u64, new: u64, r1: &Hash, r2: &Hash, proof: &[Hash]| {
        let got = verify_consistency(old, new, r1, r2, proof);
        assert!(got.is_err(), "{what} accepted for ({old}, {new})");
    };
    refused("old - 1", old - 1, new, r1, r2, proof);
    refused("old + 1", old + 1, new, r1, r2, proof);
    refused("old ^ 2", old ^ 2, new, r1, r2, proof);
    refused("new * 2", old, new * 2, r1, r2, proof);
    refused("new / 2", old, new / 2, r1, r2, proof);
    refused("other old root", old, new, &flip(r1, 77), r2, proof);
    refused("other new root", old, new, r1, &flip(r2, 78), proof);
    refused("swapped roots", old, new, r2, r1, proof);
    refused("empty proof", old, new, r1, r2, &[]);
    let positions: Vec<usize> = if every_element {
        (0..proof.len()).collect()
    } else {
        vec![(old + new) as usize % proof.len()]
    };
    for i in positions {
        let mut bad = proof.to_vec();
        bad[i] = flip(&bad[i], 8 * i + 4);
        refused("altered element", old, new, r1, r2, &bad);
    }
    if let Some((_, shorter)) = proof.split_last() {
        refused("truncated", old, new, r1, r2, shorter);
        refused("first dropped", old, new, r1, r2, &proof[1..]);
    }
    for extra in [*r1, *r2, [0; 32]] {
        let mut longer = proof.to_vec();
        longer.push(extra);
        refused("extended", old, new, r1, r2, &longer);
        let mut longer = vec![extra];
        longer.extend_from_slice(proof);
        refused("prepended", old, new, r1, r2, &longer);
    }
}

// ---------------------------------------------------------------------------
// Exhaustive checks up to 256 leaves.
// ---------------------------------------------------------------------------

#[test]
fn every_size_up_to_256_frontier_tree_and_reference_agree() {
    let s = small();
    let mut tree = Tree::new();
    let mut frontier = Frontier::new();
    for n in 0..=SMALL {
        assert_eq!(root_from_leaves(&s.leaves[..n]), s.roots[n], "size {n}");
        assert_eq!(frontier.root(), s.roots[n], "frontier, size {n}");
        assert_eq!(tree.root(), s.roots[n], "tree, size {n}");
        assert_eq!(tree.size(), n as u64);
        assert_eq!(frontier.size(), n as u64);
        assert_eq!(tree.frontier(), frontier, "size {n}");
        for m in 0..=n {
            assert_eq!(
                tree.root_at(m as u64),
                Ok(s.roots[m]),
                "root_at({m}) at size {n}"
            );
        }
        if let Some(&leaf) = s.leaves.get(n) {
            tree.push(leaf);
            frontier.push(leaf);
        }
    }
    for (i, leaf) in s.leaves.iter().enumerate() {
        assert_eq!(s.tree.leaf(i as u64), Some(*leaf));
    }
}

#[test]
fn every_inclusion_proof_up_to_256() {
    let s = small();
    let reference = Reference::new(&s.leaves);
    for size in 1..=SMALL {
        let root = &s.roots[size];
        for index in 0..size {
            let proof = s.tree.inclusion_proof(index as u64, size as u64).unwrap();
            assert_eq!(proof, reference.path(index, 0, size), "({index}, {size})");
            let leaf = &s.leaves[index];
            let (i, n) = (index as u64, size as u64);
            assert_eq!(
                verify_inclusion(leaf, i, n, &proof, root),
                Ok(()),
                "({index}, {size})"
            );
            assert_inclusion_tamper_fails(leaf, i, n, &proof, root, size <= 64);
        }
    }
}

#[test]
fn every_consistency_proof_up_to_256() {
    let s = small();
    let reference = Reference::new(&s.leaves);
    for new in 1..=SMALL {
        for old in 1..=new {
            let proof = s.tree.consistency_proof(old as u64, new as u64).unwrap();
            assert_eq!(
                proof,
                reference.subproof(old, 0, new, true),
                "({old}, {new})"
            );
            let (r1, r2) = (&s.roots[old], &s.roots[new]);
            let (m, n) = (old as u64, new as u64);
            assert_eq!(
                verify_consistency(m, n, r1, r2, &proof),
                Ok(()),
                "({old}, {new})"
            );
            assert_consistency_tamper_fails(m, n, r1, r2, &proof, new <= 64);
        }
        // From the empty tree: nothing to prove, but the old root must be empty.
        assert_eq!(
            verify_consistency(0, new as u64, &empty_root(), &s.roots[new], &[]),
            Ok(())
        );
    }
}

#[test]
fn frontier_from_parts_round_trip() {
    let s = small();
    let mut frontier = Frontier::new();
    for n in 0..=SMALL {
        let restored = Frontier::from_parts(frontier.size(), frontier.nodes().to_vec());
        assert_eq!(restored.as_ref(), Some(&frontier));
        let mut more = frontier.nodes().to_vec();
        more.push([7; 32]);
        assert_eq!(Frontier::from_parts(frontier.size(), more), None);
        if let Some((_, fewer)) = frontier.nodes().split_last() {
            assert_eq!(Frontier::from_parts(frontier.size(), fewer.to_vec()), None);
        }
        // A restored frontier carries on exactly like the original.
        let mut resumed = restored.unwrap();
        for &leaf in &s.leaves[n..(n + 5).min(SMALL)] {
            resumed.push(leaf);
        }
        let end = (n + 5).min(SMALL);
        assert_eq!(resumed.root(), s.roots[end], "resumed at {n}");
        if let Some(&leaf) = s.leaves.get(n) {
            frontier.push(leaf);
        }
    }
    assert_eq!(Frontier::from_parts(0, vec![]), Some(Frontier::new()));
    assert_eq!(Frontier::from_parts(1, vec![]), None);
    assert_eq!(Frontier::from_parts(3, vec![[1; 32]]), None);
}

#[test]
fn frontier_at_u64_max_does_not_overflow() {
    let mut full = Frontier::from_parts(u64::MAX, vec![[3; 32]; 64]).unwrap();
    let root = full.root();
    full.push([4; 32]);
    assert_eq!(full.size(), u64::MAX);
    assert_eq!(full.root(), root);

    let mut almost = Frontier::from_parts(u64::MAX - 1, vec![[3; 32]; 63]).unwrap();
    almost.push([4; 32]);
    assert_eq!(almost.size(), u64::MAX);
    assert_eq!(almost.nodes().len(), 64);
}

#[test]
fn tree_refuses_out_of_range_requests() {
    let empty = Tree::new();
    assert_eq!(empty.size(), 0);
    assert_eq!(empty.root(), empty_root());
    assert_eq!(empty.root_at(0), Ok(empty_root()));
    assert_eq!(empty.frontier(), Frontier::new());
    assert_eq!(empty.leaf(0), None);
    assert_eq!(
        empty.inclusion_proof(0, 0),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        empty.consistency_proof(0, 0),
        Err(ProofError::InvalidSizes { old: 0, new: 0 })
    );

    let tree = published_tree();
    let too_big = |size| ProofError::SizeOutOfRange { size, available: 8 };
    assert_eq!(tree.root_at(9), Err(too_big(9)));
    assert_eq!(tree.root_at(u64::MAX), Err(too_big(u64::MAX)));
    assert_eq!(tree.leaf(u64::MAX), None);
    assert_eq!(tree.inclusion_proof(0, 9), Err(too_big(9)));
    assert_eq!(
        tree.inclusion_proof(u64::MAX, u64::MAX),
        Err(too_big(u64::MAX))
    );
    assert_eq!(
        tree.inclusion_proof(8, 8),
        Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
    );
    assert_eq!(
        tree.inclusion_proof(u64::MAX, 3),
        Err(ProofError::IndexOutOfRange {
            index: u64::MAX,
            size: 3
        })
    );
    assert_eq!(tree.consistency_proof(1, 9), Err(too_big(9)));
    assert_eq!(
        tree.consistency_proof(u64::MAX, u64::MAX),
        Err(too_big(u64::MAX))
    );
    assert_eq!(
        tree.consistency_proof(0, 8),
        Err(ProofError::InvalidSizes { old: 0, new: 8 })
    );
    assert_eq!(
        tree.consistency_proof(5, 4),
        Err(ProofError::InvalidSizes { old: 5, new: 4 })
    );
    assert_eq!(tree.consistency_proof(8, 8), Ok(vec![]));
}

#[test]
fn verify_handles_extreme_sizes() {
    let x = [9; 32];
    let max = u64::MAX;
    assert_eq!(
        verify_inclusion(&x, max, max, &[], &x),
        Err(ProofError::IndexOutOfRange {
            index: max,
            size: max
        })
    );
    // The last leaf of a tree of 2^64 - 1 leaves sits under 63 left siblings.
    let garbage = vec![x; 63];
    assert_eq!(
        verify_inclusion(&x, max - 1, max, &garbage, &x),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_inclusion(&x, max - 1, max, &garbage[1..], &x),
        Err(ProofError::WrongProofLength {
            expected: 63,
            got: 62
        })
    );
    assert_eq!(
        verify_inclusion(&x, 0, max, &vec![x; 100_000], &x),
        Err(ProofError::WrongProofLength {
            expected: 64,
            got: 100_000
        })
    );
    // Leaf 2^63 is the first of the right half: 63 levels below it, and the
    // left half above.
    assert_eq!(
        verify_inclusion(&x, 1 << 63, max, &vec![x; 64], &x),
        Err(ProofError::RootMismatch)
    );
    for (old, new) in [
        (max - 1, max),
        (1, max),
        (1 << 63, max),
        (max >> 1, max),
        (3, 1 << 63),
    ] {
        let got = verify_consistency(old, new, &x, &x, &vec![x; 200]);
        assert!(
            matches!(got, Err(ProofError::WrongProofLength { .. })),
            "{got:?}"
        );
        let want = tdev_consistency_len(old, new);
        let got = verify_consistency(old, new, &x, &x, &vec![x; want]);
        assert!(got.is_err(), "garbage accepted at ({old}, {new})");
    }
    assert_eq!(verify_consistency(max, max, &x, &x, &[]), Ok(()));
    assert_eq!(
        verify_consistency(max, 0, &x, &x, &[]),
        Err(ProofError::InvalidSizes { old: max, new: 0 })
    );
}

#[test]
fn error_messages_name_the_numbers() {
    let text = ProofError::IndexOutOfRange { index: 12, size: 7 }.to_string();
    assert!(text.contains("12") && text.contains('7'), "{text}");
    let text = ProofError::WrongProofLength {
        expected: 5,
        got: 9,
    }
    .to_string();
    assert!(text.contains('5') && text.contains('9'), "{text}");
    let text = ProofError::SizeOutOfRange {
        size: 40,
        available: 30,
    }
    .to_string();
    assert!(text.contains("40") && text.contains("30"), "{text}");
    let text = ProofError::InvalidSizes { old: 4, new: 2 }.to_string();
    assert!(text.contains('4') && text.contains('2'), "{text}");
    assert!(!ProofError::RootMismatch.to_string().is_empty());
    assert!(!ProofError::OldRootMismatch.to_string().is_empty());
}

// ---------------------------------------------------------------------------
// An independent verifier, transcribed from transparency-dev/merkle
// proof/verify.go (decompInclProof, chainInner, chainInnerRight,
// chainBorderRight). It splits the path by bit arithmetic instead of the RFC
// loop, so agreement between the two at arbitrary u64 sizes is evidence that
// both are right.
// ---------------------------------------------------------------------------

fn tdev_decomp(index: u64, size: u64) -> (usize, usize) {
    let inner = (u64::BITS - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = index.checked_shr(inner as u32).unwrap_or(0).count_ones() as usize;
    (inner, border)
}

fn tdev_chain_inner(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, p) in proof.iter().enumerate() {
        seed = if (index >> i) & 1 == 0 {
            node_hash(&seed, p)
        } else {
            node_hash(p, &seed)
        };
    }
    seed
}

fn tdev_chain_inner_right(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, p) in proof.iter().enumerate() {
        if (index >> i) & 1 == 1 {
            seed = node_hash(p, &seed);
        }
    }
    seed
}

fn tdev_chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, p| node_hash(p, &acc))
}

fn tdev_inclusion_len(index: u64, size: u64) -> usize {
    let (inner, border) = tdev_decomp(index, size);
    inner + border
}

fn tdev_inclusion_root(leaf: &Hash, index: u64, size: u64, proof: &[Hash]) -> Hash {
    let (inner, _) = tdev_decomp(index, size);
    let hash = tdev_chain_inner(*leaf, &proof[..inner], index);
    tdev_chain_border_right(hash, &proof[inner..])
}

fn tdev_consistency_len(old: u64, new: u64) -> usize {
    let (inner, border) = tdev_decomp(old - 1, new);
    let shift = old.trailing_zeros() as usize;
    usize::from(!old.is_power_of_two()) + inner - shift + border
}

/// The (old, new) roots a consistency proof of the right length commits to;
/// for a power-of-two old size the old root is the seed and is passed in.
fn tdev_consistency_roots(old: u64, new: u64, old_root: Hash, proof: &[Hash]) -> (Hash, Hash) {
    let (inner, _) = tdev_decomp(old - 1, new);
    let shift = old.trailing_zeros() as usize;
    let inner = inner - shift;
    let (seed, proof) = if old.is_power_of_two() {
        (old_root, proof)
    } else {
        (proof[0], &proof[1..])
    };
    let mask = (old - 1) >> shift;
    let hash1 = tdev_chain_inner_right(seed, &proof[..inner], mask);
    let hash1 = tdev_chain_border_right(hash1, &proof[inner..]);
    let hash2 = tdev_chain_inner(seed, &proof[..inner], mask);
    let hash2 = tdev_chain_border_right(hash2, &proof[inner..]);
    (hash1, hash2)
}

// ---------------------------------------------------------------------------
// Property tests.
// ---------------------------------------------------------------------------

const LARGE: u64 = (1 << 17) + 4321;

struct Large {
    tree: Tree,
    /// (size, frontier root) sampled while the frontier grew alongside.
    checkpoints: Vec<(u64, Hash)>,
    frontier: Frontier,
}

fn large() -> &'static Large {
    static LARGE_TREE: OnceLock<Large> = OnceLock::new();
    LARGE_TREE.get_or_init(|| {
        let mut tree = Tree::new();
        let mut frontier = Frontier::new();
        let mut checkpoints = Vec::new();
        for i in 0..LARGE {
            let leaf = leaf_hash(&i.to_le_bytes());
            tree.push(leaf);
            frontier.push(leaf);
            if i % 997 == 0 || i + 1 == LARGE {
                checkpoints.push((i + 1, frontier.root()));
            }
        }
        Large {
            tree,
            checkpoints,
            frontier,
        }
    })
}

#[test]
fn large_tree_matches_frontier_at_checkpoints() {
    let l = large();
    assert_eq!(l.tree.size(), LARGE);
    assert_eq!(l.tree.frontier(), l.frontier);
    assert_eq!(l.tree.root(), l.frontier.root());
    for &(size, root) in &l.checkpoints {
        assert_eq!(l.tree.root_at(size), Ok(root), "size {size}");
    }
}

fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>()
}

/// Sizes that favour the edges: tiny, around powers of two, and near u64::MAX.
fn edgy_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..20u64,
        (0..64u32, -2i64..=2).prop_map(|(b, d)| (1u64 << b).wrapping_add_signed(d)),
        u64::MAX - 20..=u64::MAX,
        any::<u64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn large_inclusion_proofs_verify(size in 1..=LARGE, pick in any::<u64>(), bit in 0..256usize) {
        let l = large();
        let index = pick % size;
        let root = l.tree.root_at(size).unwrap();
        let leaf = l.tree.leaf(index).unwrap();
        let proof = l.tree.inclusion_proof(index, size).unwrap();
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
        prop_assert_eq!(tdev_inclusion_root(&leaf, index, size, &proof), root);
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = bit % bad.len();
            bad[i] = flip(&bad[i], bit);
            prop_assert_eq!(
                verify_inclusion(&leaf, index, size, &bad, &root),
                Err(ProofError::RootMismatch)
            );
        }
    }

    #[test]
    fn large_consistency_proofs_verify(a in 1..=LARGE, b in 1..=LARGE, bit in 0..256usize) {
        let l = large();
        let (old, new) = (a.min(b), a.max(b));
        let (r1, r2) = (l.tree.root_at(old).unwrap(), l.tree.root_at(new).unwrap());
        let proof = l.tree.consistency_proof(old, new).unwrap();
        prop_assert_eq!(verify_consistency(old, new, &r1, &r2, &proof), Ok(()));
        if old < new {
            prop_assert_eq!(tdev_consistency_roots(old, new, r1, &proof), (r1, r2));
            let mut bad = proof.clone();
            let i = bit % bad.len();
            bad[i] = flip(&bad[i], bit);
            prop_assert!(verify_consistency(old, new, &r1, &r2, &bad).is_err());
        }
    }

    /// At sizes no tree here could hold, a proof of the right length whose
    /// root the independent verifier computes must verify, and no other.
    #[test]
    fn huge_inclusion_agrees_with_independent_verifier(
        size in edgy_u64().prop_filter("non-empty", |&s| s > 0),
        pick in any::<u64>(),
        leaf in hash(),
        seed in hash(),
        bit in 0..256usize,
    ) {
        let index = pick % size;
        let len = tdev_inclusion_len(index, size);
        let proof: Vec<Hash> = (0..len).map(|i| node_hash(&seed, &[i as u8; 32])).collect();
        let root = tdev_inclusion_root(&leaf, index, size, &proof);
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
        prop_assert_eq!(
            verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root),
            Err(ProofError::RootMismatch)
        );
        if let Some((_, shorter)) = proof.split_last() {
            prop_assert!(verify_inclusion(&leaf, index, size, shorter, &root).is_err());
        }
        let mut longer = proof.clone();
        longer.push(seed);
        prop_assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
    }

    #[test]
    fn huge_consistency_agrees_with_independent_verifier(
        a in edgy_u64().prop_filter("non-empty", |&s| s > 0),
        b in edgy_u64().prop_filter("non-empty", |&s| s > 0),
        old_seed in hash(),
        seed in hash(),
        bit in 0..256usize,
    ) {
        prop_assume!(a != b);
        let (old, new) = (a.min(b), a.max(b));
        let len = tdev_consistency_len(old, new);
        let proof: Vec<Hash> = (0..len).map(|i| node_hash(&seed, &[i as u8; 32])).collect();
        let (r1, r2) = tdev_consistency_roots(old, new, old_seed, &proof);
        prop_assert_eq!(verify_consistency(old, new, &r1, &r2, &proof), Ok(()));
        prop_assert!(verify_consistency(old, new, &r1, &flip(&r2, bit), &proof).is_err());
        prop_assert!(verify_consistency(old, new, &flip(&r1, bit), &r2, &proof).is_err());
        let mut longer = proof.clone();
        longer.push(seed);
        prop_assert!(verify_consistency(old, new, &r1, &r2, &longer).is_err());
        if let Some((_, shorter)) = proof.split_last() {
            prop_assert!(verify_consistency(old, new, &r1, &r2, shorter).is_err());
        }
    }

    /// Random proofs never panic and never verify.
    #[test]
    fn garbage_inclusion_is_refused(
        leaf in hash(),
        index in edgy_u64(),
        size in edgy_u64(),
        proof in prop::collection::vec(hash(), 0..80),
        root in hash(),
    ) {
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_err());
    }

    #[test]
    fn garbage_consistency_is_refused(
        old in edgy_u64(),
        new in edgy_u64(),
        r1 in hash(),
        r2 in hash(),
        proof in prop::collection::vec(hash(), 0..80),
    ) {
        // The only statements that need no proof: equal trees, or growth from empty.
        let trivially_true = proof.is_empty()
            && old <= new
            && (old == 0 || old == new)
            && (old != 0 || r1 == empty_root())
            && (old != new || r1 == r2);
        let got = verify_consistency(old, new, &r1, &r2, &proof);
        prop_assert_eq!(got.is_ok(), trivially_true, "{:?}", got);
    }
}
