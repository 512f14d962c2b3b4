//! A deterministic generator of valid ledgers, for tests, benchmarks and the
//! `gen-export` example. Same seed, same bytes: every key is derived from the
//! seed and every choice from a seeded splitmix64 stream.

use crate::asset::AssetKey;
use crate::entry::SigRef;
use crate::hash::sha256;
use crate::intent::{AssetOp, AssetRef, Intent, signing_message};
use crate::log::Log;
use crate::sig::SecretKey;
use crate::state::{Violation, types};
use crate::time::Timestamp;
use crate::uscc;
use crate::verify::TrustRoot;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Total entries, genesis and key registrations included.
    pub events: u64,
    pub seed: u64,
    pub orgs: usize,
    pub actors_per_org: usize,
    /// Checkpoint after this many entries (or one simulated second).
    pub checkpoint_every: u64,
    pub origin: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            events: 1_000,
            seed: 1,
            orgs: 5,
            actors_per_org: 3,
            checkpoint_every: 1_000,
            origin: "scf.example/ledger/sim".into(),
        }
    }
}

/// A generated ledger and the secrets that made it (tests use them to forge
/// and fork).
#[derive(Debug)]
pub struct Sim {
    pub log: Log,
    pub trust_root: TrustRoot,
    pub genesis_platform_key: SecretKey,
    pub actors: Vec<Actor>,
    /// Seq of the platform key rotation and of the actor key revocation.
    pub rotation_seq: Option<u64>,
    pub revocation_seq: Option<u64>,
}

#[derive(Debug)]
pub struct Actor {
    pub org: String,
    pub key: SecretKey,
    pub revoked: bool,
}

