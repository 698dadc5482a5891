//! Flood control for pages, per person: within one interval the first page goes out and
//! the rest join one summary sent when the interval ends ("12 alarms, 3 emergency"); an
//! emergency page always goes out at once. A per-person rate limit over the last hour
//! holds back what is still too much, and says so. State is memory only: after a restart
//! each person starts a fresh interval (at worst one more page than the rule allows).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Duration, Utc};

/// The rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodPolicy {
    /// One summary per person per this interval.
    pub interval: Duration,
    /// Most pages a person gets in any hour (emergencies not held back).
    pub per_hour: u32,
}

/// What becomes of one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloodDecision {
    /// Goes out now.
    Send,
    /// Joins the person's summary for this interval.
    Summarise,
    /// Held back by the person's rate limit.
    RateLimited,
}

/// A summary due for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Who.
    pub person: String,
    /// Alarms paged to them in the interval (sent or held).
    pub alarms: usize,
    /// Of which emergency.
    pub emergency: usize,
    /// Pages the summary stands for.
    pub held: usize,
}

#[derive(Debug, Clone)]
struct Person {
    since: DateTime<Utc>,
    sent: u32,
    held: usize,
    alarms: BTreeSet<String>,
    emergency: BTreeSet<String>,
    last_hour: VecDeque<DateTime<Utc>>,
}

/// Every person's current interval.
#[derive(Debug, Clone, Default)]
pub struct FloodState {
    people: BTreeMap<String, Person>,
}

impl FloodState {
    /// Decides one page of `alarm` to `person` at `now`.
    pub fn decide(
        &mut self,
        policy: FloodPolicy,
        person: &str,
        alarm: &str,
        emergency: bool,
        now: DateTime<Utc>,
    ) -> FloodDecision {
        let p = self
            .people
            .entry(person.to_owned())
            .or_insert_with(|| Person {
                since: now,
                sent: 0,
                held: 0,
                alarms: BTreeSet::new(),
                emergency: BTreeSet::new(),
                last_hour: VecDeque::new(),
            });
        if now - p.since >= policy.interval && p.held == 0 {
            p.since = now;
            p.sent = 0;
            p.alarms.clear();
            p.emergency.clear();
        }
        while p
            .last_hour
            .front()
            .is_some_and(|t| now - *t >= Duration::hours(1))
        {
            p.last_hour.pop_front();
        }
        p.alarms.insert(alarm.to_owned());
        if emergency {
            p.emergency.insert(alarm.to_owned());
            p.sent += 1;
            p.last_hour.push_back(now);
            return FloodDecision::Send;
        }
        if p.sent > 0 {
            p.held += 1;
            return FloodDecision::Summarise;
        }
        if p.last_hour.len() >= policy.per_hour as usize {
            return FloodDecision::RateLimited;
        }
        p.sent += 1;
        p.last_hour.push_back(now);
        FloodDecision::Send
    }

    /// The summaries whose interval has ended; each person starts a new interval with it.
    pub fn due(&mut self, policy: FloodPolicy, now: DateTime<Utc>) -> Vec<Summary> {
        let mut out = Vec::new();
        for (person, p) in &mut self.people {
            if p.held == 0 || now - p.since < policy.interval {
                continue;
            }
            out.push(Summary {
                person: person.clone(),
                alarms: p.alarms.len(),
                emergency: p.emergency.len(),
                held: p.held,
            });
            p.since = now;
            p.sent = 1;
            p.held = 0;
            p.alarms.clear();
            p.emergency.clear();
            p.last_hour.push_back(now);
        }
        out
    }
}
