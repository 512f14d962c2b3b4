//! The platform's clock: what "now" and "today" are for the ledger, for
//! the skew check on signed intents and for every business date (maturity,
//! days past due, cut-offs).
//!
//! In normal mode it is the system clock. In test mode (`SCF_TEST_MODE`)
//! the platform operator may move it forward, so an end-to-end test can
//! reach a maturity or 400 days past due without waiting; it never moves
//! back, so ledger times stay ordered. The shift is a ledger entry
//! (`clock.advance`), which keeps an audit of every jump.

use chrono::NaiveDate;
use scf_ledger::time::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Cheap to clone; clones share the shift.
#[derive(Debug, Clone)]
pub struct Clock {
    /// Microseconds added to the system clock; only ever grows.
    shift_us: Arc<AtomicI64>,
    movable: bool,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock {
            shift_us: Arc::new(AtomicI64::new(0)),
            movable: false,
        }
    }

    /// A clock the operator may move forward.
    pub fn movable() -> Clock {
        Clock {
            shift_us: Arc::new(AtomicI64::new(0)),
            movable: true,
        }
    }

    pub fn is_movable(&self) -> bool {
        self.movable
    }

    pub fn now(&self) -> Timestamp {
        let system = Timestamp::now();
        let shift = self.shift_us.load(Ordering::SeqCst);
        if shift == 0 {
            return system;
        }
        Timestamp::from_unix_micros(system.unix_micros().saturating_add(shift)).unwrap_or(system)
    }

    /// Today's date in UTC, the calendar every business date uses.
    pub fn today(&self) -> NaiveDate {
        self.now().as_datetime().date_naive()
    }

    /// Moves a movable clock so that now is at least `to`; a time already
    /// passed (a retried advance) leaves it where it is. Returns whether the
    /// clock is movable. Callers check `to` against the ledger's time first.
    pub fn advance_to(&self, to: Timestamp) -> bool {
        if self.movable {
            let wanted = to
                .unix_micros()
                .saturating_sub(Timestamp::now().unix_micros());
            self.shift_us.fetch_max(wanted, Ordering::SeqCst);
        }
        self.movable
    }

    /// After a restart in test mode: the clock resumes no earlier than the
    /// newest ledger time, so a run that had moved forward stays there.
    pub fn resume_from(&self, last: Option<Timestamp>) {
        if let (true, Some(last)) = (self.movable, last) {
            let wanted = last
                .unix_micros()
                .saturating_sub(Timestamp::now().unix_micros());
            self.shift_us.fetch_max(wanted, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn plus_days(t: Timestamp, days: i64) -> Timestamp {
        Timestamp::from_unix_micros(t.unix_micros() + days * 86_400_000_000).unwrap()
    }

    #[test]
    fn the_system_clock_cannot_be_moved() {
        let c = Clock::system();
        let later = plus_days(c.now(), 3);
        assert!(!c.advance_to(later));
        assert!(c.now() < later);
    }

    #[test]
    fn a_movable_clock_moves_forward_and_clones_follow() {
        let c = Clock::movable();
        let seen = c.clone();
        let target = plus_days(c.now(), 100);
        assert!(c.advance_to(target));
        assert!(seen.now() >= target);
        assert!(seen.now() < plus_days(target, 1));
        assert_eq!(seen.today(), target.as_datetime().date_naive());
    }

    #[test]
    fn it_never_moves_back() {
        let c = Clock::movable();
        let target = plus_days(c.now(), 10);
        c.advance_to(target);
        c.advance_to(plus_days(target, -5));
        assert!(c.now() >= target);
    }

    #[test]
    fn resuming_keeps_a_moved_run_where_it_was() {
        let c = Clock::movable();
        let last = plus_days(Timestamp::now(), 42);
        c.resume_from(Some(last));
        assert!(c.now() >= last);
        let s = Clock::system();
        s.resume_from(Some(last));
        assert!(s.now() < last);
    }
}
