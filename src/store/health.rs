//! How the write path is doing, for `/readyz`, `/metrics` and the dashboard: whether the
//! last write failed, how long rows have waited without a successful write, what waits and
//! what gave way. Times are monotonic (tokio's clock), not the business clock: they
//! measure the daemon, not the site.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::backlog::{Counts, Kind};

/// Rows waiting this long without a successful write make the write path not ready, even
/// with no error yet (a write that hangs). Far above a healthy batch (milliseconds) and
/// above the pool's 5 s wait for a connection.
const STALL_LIMIT: Duration = Duration::from_secs(30);
/// A drop within this long makes the write path not ready; also how often drops are logged.
pub(super) const LOG_EVERY: Duration = Duration::from_secs(60);

/// The writer's state of health, beside the backlog under one lock.
#[derive(Debug, Default)]
pub(super) struct Health {
    /// The last write failed and none has succeeded since.
    pub(super) failing: bool,
    /// Since when rows have waited without a successful write; `None` while nothing waits.
    pub(super) waiting_since: Option<Instant>,
    /// Rows given way since start.
    pub(super) dropped: Counts,
    last_drop: Option<Instant>,
    drop_log: DropLog,
}

impl Health {
    /// Rows were added.
    pub(super) fn added(&mut self, now: Instant) {
        self.waiting_since.get_or_insert(now);
    }

    /// A write succeeded; `more` tells whether rows still wait (they wait from now).
    pub(super) fn written(&mut self, now: Instant, more: bool) {
        self.failing = false;
        self.waiting_since = more.then_some(now);
    }

    /// Rows gave way; what to log now, if a line is due.
    pub(super) fn gave_way(&mut self, dropped: Counts, now: Instant) -> Option<Counts> {
        self.dropped.merge(dropped);
        self.last_drop = Some(now);
        self.drop_log.note(dropped, now)
    }

    /// Drops not yet logged, when a line is due (or `now` at shutdown, `force`).
    pub(super) fn unlogged_drops(&mut self, now: Instant, force: bool) -> Option<Counts> {
        self.drop_log.due(now, force)
    }

    /// The report, with `waiting` rows by kind and their `bytes`.
    pub(super) fn report(&self, waiting: Counts, bytes: usize, now: Instant) -> WriteReport {
        let stalled = self
            .waiting_since
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        let dropping = self
            .last_drop
            .is_some_and(|t| now.saturating_duration_since(t) < LOG_EVERY);
        WriteReport {
            ok: !self.failing && !dropping && stalled < STALL_LIMIT,
            failing: self.failing,
            dropping,
            stalled_seconds: stalled.as_secs_f64(),
            backlog: by_kind(waiting),
            backlog_bytes: bytes as u64,
            dropped: by_kind(self.dropped),
        }
    }
}

/// What `/readyz` says of the write path.
#[derive(Debug, Clone, Serialize)]
pub struct WriteReport {
    /// Writes succeed, nothing gave way in the last minute and nothing waits too long.
    pub ok: bool,
    /// The last write failed and none has succeeded since.
    pub failing: bool,
    /// Rows gave way to the backlog's bound in the last minute.
    pub dropping: bool,
    /// How long rows have waited without a successful write (0 when nothing waits).
    pub stalled_seconds: f64,
    /// Rows waiting, by kind (`readings`, `outbox`, `journal`, `snapshots`).
    pub backlog: BTreeMap<&'static str, u64>,
    /// The waiting rows' estimated memory.
    pub backlog_bytes: u64,
    /// Rows given way since start, by kind.
    pub dropped: BTreeMap<&'static str, u64>,
}

impl WriteReport {
    /// Rows waiting of `kind`.
    pub fn waiting(&self, kind: Kind) -> u64 {
        self.backlog.get(kind.as_str()).copied().unwrap_or(0)
    }
}

fn by_kind(c: Counts) -> BTreeMap<&'static str, u64> {
    Kind::ALL.iter().map(|k| (k.as_str(), c.get(*k))).collect()
}

