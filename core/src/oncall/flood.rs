//! Flood control for pages, per person: within one interval the first page goes out and
//! the rest join one summary sent when the interval ends ("12 alarms, 3 emergency"); an
//! emergency page always goes out at once. A per-person rate limit over the last hour
//! holds back what is still too much, and says so. The state lives in memory; after a
//! restart it is rebuilt from the record of pages (`replay`), so a restart neither grants
//! a person a fresh interval nor forgets their last hour.

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

/// What the record says became of one page, replayed after a restart in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Past {
    /// An alarm's page went out (its first attempt).
    Sent {
        /// The alarm.
        alarm: String,
        /// Whether it was an emergency.
        emergency: bool,
    },
    /// An alarm's page joined the person's summary.
    Summarised {
        /// The alarm.
        alarm: String,
        /// Whether it was an emergency.
        emergency: bool,
    },
    /// An alarm's page was held back by the rate limit.
    Held {
        /// The alarm.
        alarm: String,
    },
    /// A summary went out.
    Summary,
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
        let p = self.person(person, now);
        roll(p, policy, now);
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

    /// Replays one page of the record (oldest first): the state becomes what deciding
    /// those pages built before the restart.
    pub fn replay(&mut self, policy: FloodPolicy, person: &str, past: Past, at: DateTime<Utc>) {
        let p = self.person(person, at);
        roll(p, policy, at);
        let note = |alarm: String, emergency: bool, p: &mut Person| {
            if emergency {
                p.emergency.insert(alarm.clone());
            }
            p.alarms.insert(alarm);
        };
        match past {
            Past::Sent { alarm, emergency } => {
                note(alarm, emergency, p);
                p.sent += 1;
                p.last_hour.push_back(at);
            }
            Past::Summarised { alarm, emergency } => {
                note(alarm, emergency, p);
                p.held += 1;
            }
            Past::Held { alarm } => note(alarm, false, p),
            Past::Summary => {
                p.since = at;
                p.sent = 1;
                p.held = 0;
                p.alarms.clear();
                p.emergency.clear();
                p.last_hour.push_back(at);
            }
        }
    }

    fn person(&mut self, person: &str, now: DateTime<Utc>) -> &mut Person {
        self.people
            .entry(person.to_owned())
            .or_insert_with(|| Person {
                since: now,
                sent: 0,
                held: 0,
                alarms: BTreeSet::new(),
                emergency: BTreeSet::new(),
                last_hour: VecDeque::new(),
            })
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

/// Whether a new interval starts at `now`: the last one ended with nothing held for a
/// summary.
/// Starts a new interval when `now` is past the person's current one, and forgets sends
/// older than an hour (the rate limit's window). Deciding and replaying both begin here.
fn roll(p: &mut Person, policy: FloodPolicy, now: DateTime<Utc>) {
    if now_rolls(p, policy, now) {
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
}

fn now_rolls(p: &Person, policy: FloodPolicy, now: DateTime<Utc>) -> bool {
    now - p.since >= policy.interval && p.held == 0
}
