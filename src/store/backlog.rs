//! The store's backlog: what the engine decided and the database has not kept yet. The
//! engine adds to it without ever waiting; the writer takes batches from its front. It is
//! bounded by an estimate of the memory it holds (`[database] backlog_mib`, 64 MiB
//! unless the config says otherwise), and when an outage outlasts it, records give
//! way in a fixed order:
//!
//! 1. history readings, oldest first: the most numerous and the least needed (a gap in a
//!    trend, not a lost record);
//! 2. only once no reading is left: outbox messages, oldest first (each repeats a journal
//!    entry for MQTT listeners), then journal entries, oldest first;
//! 3. book snapshots never: a book keeps one, the latest replacing the one before, so they
//!    take a fixed room whatever the outage's length;
//! 4. records with tables of their own (a judged scan, a fire test put in place, a
//!    cut-off's meter snapshots; [`Record`]) never: each is a fact someone acted on (a
//!    guard's scan, a reader's acknowledged message), and they are few.
//!
//! Whoever adds gets back what gave way, to count and log it (never silently).
//!
//! Each push carries a tag, its place in the order pushes were made; every item but a
//! reading keeps its push's tag, so the writer can say up to which push everything
//! that is not history has been kept ([`Backlog::first_tag`], the write barrier). A
//! snapshot that replaces another keeps the older tag, so the older push counts as kept
//! when its replacement is written; an entry or message that gives way leaves its tag
//! in [`Backlog::take_lost`].

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, VecDeque};
use std::mem::size_of;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sitewatch_core::points::HubSlot;

use super::readings::JournalRow;
use super::writer::StoreItem;
use super::{OutMessage, Reading, Record, Unwritten};

/// What the backlog holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// History readings.
    Readings,
    /// Outbox messages.
    Outbox,
    /// Journal entries.
    Journal,
    /// Book snapshots.
    Snapshots,
    /// Records with tables of their own.
    Records,
}

impl Kind {
    /// Every kind, in the order records give way (the last two never do).
    pub const ALL: [Kind; 5] = [
        Kind::Readings,
        Kind::Outbox,
        Kind::Journal,
        Kind::Snapshots,
        Kind::Records,
    ];

    /// The metric label and log field.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Readings => "readings",
            Kind::Outbox => "outbox",
            Kind::Journal => "journal",
            Kind::Snapshots => "snapshots",
            Kind::Records => "records",
        }
    }
}

/// A number per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([u64; Kind::ALL.len()]);

impl Counts {
    /// Readings, outbox messages, journal entries, snapshots and records, in [`Kind`]'s
    /// order.
    fn of(
        readings: usize,
        outbox: usize,
        journal: usize,
        snapshots: usize,
        records: usize,
    ) -> Counts {
        let mut c = Counts::default();
        c.add(Kind::Readings, readings);
        c.add(Kind::Outbox, outbox);
        c.add(Kind::Journal, journal);
        c.add(Kind::Snapshots, snapshots);
        c.add(Kind::Records, records);
        c
    }

    /// The number for `kind`.
    pub fn get(&self, kind: Kind) -> u64 {
        self.0[kind as usize]
    }

    pub(super) fn add(&mut self, kind: Kind, n: usize) {
        self.0[kind as usize] += n as u64;
    }

    /// Adds every kind of `other`.
    pub fn merge(&mut self, other: Counts) {
        for kind in Kind::ALL {
            self.0[kind as usize] += other.get(kind);
        }
    }

    /// All kinds together.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Whether it counts a journal entry or an outbox message: records, not history.
    pub fn has_records(&self) -> bool {
        self.get(Kind::Journal) + self.get(Kind::Outbox) > 0
    }
}

/// What the writer writes in one transaction, taken from the backlog's front.
#[derive(Debug, Default)]
pub struct Batch {
    pub(super) readings: Vec<Reading>,
    /// Beside `readings`: each one's hub slot.
    pub(super) slots: Vec<Option<HubSlot>>,
    pub(super) events: Vec<JournalRow>,
    pub(super) outbox: Vec<Arc<Unwritten>>,
    /// Book name, body, time.
    pub(super) states: Vec<(String, String, DateTime<Utc>)>,
    pub(super) records: Vec<Record>,
    pub(super) bytes: usize,
    /// The oldest tag of what it holds but readings (see the module doc).
    pub(super) first_tag: Option<u64>,
}

impl Batch {
    fn note_tag(&mut self, tag: u64) {
        self.first_tag = Some(self.first_tag.map_or(tag, |t| t.min(tag)));
    }

    /// The items of tagged rows, their tags noted.
    fn tagged<T>(&mut self, rows: Vec<(u64, T)>) -> Vec<T> {
        rows.into_iter()
            .map(|(tag, row)| {
                self.note_tag(tag);
                row
            })
            .collect()
    }

