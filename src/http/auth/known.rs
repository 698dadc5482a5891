//! Sessions and tokens the store confirmed lately, so a storage fault signs nobody out.
//!
//! The store stays the truth: every request asks it first, and its answer (a holder, or
//! none) replaces what is kept here. Only when the store fails or does not answer in time
//! is a kept principal used, until its session's own end. After a failure the store is
//! left alone for `REST`, so requests during an outage are answered at once instead of
//! each waiting out the look-up's timeout.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::Principal;

/// Principals kept at most; when full, the one confirmed longest ago gives way.
const CAPACITY: usize = 4096;
/// How long an API token (which has no end of its own) is vouched for after the store
/// last confirmed it.
const TOKEN_GRACE: chrono::Duration = chrono::Duration::hours(12);
/// How long the store is left alone after a failed look-up.
const REST: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Entry {
    principal: Principal,
    until: DateTime<Utc>,
    /// Order of confirmation, for choosing what gives way when full.
    seq: u64,
}

/// Recently confirmed principals by their token's hash (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct Known {
    entries: Mutex<HashMap<String, Entry>>,
    seq: AtomicU64,
    failed_at: Mutex<Option<Instant>>,
}

impl Known {
    /// Keeps what the store just said about `hash`: a principal valid until `until`
    /// (`None`: a token, vouched for `TOKEN_GRACE` from `now`), or nothing.
    pub(crate) fn confirmed(
        &self,
        hash: &str,
        who: Option<(&Principal, Option<DateTime<Utc>>)>,
        now: DateTime<Utc>,
    ) {
        *lock(&self.failed_at) = None;
        let mut map = lock(&self.entries);
        let Some((principal, until)) = who else {
            map.remove(hash);
            return;
        };
        if map.len() >= CAPACITY && !map.contains_key(hash) {
            make_room(&mut map, now);
        }
        let entry = Entry {
            principal: principal.clone(),
            until: until.unwrap_or(now + TOKEN_GRACE),
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
        };
        map.insert(hash.to_owned(), entry);
    }

    /// Forgets `hash` (log-out).
    pub(crate) fn forget(&self, hash: &str) {
        lock(&self.entries).remove(hash);
    }

    /// Notes that the store failed just now.
    pub(crate) fn failed(&self) {
        *lock(&self.failed_at) = Some(Instant::now());
    }

    /// Whether the store failed within `REST`, so it is not asked again yet.
    pub(crate) fn resting(&self) -> bool {
        lock(&self.failed_at).is_some_and(|t| t.elapsed() < REST)
    }

    /// The kept principal for `hash`, if its session has not ended by `now`.
    pub(crate) fn recall(&self, hash: &str, now: DateTime<Utc>) -> Option<Principal> {
        let map = lock(&self.entries);
        map.get(hash)
            .filter(|e| e.until > now)
            .map(|e| e.principal.clone())
    }
}

/// Drops ended entries, and if none had ended the one confirmed longest ago.
fn make_room(map: &mut HashMap<String, Entry>, now: DateTime<Utc>) {
    map.retain(|_, e| e.until > now);
    if map.len() < CAPACITY {
        return;
    }
    let oldest = map
        .iter()
        .min_by_key(|(_, e)| e.seq)
        .map(|(k, _)| k.clone());
    if let Some(k) = oldest {
        map.remove(&k);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    fn li() -> Principal {
        Principal {
            name: "li".into(),
            role: Role::DutyEngineer,
            csrf: Some("c".into()),
        }
    }

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).expect("time")
    }

    #[test]
    fn a_kept_session_is_recalled_until_its_own_end() {
        let k = Known::default();
        k.confirmed("h", Some((&li(), Some(at(12)))), at(0));
        assert_eq!(k.recall("h", at(11)).map(|p| p.name), Some("li".into()));
        assert!(k.recall("h", at(12)).is_none(), "the session has ended");
    }

    #[test]
    fn the_stores_no_replaces_what_was_kept() {
        let k = Known::default();
        k.confirmed("h", Some((&li(), Some(at(12)))), at(0));
        k.confirmed("h", None, at(1));
        assert!(k.recall("h", at(1)).is_none());
    }

    #[test]
    fn a_token_is_vouched_for_a_while_after_the_store_confirmed_it() {
        let k = Known::default();
        k.confirmed("t", Some((&li(), None)), at(0));
        assert!(k.recall("t", at(11)).is_some());
        assert!(k.recall("t", at(13)).is_none());
    }

    #[test]
    fn a_full_cache_gives_up_its_oldest_entry() {
        let k = Known::default();
        for i in 0..=CAPACITY {
            k.confirmed(&format!("h{i}"), Some((&li(), Some(at(12)))), at(0));
        }
        assert!(k.recall("h0", at(1)).is_none(), "the oldest gave way");
        assert!(k.recall(&format!("h{CAPACITY}"), at(1)).is_some());
        assert_eq!(lock(&k.entries).len(), CAPACITY);
    }
}
