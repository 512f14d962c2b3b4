//! The sequencer's two-step append and its restore from stored lines.

use crate::support::*;
use scf_ledger::checkpoint::Checkpoint;
use scf_ledger::sequencer::Sequencer;
use scf_ledger::sig::SecretKey;
use scf_ledger::sim::derive_key;
use scf_ledger::time::Timestamp;

fn restore(export: &[u8], platform: SecretKey) -> Result<Sequencer, scf_ledger::state::Violation> {
    let mut s = Sequencer::new(derive_key(0, "placeholder"));
    for line in lines(export).iter().skip(1) {
        if is_entry(line) {
            s.restore_entry(line)?;
        } else {
            s.restore_checkpoint(Checkpoint::parse_line(line).unwrap())?;
        }
    }
    s.with_platform_key(platform)
}

#[test]
fn restore_rebuilds_the_same_head_and_continues() {
    let s = small();
    let current = SecretKey::from_seed(&s.sim.log.platform_key().seed());
    let mut seq = restore(&s.export, current).expect("restore");
    assert_eq!(seq.head(), s.sim.log.head());
    assert_eq!(seq.last_checkpoint(), s.sim.log.checkpoints().last());
    // The restored sequencer appends where the original left off.
    let actor = s.sim.actors.iter().find(|a| !a.revoked).unwrap();
    let t = Timestamp::parse("2026-06-01T00:00:00Z").unwrap();
    let intent = business_intent(&actor.org, &actor.key, "after-restore", t).to_bytes();
    let msg = scf_ledger::intent::signing_message(&intent);
    let sigs = vec![scf_ledger::entry::SigRef {
        key_id: actor.key.public_key().key_id(),
        sig: actor.key.sign(&msg),
    }];
    let p = seq
        .prepare(intent.clone(), sigs.clone(), t)
        .expect("prepare");
    // Preparing changes nothing: the same intent prepares again identically.
    let again = seq.prepare(intent, sigs, t).expect("prepare again");
    assert_eq!(p.line, again.line);
    assert_eq!(seq.head().size, 30);
    let r = seq.commit(p).expect("commit");
    assert_eq!(r.seq, 30);
    // A second commit of an entry prepared against the old head is refused.
    assert_eq!(seq.commit(again).unwrap_err().code, "stale_prepare");
    seq.checkpoint(t).expect("checkpoint");
}

#[test]
fn restore_refuses_a_wrong_key_or_a_tampered_store() {
    let s = small();
    assert_eq!(
        restore(&s.export, derive_key(5, "not-the-platform"))
            .unwrap_err()
            .code,
        "wrong_platform_key"
    );
    // A stored line that breaks the rules (here: replayed twice) is refused.
    let mut l = lines(&s.export);
    let dup = l[3].clone();
    l.insert(4, dup);
    let current = SecretKey::from_seed(&s.sim.log.platform_key().seed());
    assert!(restore(&join(&l), current).is_err());
}
