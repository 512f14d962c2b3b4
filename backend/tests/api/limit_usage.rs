//! The running limit usage sums (`limit_usage`) against the financings they
//! summarise: after any sequence of applications, approvals, declines,
//! withdrawals, disbursements and early settlements, then recourse, the
//! supplier's repurchase and the clearing after maturity, every stored sum
//! equals the advances of the exposed financings recomputed from scratch,
//! the migration's backfill computes the same sums, and every approval is
//! decided as a model of the counterparty limit says.

use crate::certificates::{World, active, day, new_id, split_body, world};
use crate::financing::{
    Funder, act_assets, apply, asset, clear, decide, funder_staff, get, move_clock_to, publish_lpr,
    recommend, verified_account,
};
use crate::support::{Party, TestApp, spawn_app_with};
use diesel::prelude::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use scf_backend::db::DbDecimal;
use scf_backend::db::schema::limit_usage;
use scf_backend::receivables::usage::drift;
use serde_json::json;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// A root certificate and its parts: (certificate, held by tier 2, state).
type Root = (String, Vec<(String, bool, Part)>);

/// Each applicant may carry this much advance in the program.
const COUNTERPARTY_LIMIT_FEN: i64 = 30_000_000;

#[derive(Debug, Clone, Copy)]
enum Move {
    Apply,
    Approve,
    Decline,
    Withdraw,
    Disburse,
    SettleEarly,
    Wait,
}

#[derive(Debug, Clone)]
enum Part {
    Free,
    Applied {
        id: String,
        advance: i64,
        recommended: bool,
    },
    Approved {
        id: String,
        advance: i64,
    },
    Disbursed {
        id: String,
        advance: i64,
    },
}

fn fen(v: &str) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    let d: rust_decimal::Decimal = v.parse().unwrap();
    (d * rust_decimal::Decimal::ONE_HUNDRED).to_i64().unwrap()
}

fn amount(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// What `choice` does to a part in `part`'s state: every move is one the
/// state allows, so that histories get far (approvals mostly, some
/// declines and withdrawals, some disbursed financings left to build up
/// exposure against the limit).
fn move_for(part: &Part, choice: u8) -> Move {
    match (part, choice % 6) {
        (Part::Free, _) => Move::Apply,
        (Part::Applied { .. }, 4) => Move::Decline,
        (Part::Applied { .. }, 5) => Move::Withdraw,
        (Part::Applied { .. }, _) => Move::Approve,
        (Part::Approved { .. }, _) => Move::Disburse,
        (Part::Disbursed { .. }, 0..3) => Move::SettleEarly,
        (Part::Disbursed { .. }, _) => Move::Wait,
    }
}

/// Part face values in fen (advances then have odd cents), which parts go
/// to tier 2, and the moves as (part, choice).
fn moves() -> impl Strategy<Value = (Vec<i64>, Vec<bool>, Vec<(usize, u8)>)> {
    (
        prop::collection::vec(1_000_000i64..=15_000_000, 2..=5),
        prop::collection::vec(any::<bool>(), 5),
        prop::collection::vec((0usize..5, any::<u8>()), 10..40),
    )
}

struct Bench<'a> {
    app: &'a TestApp,
    w: &'a World,
    f: &'a Funder,
    accounts: BTreeMap<String, String>,
    /// Advance in fen the model expects each applicant to carry (never
    /// borrowed across an await).
    exposure: RefCell<BTreeMap<String, i64>>,
}

