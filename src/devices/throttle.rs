//! A log throttle: one line per key (an MQTT topic) per period, and a count of what was
//! held back, so a sensor spamming bad payloads cannot flood the log. Pure: the caller
//! passes `now`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Keys kept before entries older than one period are pruned.
const PRUNE_ABOVE: usize = 1024;

/// Allows one log line per key per period.
#[derive(Debug)]
pub struct LogThrottle {
    every: Duration,
    keys: HashMap<String, Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    logged_at: Instant,
    held_back: u64,
}

impl LogThrottle {
    /// A throttle allowing one line per key every `every`.
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            keys: HashMap::new(),
        }
    }

    /// `Some(held_back)` when a line for `key` may be logged now, with how many were held
    /// back since the last one; `None` when it must be held back.
    pub fn allow(&mut self, key: &str, now: Instant) -> Option<u64> {
        if let Some(e) = self.keys.get_mut(key) {
            if now.saturating_duration_since(e.logged_at) < self.every {
                e.held_back += 1;
                return None;
            }
            let held_back = e.held_back;
            *e = Entry {
                logged_at: now,
                held_back: 0,
            };
            return Some(held_back);
        }
        self.prune(now);
        let fresh = Entry {
            logged_at: now,
            held_back: 0,
        };
        self.keys.insert(key.to_owned(), fresh);
        Some(0)
    }

    fn prune(&mut self, now: Instant) {
        if self.keys.len() >= PRUNE_ABOVE {
            let every = self.every;
            self.keys
                .retain(|_, e| now.saturating_duration_since(e.logged_at) < every);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn one_line_per_key_per_period_with_the_held_back_count() {
        let t0 = Instant::now();
        let mut t = LogThrottle::new(MINUTE);
        assert_eq!(t.allow("a", t0), Some(0));
        assert_eq!(t.allow("a", t0 + Duration::from_secs(1)), None);
        assert_eq!(t.allow("a", t0 + Duration::from_secs(59)), None);
        assert_eq!(t.allow("a", t0 + MINUTE), Some(2));
        assert_eq!(t.allow("a", t0 + MINUTE + Duration::from_secs(1)), None);
    }

    #[test]
    fn keys_are_throttled_apart() {
        let t0 = Instant::now();
        let mut t = LogThrottle::new(MINUTE);
        assert_eq!(t.allow("a", t0), Some(0));
        assert_eq!(t.allow("b", t0), Some(0));
        assert_eq!(t.allow("a", t0), None);
    }

    #[test]
    fn old_keys_are_pruned_when_many() {
        let t0 = Instant::now();
        let mut t = LogThrottle::new(MINUTE);
        for i in 0..PRUNE_ABOVE {
            t.allow(&i.to_string(), t0);
        }
        t.allow("late", t0 + MINUTE * 2);
        assert_eq!(t.keys.len(), 1);
    }
}
