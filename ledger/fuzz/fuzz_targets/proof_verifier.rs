//! Hostile proofs, sizes and indices never panic, and a random proof never
//! verifies against a real tree's root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scf_ledger::hash::{Hash, leaf_hash};
use scf_ledger::merkle::{Tree, verify_consistency, verify_inclusion};

fuzz_target!(|data: &[u8]| {
    if data.len() < 24 {
        return;
    }
    let (head, rest) = data.split_at(24);
    let word = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[i * 8..i * 8 + 8]);
        u64::from_le_bytes(b)
    };
    let (a, b, c) = (word(0), word(1), word(2));
    let proof: Vec<Hash> = rest
        .chunks_exact(32)
        .map(|ch| {
            let mut h = [0u8; 32];
            h.copy_from_slice(ch);
            h
        })
        .collect();
    let leaf = leaf_hash(head);
    let _ = verify_inclusion(&leaf, a, b, &proof, &leaf);
    let _ = verify_consistency(a, b, &leaf, &leaf, &proof);
    // Against a real small tree: a fuzzed proof for a real leaf must not
    // verify unless it is the real proof.
    let n = (c % 64) + 1;
    let mut tree = Tree::new();
    for i in 0..n {
        tree.push(leaf_hash(&i.to_le_bytes()));
    }
    let index = a % n;
    if let (Some(l), Ok(real)) = (tree.leaf(index), tree.inclusion_proof(index, n)) {
        if verify_inclusion(&l, index, n, &proof, &tree.root()).is_ok() {
            assert_eq!(proof, real);
        }
    }
});