/// Drops are logged at most once a minute with what gave way since the last line, except
/// that the first journal or outbox drop after a line of only readings is logged at once.
#[derive(Debug, Default)]
struct DropLog {
    last: Option<Instant>,
    last_had_records: bool,
    pending: Counts,
}

impl DropLog {
    fn note(&mut self, dropped: Counts, now: Instant) -> Option<Counts> {
        self.pending.merge(dropped);
        let first_records = dropped.has_records() && !self.last_had_records;
        self.due(now, first_records)
    }

    fn due(&mut self, now: Instant, force: bool) -> Option<Counts> {
        if self.pending.total() == 0 {
            return None;
        }
        let quiet = self
            .last
            .is_none_or(|t| now.saturating_duration_since(t) >= LOG_EVERY);
        if !(quiet || force) {
            return None;
        }
        self.last = Some(now);
        self.last_had_records = self.pending.has_records();
        Some(std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(kind: Kind, n: usize) -> Counts {
        let mut c = Counts::default();
        c.add(kind, n);
        c
    }

    #[test]
    fn rows_waiting_too_long_without_a_write_are_not_ready_even_without_an_error() {
        let t0 = Instant::now();
        let mut h = Health::default();
        h.added(t0);
        let waiting = some(Kind::Readings, 3);
        assert!(h.report(waiting, 100, t0 + Duration::from_secs(29)).ok);
        let late = h.report(waiting, 100, t0 + STALL_LIMIT);
        assert!(!late.ok && !late.failing, "{late:?}");
        // A write that leaves rows behind restarts the wait; one that leaves none ends it.
        h.written(t0 + STALL_LIMIT, true);
        assert!(
            h.report(waiting, 100, t0 + STALL_LIMIT * 2 - Duration::from_secs(1))
                .ok
        );
        h.written(t0 + STALL_LIMIT * 2, false);
        let idle = h.report(Counts::default(), 0, t0 + STALL_LIMIT * 10);
        assert_eq!((idle.ok, idle.stalled_seconds), (true, 0.0));
    }

    #[test]
    fn a_failed_write_is_not_ready_until_one_succeeds() {
        let t0 = Instant::now();
        let mut h = Health {
            failing: true,
            ..Health::default()
        };
        assert!(!h.report(Counts::default(), 0, t0).ok);
        h.written(t0, false);
        assert!(h.report(Counts::default(), 0, t0).ok);
    }

    #[test]
    fn drops_are_not_ready_for_a_minute_and_logged_at_most_once_a_minute() {
        let t0 = Instant::now();
        let mut h = Health::default();
        let first = h.gave_way(some(Kind::Readings, 5), t0);
        assert_eq!(
            first,
            Some(some(Kind::Readings, 5)),
            "the first drop is logged at once"
        );
        assert_eq!(
            h.gave_way(some(Kind::Readings, 7), t0 + Duration::from_secs(1)),
            None
        );
        // The first journal drop after a line of only readings is logged at once, with
        // what gave way since that line.
        let journal = h.gave_way(some(Kind::Journal, 1), t0 + Duration::from_secs(2));
        let mut want = some(Kind::Readings, 7);
        want.merge(some(Kind::Journal, 1));
        assert_eq!(journal, Some(want));
        assert_eq!(
            h.gave_way(some(Kind::Journal, 2), t0 + Duration::from_secs(3)),
            None
        );
        let report = h.report(Counts::default(), 0, t0 + Duration::from_secs(3));
        assert!(!report.ok && report.dropping);
        assert_eq!(report.dropped["journal"], 3);
        assert_eq!(report.dropped["readings"], 12);
        // Nothing is left unsaid: a minute on, the rest is due; at shutdown, at once.
        assert_eq!(h.unlogged_drops(t0 + Duration::from_secs(30), false), None);
        assert_eq!(
            h.unlogged_drops(t0 + Duration::from_secs(30), true),
            Some(some(Kind::Journal, 2))
        );
        let later = h.report(
            Counts::default(),
            0,
            t0 + Duration::from_secs(3) + LOG_EVERY,
        );
        assert!(later.ok, "no drop in the last minute: {later:?}");
    }
}
