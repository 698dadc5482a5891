//! Judging a scan against the tours: which tour it belongs to, whether the checkpoint is on
//! it, in order and in its window, and what recording it changes.

use chrono::{DateTime, Utc};

use super::book::PatrolBook;
use super::events::PatrolEvent;
use super::scans::{ScanResult, WindowSide};
use super::tours::{Tour, TourId, TourStatus};

type Verdict = (ScanResult, Option<TourId>, Vec<PatrolEvent>);

impl PatrolBook {
    /// Finds the tour for a scan of a known checkpoint and records it there.
    pub(super) fn judge_on_tour(
        &mut self,
        guard: &str,
        checkpoint: &str,
        at: DateTime<Utc>,
    ) -> Verdict {
        if let Some(id) = self.guards_tour(guard, at) {
            let index = self
                .state
                .tours
                .get(&id)
                .and_then(|t| t.stop_index(checkpoint));
            return match index {
                Some(i) => self.apply(&id, i, guard, at),
                None => (ScanResult::NotOnRoute, Some(id), Vec::new()),
            };
        }
        let candidates: Vec<&Tour> = self
            .state
            .tours
            .values()
            .filter(|t| t.stop_index(checkpoint).is_some())
            .collect();
        if candidates.is_empty() {
            return (ScanResult::NotOnRoute, None, Vec::new());
        }
        match pick_open(&candidates, checkpoint, at) {
            Some((id, i)) => self.apply(&id, i, guard, at),
            None => {
                let side = window_side(&candidates, at);
                (ScanResult::OutsideWindow { side }, None, Vec::new())
            }
        }
    }

    /// The tour this guard is walking at `at`: the latest one they scanned on whose window
    /// holds `at`.
    fn guards_tour(&self, guard: &str, at: DateTime<Utc>) -> Option<TourId> {
        self.state
            .tours
            .values()
            .filter(|t| t.guards.contains(guard) && t.window_contains(at))
            .max_by_key(|t| t.scheduled_start)
            .map(|t| t.id.clone())
    }

    /// Records a scan of stop `i` of a tour, after the order and repeat checks.
    fn apply(&mut self, id: &TourId, i: usize, guard: &str, at: DateTime<Utc>) -> Verdict {
        let Some(tour) = self.state.tours.get_mut(id) else {
            return (ScanResult::NotOnRoute, None, Vec::new());
        };
        if let Some(refusal) = refusal(tour, i, guard) {
            return (refusal, Some(id.clone()), Vec::new());
        }
        let mut events = Vec::new();
        if tour.started_at.is_none() {
            events.push(PatrolEvent::TourStarted {
                tour: id.clone(),
                route: tour.route.clone(),
                guard: guard.to_owned(),
                at,
            });
        }
        let done = tour.record(i, guard, at);
        let late = at > tour.due_at(i);
        if done {
            events.extend(after_done(tour, i, at, late));
        }
        if matches!(tour.status, TourStatus::Planned | TourStatus::Open) {
            tour.status = TourStatus::InProgress;
        }
        (ScanResult::Ok { late }, Some(id.clone()), events)
    }
}

/// Why a scan of stop `i` cannot count, if it cannot.
fn refusal(tour: &Tour, i: usize, guard: &str) -> Option<ScanResult> {
    let stop = tour.stops.get(i)?;
    if stop.done_at.is_some() || stop.scans.iter().any(|s| s.guard == guard) {
        return Some(ScanResult::AlreadyDone);
    }
    let next = tour.next_stop();
    if tour.ordered && next != Some(i) {
        let expected = next
            .and_then(|n| tour.stops.get(n))
            .map(|s| s.checkpoint.clone())
            .unwrap_or_default();
        return Some(ScanResult::OutOfOrder { expected });
    }
    None
}

/// Events once stop `i` is done: the stop itself, a cleared miss, a completed tour.
fn after_done(tour: &mut Tour, i: usize, at: DateTime<Utc>, late: bool) -> Vec<PatrolEvent> {
    let mut events = Vec::new();
    let Some(stop) = tour.stops.get_mut(i) else {
        return events;
    };
    events.push(PatrolEvent::CheckpointDone {
        tour: tour.id.clone(),
        checkpoint: stop.checkpoint.clone(),
        at,
        late,
    });
    if stop.missed {
        // A queued scan proved the stop was walked before the deadline after all.
        stop.missed = false;
        events.push(PatrolEvent::CheckpointMissCleared {
            tour: tour.id.clone(),
            checkpoint: stop.checkpoint.clone(),
            at,
        });
    }
    if tour.next_stop().is_none() && tour.status != TourStatus::Completed {
        tour.status = TourStatus::Completed;
        events.push(tour.closed_event());
    }
    events
}

/// Among the tours with this checkpoint whose window holds `at`, the best one to count the
/// scan on: one where the stop is still open and in turn, a tour already under way, the
/// earliest.
fn pick_open(candidates: &[&Tour], checkpoint: &str, at: DateTime<Utc>) -> Option<(TourId, usize)> {
    candidates
        .iter()
        .filter(|t| t.window_contains(at))
        .filter_map(|t| t.stop_index(checkpoint).map(|i| (*t, i)))
        .min_by_key(|(t, i)| {
            let stop_done = t.stops.get(*i).is_some_and(|s| s.done_at.is_some());
            let out_of_turn = t.ordered && t.next_stop() != Some(*i);
            (
                stop_done,
                out_of_turn,
                t.started_at.is_none(),
                t.scheduled_start,
            )
        })
        .map(|(t, i)| (t.id.clone(), i))
}

/// Whether a scan that fits no window came before the nearest tour or after it.
fn window_side(candidates: &[&Tour], at: DateTime<Utc>) -> WindowSide {
    let until_next = candidates
        .iter()
        .filter(|t| t.scheduled_start > at)
        .map(|t| t.scheduled_start - at)
        .min();
    let since_last = candidates
        .iter()
        .filter(|t| t.deadline() < at)
        .map(|t| at - t.deadline())
        .min();
    match (until_next, since_last) {
        (Some(next), Some(last)) if last < next => WindowSide::Late,
        (None, Some(_)) => WindowSide::Late,
        _ => WindowSide::Early,
    }
}