    /// Rows it holds.
    pub fn len(&self) -> usize {
        self.counts().total() as usize
    }

    /// Holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows by kind.
    pub fn counts(&self) -> Counts {
        Counts::of(
            self.readings.len(),
            self.outbox.len(),
            self.events.len(),
            self.states.len(),
            self.records.len(),
        )
    }

    /// Its estimated memory.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The bounded queue between the engine and the writer.
#[derive(Debug)]
pub struct Backlog {
    readings: VecDeque<(Reading, Option<HubSlot>)>,
    events: VecDeque<(u64, JournalRow)>,
    outbox: VecDeque<Arc<Unwritten>>,
    /// Beside `outbox`: each message's push tag.
    outbox_tags: VecDeque<u64>,
    /// The latest snapshot per book: body, time and the oldest push tag it stands for.
    states: BTreeMap<String, (String, DateTime<Utc>, u64)>,
    records: VecDeque<(u64, Record)>,
    /// Tags of entries and messages that gave way since [`Backlog::take_lost`].
    lost: Vec<u64>,
    bytes: usize,
    limit: usize,
    /// The last outbox message's place in decision order.
    outbox_seq: u64,
}

impl Backlog {
    /// An empty backlog holding at most about `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            readings: VecDeque::new(),
            events: VecDeque::new(),
            outbox: VecDeque::new(),
            outbox_tags: VecDeque::new(),
            states: BTreeMap::new(),
            records: VecDeque::new(),
            lost: Vec::new(),
            bytes: 0,
            limit,
            outbox_seq: 0,
        }
    }

    /// Adds `items` under `tag` (larger than any tag before); gives back what gave way to
    /// stay within the bound.
    pub fn push(&mut self, items: Vec<StoreItem>, tag: u64) -> Counts {
        for item in items {
            self.add(item, tag);
        }
        self.give_way()
    }

    fn add(&mut self, item: StoreItem, tag: u64) {
        match item {
            StoreItem::Reading(r, slot) => {
                self.bytes += READING;
                self.readings.push_back((r, slot));
            }
            StoreItem::Event(at, kind, subject, body) => {
                let row = (at, kind, subject, body);
                self.bytes += event_cost(&row);
                self.events.push_back((tag, row));
            }
            StoreItem::Outbox(at, m) => {
                self.bytes += outbox_cost(&m);
                self.outbox_seq += 1;
                let m = Unwritten::new(at, m, self.outbox_seq);
                self.outbox.push_back(Arc::new(m));
                self.outbox_tags.push_back(tag);
            }
            StoreItem::State(name, body, at) => {
                self.bytes += state_cost(&name, &body);
                let name_len = name.len();
                let entry = self.states.entry(name);
                match entry {
                    Entry::Vacant(v) => {
                        v.insert((body, at, tag));
                    }
                    Entry::Occupied(mut o) => {
                        // The older push is kept once this snapshot is.
                        let (old, _, first) = o.get();
                        self.bytes -= STATE + name_len + old.len();
                        let first = *first;
                        o.insert((body, at, first));
                    }
                }
            }
            StoreItem::Record(r) => {
                self.bytes += r.cost();
                self.records.push_back((tag, r));
            }
        }
    }

    /// Drops records in the module's order until the backlog is within its bound.
    fn give_way(&mut self) -> Counts {
        let mut dropped = Counts::default();
        while self.bytes > self.limit {
            let Some((kind, cost)) = self.drop_one() else {
                break;
            };
            self.bytes -= cost;
            dropped.add(kind, 1);
        }
        dropped
    }

    fn drop_one(&mut self) -> Option<(Kind, usize)> {
        if self.readings.pop_front().is_some() {
            return Some((Kind::Readings, READING));
        }
        if let Some(m) = self.outbox.pop_front() {
            self.lost.extend(self.outbox_tags.pop_front());
            return Some((Kind::Outbox, outbox_cost(&m.message)));
        }
        let (tag, row) = self.events.pop_front()?;
        self.lost.push(tag);
        Some((Kind::Journal, event_cost(&row)))
    }

    /// The tags of entries and messages that gave way since the last call: those pushes
    /// will never be wholly kept.
    pub fn take_lost(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.lost)
    }

    /// The oldest tag of anything held but readings; `None` when only readings are held.
    pub fn first_tag(&self) -> Option<u64> {
        let fronts = [
            self.events.front().map(|e| e.0),
            self.outbox_tags.front().copied(),
            self.records.front().map(|r| r.0),
        ];
        let states = self.states.values().map(|s| s.2);
        fronts.into_iter().flatten().chain(states).min()
    }

    /// Takes up to `max` rows from the front: snapshots, then records, then journal entries
    /// and outbox messages in the order they were decided, then readings.
    pub fn take(&mut self, max: usize) -> Batch {
        let mut b = Batch::default();
        while b.len() < max {
            let Some((name, (body, at, tag))) = self.states.pop_first() else {
                break;
            };
            b.bytes += state_cost(&name, &body);
            b.states.push((name, body, at));
            b.note_tag(tag);
        }
        let records = front(&mut self.records, max - b.len());
        b.bytes += records.iter().map(|r| r.1.cost()).sum::<usize>();
        b.records = b.tagged(records);
        let events = front(&mut self.events, max - b.len());
        b.bytes += events.iter().map(|e| event_cost(&e.1)).sum::<usize>();
        b.events = b.tagged(events);
        b.outbox = front(&mut self.outbox, max - b.len());
        let tags = front(&mut self.outbox_tags, b.outbox.len());
        tags.into_iter().for_each(|t| b.note_tag(t));
        b.bytes += b
            .outbox
            .iter()
            .map(|m| outbox_cost(&m.message))
            .sum::<usize>();
        let readings = front(&mut self.readings, max - b.len());
        b.bytes += readings.len() * READING;
        (b.readings, b.slots) = readings.into_iter().unzip();
        self.bytes -= b.bytes;
        self.trim();
        b
    }

    /// Gives back the room an outage made the queues grow to, once they are empty again,
    /// so a caught-up daemon does not keep an outage's worth of memory.
    fn trim(&mut self) {
        const KEEP: usize = 4096;
        if self.readings.is_empty() && self.readings.capacity() > KEEP {
            self.readings.shrink_to(KEEP);
        }
        if self.events.is_empty() && self.events.capacity() > KEEP {
            self.events.shrink_to(KEEP);
        }
        if self.outbox.is_empty() && self.outbox.capacity() > KEEP {
            self.outbox.shrink_to(KEEP);
            self.outbox_tags.shrink_to(KEEP);
        }
    }

    /// The outbox messages held, in decision order.
    pub fn outbox(&self) -> impl Iterator<Item = &Arc<Unwritten>> {
        self.outbox.iter()
    }

    /// The outbox messages held from place `seq` in decision order on, found by halving
    /// (they are held in that order), so a long outage's walk starts where the last ended.
    pub fn outbox_from(&self, seq: u64) -> impl Iterator<Item = &Arc<Unwritten>> {
        let start = self.outbox.partition_point(|m| m.seq < seq);
        self.outbox.range(start..)
    }

    /// Rows waiting, by kind.
    pub fn counts(&self) -> Counts {
        Counts::of(
            self.readings.len(),
            self.outbox.len(),
            self.events.len(),
            self.states.len(),
            self.records.len(),
        )
    }

    /// Its estimated memory.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Holds nothing.
    pub fn is_empty(&self) -> bool {
        self.counts().total() == 0
    }

    /// Holds nothing but fewer than `n` readings, which may wait for company.
    pub fn only_readings_under(&self, n: usize) -> bool {
        self.records.is_empty()
            && self.events.is_empty()
            && self.outbox.is_empty()
            && self.states.is_empty()
            && self.readings.len() < n
    }
}