/// splitmix64: tiny, seedable, good enough to pick events.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; returns 0 for n = 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// A secret key derived from the seed and a label.
pub fn derive_key(seed: u64, label: &str) -> SecretKey {
    let mut input = seed.to_be_bytes().to_vec();
    input.extend_from_slice(label.as_bytes());
    SecretKey::from_seed(&sha256(&input))
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

struct Builder {
    log: Log,
    rng: Rng,
    time: Timestamp,
    counter: u64,
    since_checkpoint: u64,
    last_checkpoint_time: Timestamp,
    checkpoint_every: u64,
}

impl Builder {
    fn tick(&mut self) -> Timestamp {
        let step = 200 + i64::try_from(self.rng.below(1_600)).unwrap_or(0);
        self.time =
            Timestamp::from_unix_micros(self.time.unix_micros() + step).unwrap_or(self.time);
        self.time
    }

    /// Builds, signs and appends one intent; checkpoints on cadence.
    fn submit(
        &mut self,
        kind: &str,
        org: &str,
        signers: &[&SecretKey],
        subject: String,
        assets: Vec<AssetRef>,
        body: Value,
    ) -> Result<u64, Violation> {
        let time = self.tick();
        self.counter += 1;
        let Some(actor) = signers.first() else {
            return Err(Violation::new("no_signature", "no signer"));
        };
        let intent = Intent {
            kind: kind.into(),
            org: org.into(),
            key_id: actor.public_key().key_id(),
            subject,
            assets,
            body: object(body),
            id: format!("i-{:08}", self.counter),
            client_time: time,
        };
        let bytes = intent.to_bytes();
        let msg = signing_message(&bytes);
        let sigs = signers
            .iter()
            .map(|k| SigRef {
                key_id: k.public_key().key_id(),
                sig: k.sign(&msg),
            })
            .collect();
        let receipt = self.log.append(bytes, sigs, time)?;
        self.after_append()?;
        Ok(receipt.seq)
    }

    fn after_append(&mut self) -> Result<(), Violation> {
        self.since_checkpoint += 1;
        let elapsed = self.time.unix_micros() - self.last_checkpoint_time.unix_micros();
        if self.since_checkpoint >= self.checkpoint_every || elapsed >= 1_000_000 {
            self.checkpoint()?;
        }
        Ok(())
    }

    fn checkpoint(&mut self) -> Result<(), Violation> {
        let t = self.tick();
        self.log.checkpoint(t)?;
        self.since_checkpoint = 0;
        self.last_checkpoint_time = t;
        Ok(())
    }
}

/// Generates a valid ledger of exactly `cfg.events` entries (at least the
/// genesis and one key per actor), ending with a checkpoint.
pub fn generate(cfg: &SimConfig) -> Result<Sim, Violation> {
    let start = Timestamp::parse("2026-01-01T00:00:00Z").unwrap_or_else(Timestamp::now);
    let platform = derive_key(cfg.seed, "platform-0");
    let trust_root = TrustRoot {
        origin: cfg.origin.clone(),
        platform_key: platform.public_key(),
    };
    let genesis_platform_key = derive_key(cfg.seed, "platform-0");
    let mut log = Log::genesis(&cfg.origin, "platform-operator", platform, start)?;
    log.set_check_actor_signatures(false);
    let mut b = Builder {
        log,
        rng: Rng::new(cfg.seed),
        time: start,
        counter: 0,
        since_checkpoint: 1,
        last_checkpoint_time: start,
        checkpoint_every: cfg.checkpoint_every.max(1),
    };
    let orgs: Vec<String> = (0..cfg.orgs.max(2))
        .map(|i| format!("org-{i:03}"))
        .collect();
    let usccs: Vec<String> = (0..orgs.len())
        .map(|i| uscc::complete(&format!("91440300{:09}", 100_000 + i)).unwrap_or_default())
        .collect();
    let mut actors = Vec::new();
    for org in &orgs {
        for a in 0..cfg.actors_per_org.max(1) {
            let key = derive_key(cfg.seed, &format!("{org}/actor-{a}"));
            actors.push(Actor {
                org: org.clone(),
                key,
                revoked: false,
            });
        }
    }
    for i in 0..actors.len() {
        if b.log.state().size() >= cfg.events {
            break;
        }
        let Some(actor) = actors.get(i) else { break };
        let pk = actor.key.public_key();
        let org = actor.org.clone();
        b.submit(
            types::KEY_ADD,
            &org,
            &[&actor.key],
            pk.key_id().to_hex(),
            vec![],
            json!({"public_key": pk.to_hex(), "role": "maker"}),
        )?;
    }
    let rotate_at = cfg.events / 2;
    let revoke_at = cfg.events / 3;
    let mut rotation_seq = None;
    let mut revocation_seq = None;
    // Registered invoices, split by whether they are pledged right now.
    let mut free: Vec<AssetKey> = Vec::new();
    let mut pledged: Vec<AssetKey> = Vec::new();
    while b.log.state().size() < cfg.events {
        let size = b.log.state().size();
        if rotation_seq.is_none() && size >= rotate_at && size > 1 {
            let new = derive_key(cfg.seed, "platform-1");
            let t = b.tick();
            b.counter += 1;
            let id = format!("rotate-{}", b.counter);
            let r = b.log.rotate_platform_key(new, &id, t)?;
            rotation_seq = Some(r.seq);
            b.after_append()?;
            continue;
        }
        let live: Vec<usize> = (0..actors.len())
            .filter(|&i| actors.get(i).is_some_and(|a| !a.revoked))
            .collect();
        let pick = |rng: &mut Rng| -> usize {
            let n = u64::try_from(live.len()).unwrap_or(1);
            live.get(usize::try_from(rng.below(n)).unwrap_or(0))
                .copied()
                .unwrap_or(0)
        };
        let ai = pick(&mut b.rng);
        let Some(actor) = actors.get(ai) else { break };
        let org_idx = orgs.iter().position(|o| *o == actor.org).unwrap_or(0);
        if revocation_seq.is_none() && size >= revoke_at {
            let id = actor.key.public_key().key_id();
            let org = actor.org.clone();
            let seq = b.submit(
                types::KEY_REVOKE,
                &org,
                &[&actor.key],
                id.to_hex(),
                vec![],
                json!({"key_id": id.to_hex(), "reason": "device retired"}),
            )?;
            revocation_seq = Some(seq);
            if let Some(a) = actors.get_mut(ai) {
                a.revoked = true;
            }
            continue;
        }
        let org = actor.org.clone();
        let roll = b.rng.below(100);
        let amount = format!("{}.{:02}", 1_000 + b.rng.below(5_000_000), b.rng.below(100));
        if roll < 35 || (free.is_empty() && pledged.is_empty()) {
            let number = format!("{:08}", b.counter + 1);
            let seller = usccs.get(org_idx).cloned().unwrap_or_default();
            let key = AssetKey::invoice(&seller, &number)
                .map_err(|e| Violation::new("sim", e.to_string()))?;
            b.submit(
                "trade.invoice.register",
                &org,
                &[&actor.key],
                format!("invoice {number}"),
                vec![AssetRef { key, op: AssetOp::Reference }],
                json!({"seller_uscc": seller, "number": number, "amount": amount, "currency": "CNY"}),
            )?;
            free.push(key);
        } else if roll < 60 && !free.is_empty() {
            let i =
                usize::try_from(b.rng.below(u64::try_from(free.len()).unwrap_or(1))).unwrap_or(0);
            if i >= free.len() {
                continue;
            }
            let key = free.swap_remove(i);
            // Pledges are co-signed by a funder's actor from another org.
            let other = pick(&mut b.rng);
            let mut signers = vec![&actor.key];
            if let Some(f) = actors.get(other).filter(|f| f.org != org) {
                signers.push(&f.key);
            }
            b.submit(
                "finance.invoice.pledge",
                &org,
                &signers,
                format!("pledge {}", &key.to_hex()[..16]),
                vec![AssetRef {
                    key,
                    op: AssetOp::Encumber,
                }],
                json!({"advance": amount, "currency": "CNY"}),
            )?;
            pledged.push(key);
        } else if roll < 80 && !pledged.is_empty() {
            let i = usize::try_from(b.rng.below(u64::try_from(pledged.len()).unwrap_or(1)))
                .unwrap_or(0);
            if i >= pledged.len() {
                continue;
            }
            let key = pledged.swap_remove(i);
            b.submit(
                "finance.invoice.release",
                &org,
                &[&actor.key],
                format!("release {}", &key.to_hex()[..16]),
                vec![AssetRef {
                    key,
                    op: AssetOp::Release,
                }],
                json!({"repaid": amount, "currency": "CNY"}),
            )?;
            free.push(key);
        } else {
            let quantity = 1 + b.rng.below(900);
            let subject = format!("delivery {}", b.counter + 1);
            b.submit(
                "logistics.delivery.confirm",
                &org,
                &[&actor.key],
                subject,
                vec![],
                json!({"quantity": quantity.to_string(), "unit": "t", "note": "到货验收 ✓"}),
            )?;
        }
    }
    if b.since_checkpoint > 0 || b.log.checkpoints().is_empty() {
        b.checkpoint()?;
    }
    Ok(Sim {
        log: b.log,
        trust_root,
        genesis_platform_key,
        actors,
        rotation_seq,
        revocation_seq,
    })
}