impl Bench<'_> {
    fn no_drift(&self, after: &str) {
        let mut conn = self.app.opened.db.get().unwrap();
        let d = drift(&mut conn).unwrap();
        assert!(d.is_empty(), "after {after}: {d:?}");
        for (org, want) in self.exposure.borrow().iter() {
            let got: Vec<DbDecimal> = limit_usage::table
                .filter(limit_usage::scope.eq("counterparty"))
                .filter(limit_usage::org_id.eq(scf_backend::db::DbId(org.parse().unwrap())))
                .select(limit_usage::exposed)
                .load(&mut conn)
                .unwrap();
            let got = got.first().map_or(0, |d| fen(&d.0.to_string()));
            assert_eq!(got, *want, "after {after}: counterparty usage of {org}");
        }
    }

    async fn release(&self, who: &Party, id: &str, cert: &str, path: &str, kind: &str) -> u16 {
        let body = if kind == "financing.decide" {
            json!({"financing_id": id, "decision": "decline", "note": "concentration"})
        } else {
            json!({"financing_id": id})
        };
        let (s, b) = act_assets(
            self.app,
            who,
            &format!("/v1/financings/{id}/{path}"),
            kind,
            body,
            &[(asset(cert), "release")],
        )
        .await;
        assert_eq!(s, 200, "{kind}: {b}");
        s
    }

    async fn disburse(&self, holder: &Party, id: &str) {
        let acct = &self.accounts[&holder.org];
        let (s, b) = self
            .app
            .act_now(
                &self.f.approver,
                &format!("/v1/financings/{id}/disbursement"),
                "financing.disburse",
                json!({"financing_id": id, "account_id": acct}),
            )
            .await;
        assert_eq!(s, 200, "disburse: {b}");
    }

    /// Plays one move if the part allows it; returns the part's new state.
    async fn play(&self, m: Move, cert: &str, holder: &Party, part: Part) -> Part {
        let exposure = self.exposure(holder);
        let (next, delta) = self.step(m, cert, holder, part, exposure).await;
        self.exposure
            .borrow_mut()
            .insert(holder.org.clone(), exposure + delta);
        next
    }

    fn exposure(&self, holder: &Party) -> i64 {
        self.exposure
            .borrow()
            .get(&holder.org)
            .copied()
            .unwrap_or(0)
    }

    /// The part's next state and the change in the holder's exposure.
    async fn step(
        &self,
        m: Move,
        cert: &str,
        holder: &Party,
        part: Part,
        exposure: i64,
    ) -> (Part, i64) {
        match (m, part) {
            (Move::Apply, Part::Free) => {
                let (s, b, id) = apply(self.app, self.w, holder, cert).await;
                assert_eq!(s, 201, "apply: {b}");
                let advance = fen(b["quote"]["quote"]["advance_amount"].as_str().unwrap());
                let part = Part::Applied {
                    id,
                    advance,
                    recommended: false,
                };
                (part, 0)
            }
            (
                Move::Approve,
                Part::Applied {
                    id,
                    advance,
                    recommended,
                },
            ) => {
                if !recommended {
                    recommend(self.app, self.f, &id).await;
                }
                let fits = exposure + advance <= COUNTERPARTY_LIMIT_FEN;
                let (s, b) = decide(self.app, &self.f.approver, &id, "approve").await;
                if fits {
                    assert_eq!(s, 200, "approve within the limit: {b}");
                    (Part::Approved { id, advance }, advance)
                } else {
                    assert_eq!(s, 409, "approve beyond the limit: {b}");
                    assert!(
                        b["detail"].as_str().unwrap().contains("counterparty"),
                        "{b}"
                    );
                    let part = Part::Applied {
                        id,
                        advance,
                        recommended: true,
                    };
                    (part, 0)
                }
            }
            (
                Move::Decline,
                Part::Applied {
                    id, recommended, ..
                },
            ) => {
                if !recommended {
                    recommend(self.app, self.f, &id).await;
                }
                self.release(&self.f.approver, &id, cert, "decision", "financing.decide")
                    .await;
                (Part::Free, 0)
            }
            (Move::Withdraw, Part::Applied { id, .. }) => {
                self.release(holder, &id, cert, "withdrawal", "financing.withdraw")
                    .await;
                (Part::Free, 0)
            }
            (Move::Disburse, Part::Approved { id, advance }) => {
                self.disburse(holder, &id).await;
                (Part::Disbursed { id, advance }, 0)
            }
            (Move::SettleEarly, Part::Disbursed { id, advance }) => {
                self.release(
                    holder,
                    &id,
                    cert,
                    "early-settlement",
                    "financing.settle_early",
                )
                .await;
                (Part::Free, -advance)
            }
            (_, part) => (part, 0),
        }
    }
}