/// Up to `n` items from the front of `q`.
fn front<T>(q: &mut VecDeque<T>, n: usize) -> Vec<T> {
    q.drain(..n.min(q.len())).collect()
}

/// A reading's room: its point id is shared with the hub, so only the row itself.
const READING: usize = size_of::<(Reading, Option<HubSlot>)>();
const STATE: usize = size_of::<(String, (String, DateTime<Utc>))>();

fn event_cost((_, kind, subject, body): &JournalRow) -> usize {
    size_of::<JournalRow>() + kind.len() + subject.len() + body.len()
}

fn outbox_cost(m: &OutMessage) -> usize {
    size_of::<Unwritten>()
        + size_of::<Arc<Unwritten>>()
        + m.channel.len()
        + m.target.len()
        + m.payload.len()
}

fn state_cost(name: &str, body: &str) -> usize {
    STATE + name.len() + body.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0)
            .single()
            .expect("time")
    }

    fn reading(s: i64) -> StoreItem {
        let r = Reading {
            point: "em_b1.voltage_l1".into(),
            at: at(s),
            value: s as f64,
        };
        StoreItem::Reading(r, None)
    }

    fn entry(s: i64) -> StoreItem {
        StoreItem::Event(at(s), "alarm".into(), "pump_1.fault".into(), "{}".into())
    }

    fn message(s: i64) -> StoreItem {
        let m = OutMessage {
            channel: "mqtt".into(),
            target: "sitewatch/t/events".into(),
            payload: "{}".into(),
            retain: false,
        };
        StoreItem::Outbox(at(s), m)
    }

    fn snapshot(book: &str, s: i64) -> StoreItem {
        StoreItem::State(book.into(), format!("{{\"v\":{s}}}"), at(s))
    }

    /// A backlog with room for `readings` readings and nothing else.
    fn room_for(readings: usize) -> Backlog {
        Backlog::new(readings * READING)
    }

    #[test]
    fn readings_give_way_oldest_first_before_any_record() {
        let mut b = room_for(10);
        assert_eq!(b.push((0..8).map(reading).collect(), 1), Counts::default());
        // A journal entry and its MQTT message push the oldest readings out, not themselves.
        let dropped = b.push(vec![entry(100), message(100)], 1);
        assert!(dropped.get(Kind::Readings) > 0);
        assert!(!dropped.has_records());
        let batch = b.take(1000);
        assert_eq!((batch.events.len(), batch.outbox.len()), (1, 1));
        let kept: Vec<f64> = batch.readings.iter().map(|r| r.value).collect();
        let first = dropped.get(Kind::Readings) as f64;
        assert_eq!(
            kept.first(),
            Some(&first),
            "the oldest went first: {kept:?}"
        );
        assert_eq!(kept.last(), Some(&7.0));
    }

    #[test]
    fn records_give_way_only_once_no_reading_is_left_outbox_before_journal() {
        let one_entry = match entry(0) {
            StoreItem::Event(at, k, s, b) => event_cost(&(at, k, s, b)),
            _ => unreachable!("an entry"),
        };
        let mut b = Backlog::new(2 * READING + 3 * one_entry);
        b.push(vec![reading(0), reading(1)], 1);
        let dropped = b.push((10..20).flat_map(|s| [entry(s), message(s)]).collect(), 1);
        assert_eq!(dropped.get(Kind::Readings), 2, "every reading went first");
        assert_eq!(dropped.get(Kind::Outbox), 10, "then every outbox message");
        assert_eq!(
            dropped.get(Kind::Journal),
            7,
            "then the oldest journal entries"
        );
        let batch = b.take(1000);
        let times: Vec<_> = batch.events.iter().map(|e| e.0).collect();
        assert_eq!(times, vec![at(17), at(18), at(19)]);
        assert!(b.is_empty());
    }

    #[test]
    fn snapshots_coalesce_to_the_latest_per_book_and_never_give_way() {
        let mut b = room_for(1);
        let mut dropped = Counts::default();
        for s in 0..100 {
            dropped.merge(b.push(vec![snapshot("alarms", s), snapshot("patrol", s)], 1));
        }
        assert_eq!(dropped.get(Kind::Snapshots), 0);
        assert_eq!(b.counts().get(Kind::Snapshots), 2);
        let batch = b.take(1000);
        let alarms = batch
            .states
            .iter()
            .find(|s| s.0 == "alarms")
            .expect("alarms");
        assert_eq!((alarms.1.as_str(), alarms.2), ("{\"v\":99}", at(99)));
    }

    #[test]
    fn the_bytes_follow_what_is_held() {
        let mut b = Backlog::new(usize::MAX);
        b.push(
            vec![reading(0), entry(1), message(2), snapshot("alarms", 3)],
            1,
        );
        b.push(vec![snapshot("alarms", 4)], 1);
        let held = b.bytes();
        let batch = b.take(2);
        assert_eq!(batch.len(), 2, "at most the batch's size");
        assert_eq!(batch.counts().get(Kind::Snapshots), 1);
        assert_eq!(batch.counts().get(Kind::Journal), 1);
        assert_eq!(b.bytes() + batch.bytes(), held);
        let rest = b.take(10);
        assert_eq!(rest.counts().get(Kind::Readings), 1);
        assert_eq!(b.bytes(), 0);
        assert!(b.is_empty());
    }

    #[test]
    fn outbox_messages_are_found_from_their_place_in_decision_order() {
        let mut b = Backlog::new(usize::MAX);
        b.push((1..=5).map(message).collect(), 1);
        let _ = b.take(2);
        let seqs = |from| b.outbox_from(from).map(|m| m.seq).collect::<Vec<_>>();
        assert_eq!(seqs(0), [3, 4, 5], "the two taken are no longer held");
        assert_eq!(seqs(4), [4, 5]);
        assert_eq!(seqs(6), Vec::<u64>::new());
    }

    #[test]
    fn a_batch_keeps_each_records_own_time() {
        let mut b = Backlog::new(usize::MAX);
        b.push(vec![message(5), message(9), reading(7)], 1);
        let batch = b.take(10);
        let times: Vec<_> = batch.outbox.iter().map(|m| (m.at, m.seq)).collect();
        assert_eq!(
            times,
            vec![(at(5), 1), (at(9), 2)],
            "their times, in decision order"
        );
        assert_eq!(batch.readings[0].at, at(7));
    }
}