/// Deletes every usage row and runs the backfill statement of the
/// migration that adds `limit_usage` (its up.sql from the marker on).
fn rerun_backfill(conn: &mut scf_backend::db::DbConn) {
    use diesel::connection::SimpleConnection;
    let dialect = match conn {
        scf_backend::db::DbConn::Pg(_) => "postgres",
        scf_backend::db::DbConn::Sqlite(_) => "sqlite",
    };
    let path = format!(
        "{}/../migrations/{dialect}/00000000000010_limit_usage/up.sql",
        env!("CARGO_MANIFEST_DIR")
    );
    let up = std::fs::read_to_string(path).unwrap();
    let marker = "-- An existing database gets its sums";
    let backfill = &up[up.find(marker).expect("the backfill marker")..];
    diesel::delete(limit_usage::table).execute(conn).unwrap();
    conn.batch_execute(backfill).unwrap();
    let rows: i64 = limit_usage::table.count().get_result(conn).unwrap();
    assert!(rows > 0, "the backfill wrote nothing");
}

/// Random financing histories keep the usage rows equal to the financings;
/// recourse, repurchase and the clearing bring every sum back to zero.
#[test]
fn usage_rows_follow_every_status_change() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let maturity = day(60);
    let (app, w, f) = rt.block_on(async {
        let app = spawn_app_with(&[("SCF_RATE_LIMIT_PER_SEC", "0")]).await;
        let w = world(&app, |p| {
            p["counterparty_limit"] = json!(amount(COUNTERPARTY_LIMIT_FEN));
        })
        .await;
        publish_lpr(&app, &w.op).await;
        let f = funder_staff(&app, &w).await;
        (app, w, f)
    });
    let bench = rt.block_on(async {
        let mut accounts = BTreeMap::new();
        for who in [&w.t1, &w.t2] {
            accounts.insert(who.org.clone(), verified_account(&app, &w.op, who).await);
        }
        Bench {
            app: &app,
            w: &w,
            f: &f,
            accounts,
            exposure: RefCell::new(BTreeMap::new()),
        }
    });
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    // Every case's root and parts, for the clearing at the end.
    let roots: RefCell<Vec<Root>> = RefCell::new(Vec::new());
    runner
        .run(&moves(), |(faces, to_t2, seq)| {
            rt.block_on(async {
                let (app, w) = (bench.app, bench.w);
                let total: i64 = faces.iter().sum();
                let root = active(app, w, &w.t1, &amount(total), &maturity).await;
                let kids: Vec<(String, String)> =
                    faces.iter().map(|k| (new_id(), amount(*k))).collect();
                let refs: Vec<(&str, &str)> =
                    kids.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                let (s, b) = app
                    .act(
                        &w.t1,
                        &format!("/v1/certificates/{root}/split"),
                        "certificate.split",
                        split_body(&root, &amount(total), &refs),
                    )
                    .await;
                assert_eq!(s, 201, "split: {b}");
                let mut parts: Vec<(String, bool, Part)> = Vec::new();
                for ((kid, _), t2) in kids.iter().zip(&to_t2) {
                    if *t2 {
                        let (s, b) = app
                            .act(
                                &w.t1,
                                &format!("/v1/certificates/{kid}/transfer"),
                                "certificate.transfer",
                                json!({"certificate_id": kid, "to_org_id": w.t2.org, "notice_to": w.core.org}),
                            )
                            .await;
                        assert_eq!(s, 200, "transfer: {b}");
                    }
                    parts.push((kid.clone(), *t2, Part::Free));
                }
                for (n, choice) in seq {
                    let n = n % parts.len();
                    let (cert, t2, part) = parts[n].clone();
                    let holder = if t2 { &w.t2 } else { &w.t1 };
                    let m = move_for(&part, choice);
                    let next = bench.play(m, &cert, holder, part).await;
                    parts[n].2 = next;
                    bench.no_drift(&format!("{m:?}"));
                }
                roots.borrow_mut().push((root, parts));
                Ok(())
            })
        })
        .unwrap();
    let mut roots = roots.into_inner();
    rt.block_on(async {
        // Nothing may stay locked at the clearing: undecided applications
        // are withdrawn and approved ones disbursed (today, their date).
        for (_, parts) in roots.iter_mut() {
            for (cert, t2, part) in parts.iter_mut() {
                let holder = if *t2 { &w.t2 } else { &w.t1 };
                match part.clone() {
                    Part::Applied { id, .. } => {
                        bench
                            .release(holder, &id, cert, "withdrawal", "financing.withdraw")
                            .await;
                        *part = Part::Free;
                    }
                    Part::Approved { id, advance } => {
                        bench.disburse(holder, &id).await;
                        *part = Part::Disbursed { id, advance };
                    }
                    _ => {}
                }
            }
        }
        bench.no_drift("withdrawing and disbursing the rest");
        // Past due (grace 3 days): the funder turns to the supplier on every
        // second disbursed financing (disbursed → recourse keeps the
        // exposure), and the supplier repurchases every second of those
        // (recourse → settled releases it).
        move_clock_to(&app, &w.op, &day(60 + 3 + 2)).await;
        let (mut turn, mut buy) = (false, false);
        for (_, parts) in roots.iter_mut() {
            for (cert, t2, part) in parts.iter_mut() {
                let Part::Disbursed { id, advance } = part.clone() else {
                    continue;
                };
                turn = !turn;
                if !turn {
                    continue;
                }
                let (s, b) = app
                    .act_now(
                        &f.approver,
                        &format!("/v1/financings/{id}/recourse"),
                        "financing.recourse",
                        json!({"financing_id": id, "note": "unpaid"}),
                    )
                    .await;
                assert_eq!(s, 200, "recourse: {b}");
                bench.no_drift("recourse");
                buy = !buy;
                if !buy {
                    continue;
                }
                let holder = if *t2 { &w.t2 } else { &w.t1 };
                let (_, d) = get(&app, holder, &format!("/v1/financings/{id}")).await;
                let (s, b) = act_assets(
                    &app,
                    holder,
                    &format!("/v1/financings/{id}/repurchase"),
                    "financing.repurchase",
                    json!({"financing_id": id, "amount": d["overdue"]["total_due"]}),
                    &[(asset(cert), "release")],
                )
                .await;
                assert_eq!(s, 200, "repurchase: {b}");
                *bench.exposure.borrow_mut().get_mut(&holder.org).unwrap() -= advance;
                *part = Part::Free;
                bench.no_drift("repurchase");
            }
        }
        // A database that had financings before the table existed gets its
        // sums from the migration's backfill: empty the table, run it again.
        {
            let mut conn = app.opened.db.get().unwrap();
            let exposed: i64 = scf_backend::db::schema::financings::table
                .filter(
                    scf_backend::db::schema::financings::status.eq_any(["disbursed", "recourse"]),
                )
                .count()
                .get_result(&mut conn)
                .unwrap();
            assert!(exposed > 0, "nothing for the backfill to sum");
            rerun_backfill(&mut conn);
        }
        bench.no_drift("the migration's backfill");
        // The issuer pays every root: disbursed and recourse financings
        // settle and leave the sums.
        for (root, parts) in &roots {
            let (s, p) = get(&app, &w.core, &format!("/v1/certificates/{root}/clearing")).await;
            assert_eq!(s, 200, "{p}");
            let (s, b) = clear(&app, &w, root, p["face_amount"].clone(), &p).await;
            assert_eq!(s, 200, "clear: {b}");
            for (_, t2, part) in parts {
                if let Part::Disbursed { advance, .. } = part {
                    let holder = if *t2 { &w.t2 } else { &w.t1 };
                    *bench.exposure.borrow_mut().get_mut(&holder.org).unwrap() -= advance;
                }
            }
            bench.no_drift("clearing");
        }
    });
    let exposure = bench.exposure.into_inner();
    assert!(exposure.values().all(|e| *e == 0), "{exposure:?}");
    let mut conn = app.opened.db.get().unwrap();
    let left: Vec<DbDecimal> = limit_usage::table
        .select(limit_usage::exposed)
        .load(&mut conn)
        .unwrap();
    assert!(!left.is_empty(), "the sums were never written");
    assert!(left.iter().all(|d| d.0.is_zero()), "{left:?}");
}
