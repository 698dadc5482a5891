//! Point history and the event journal.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sitewatch_core::points::{HubSlot, PointId};
use sqlx::Row;

use super::{Store, StoreError, numbered_placeholders, placeholders, statement_chunks};

/// One kept value of a point.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Reading {
    /// Point id (shared with the points hub: a stored reading copies a pointer, not the id).
    #[schema(value_type = String)]
    pub point: PointId,
    /// When it was read.
    pub at: DateTime<Utc>,
    /// The value.
    pub value: f64,
}

/// One journal entry (quality change, device up/down, and later alarms and incidents).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct EventRow {
    /// Sequence number; increases with every entry.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What kind of event (`point_quality`, `device`, …).
    pub kind: String,
    /// What it is about (a point or device id).
    pub subject: String,
    /// The event as JSON.
    pub body: serde_json::Value,
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

// Both readers walk the key (point_key, ts_ms, value): `value` orders readings of the
// same millisecond, so pages and the recent end are the same on every backend.
const PAGE_SQL: &str = "select ts_ms, value from readings \
     where point_key = (select point_key from point_keys where point_id = $1) \
     and ts_ms >= $2 and ts_ms < $3 order by ts_ms, value limit $4 offset $5";
const RECENT_SQL: &str = "select ts_ms, value from readings \
     where point_key = (select point_key from point_keys where point_id = $1) \
     and ts_ms >= $2 order by ts_ms desc, value desc limit $3";

/// A journal entry to write: time, kind, subject, JSON body.
pub type JournalRow = (DateTime<Utc>, String, String, String);

/// The integer keys `readings` stores points under (migration 0011), by the slot of the
/// hub the readings come from: read for every hub point at start ([`PointKeys::for_hub`]).
/// An array by slot costs 8 bytes a point (a map by id would cost about 40 at the 20,000
/// points of a large site); a point not in it is looked up, and given a key if it has
/// none, once.
#[derive(Debug, Default)]
pub struct PointKeys {
    by_slot: Vec<i64>,
}

impl PointKeys {
    /// The keys of the hub's `points`, in hub order (a point's place is its slot), each
    /// point given one if it has none. Run once at start, before any source: otherwise
    /// the first batches would wait on these look-ups while the start-up burst of every
    /// point's first value queues behind them.
    pub async fn for_hub(store: &Store, points: &[PointId]) -> Result<Self, StoreError> {
        let found = keys_of(store, points.iter().map(|p| &**p).collect()).await?;
        let mut by_slot = Vec::with_capacity(points.len());
        by_slot.extend(points.iter().map(|p| found.get(&**p).copied().unwrap_or(0)));
        Ok(Self { by_slot })
    }

    /// The key of each reading's point, in order. `slots` runs beside `rows`.
    pub(crate) async fn of(
        &mut self,
        store: &Store,
        rows: &[Reading],
        slots: &[Option<HubSlot>],
    ) -> Result<Vec<i64>, StoreError> {
        let missing: Vec<&str> = rows
            .iter()
            .zip(slots)
            .filter(|(_, slot)| self.known(**slot).is_none())
            .map(|(r, _)| &*r.point)
            .collect();
        let found = if missing.is_empty() {
            HashMap::new()
        } else {
            self.make_room(slots);
            keys_of(store, missing).await?
        };
        let mut keys = Vec::with_capacity(rows.len());
        for (r, slot) in rows.iter().zip(slots) {
            let key = match self.known(*slot) {
                Some(k) => k,
                None => {
                    let k = *found
                        .get(&*r.point)
                        .ok_or_else(|| StoreError::NoPointKey(r.point.to_string()))?;
                    if let Some(s) = slot {
                        self.remember(*s, k);
                    }
                    k
                }
            };
            keys.push(key);
        }
        Ok(keys)
    }

    fn known(&self, slot: Option<HubSlot>) -> Option<i64> {
        let key = *self.by_slot.get(slot?.index())?;
        (key != 0).then_some(key)
    }

    /// Room for every slot of the batch, and no more: the array stays at 8 bytes a point
    /// where growing it by doubling could hold twice that for good.
    fn make_room(&mut self, slots: &[Option<HubSlot>]) {
        let top = slots.iter().flatten().map(|s| s.index() + 1).max();
        if let Some(more) = top.and_then(|t| t.checked_sub(self.by_slot.len())) {
            self.by_slot.reserve_exact(more);
            self.by_slot.resize(self.by_slot.len() + more, 0);
        }
    }

    fn remember(&mut self, slot: HubSlot, key: i64) {
        if let Some(k) = self.by_slot.get_mut(slot.index()) {
            *k = key;
        }
    }
}

/// The keys of these point ids, giving a key to each that has none. Runs on its own
/// (autocommit) statements, not in the caller's transaction: a key once given is kept,
/// so what [`PointKeys`] remembers stays true even when the readings' write rolls back.
/// Its statements are not kept prepared: they run at start and for new points only,
/// and a connection's cache would hold up to eighteen of them, of up to 256 parameters
/// each, for good.
async fn keys_of<'a>(
    store: &Store,
    mut ids: Vec<&'a str>,
) -> Result<HashMap<&'a str, i64>, StoreError> {
    ids.sort_unstable();
    ids.dedup();
    let mut found = select_keys(store, &ids).await?;
    let new: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !found.contains_key(id))
        .collect();
    if !new.is_empty() {
        let numbered = store.backend() == super::Backend::Postgres;
        for chunk in statement_chunks(&new) {
            let sql = format!(
                "insert into point_keys (point_id) values {} on conflict do nothing",
                numbered_placeholders(numbered, chunk.len(), 1)
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(store.pool()).await?;
        }
        found.extend(select_keys(store, &new).await?);
    }
    Ok(found)
}

async fn select_keys<'a>(
    store: &Store,
    ids: &[&'a str],
) -> Result<HashMap<&'a str, i64>, StoreError> {
    let numbered = store.backend() == super::Backend::Postgres;
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in statement_chunks(ids) {
        let sql = format!(
            "select point_id, point_key from point_keys where point_id in ({})",
            numbered_placeholders(numbered, chunk.len(), 1)
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(store.pool()).await? {
            let id: String = row.try_get("point_id")?;
            // `ids` is sorted, so the borrowed id is found without a copy kept per row.
            if let Ok(i) = chunk.binary_search(&id.as_str()) {
                found.insert(chunk[i], row.try_get("point_key")?);
            }
        }
    }
    Ok(found)
}

/// Readings under their points' `keys` (see [`PointKeys`]), inside the caller's
/// transaction. A reading already stored (same point, millisecond and value; the table's
/// key, see migration 0010) is skipped: it carries nothing the stored one does not.
pub(crate) async fn insert_readings_in(
    tx: &mut sqlx::AnyConnection,
    rows: &[Reading],
    keys: &[i64],
) -> Result<(), StoreError> {
    let rows: Vec<(&Reading, i64)> = rows.iter().zip(keys.iter().copied()).collect();
    for chunk in statement_chunks(&rows) {
        let sql = format!(
            "insert into readings (point_key, ts_ms, value) values {} on conflict do nothing",
            placeholders(tx, chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for (r, key) in chunk {
            q = q.bind(*key).bind(ms(r.at)).bind(r.value);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Journal entries, inside the caller's transaction (ids are assigned by the database).
pub(crate) async fn insert_events_in(
    tx: &mut sqlx::AnyConnection,
    rows: &[JournalRow],
) -> Result<(), StoreError> {
    for chunk in statement_chunks(rows) {
        let sql = format!(
            "insert into events (ts_ms, kind, subject, body) values {}",
            placeholders(tx, chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for (at, kind, subject, body) in chunk {
            q = q
                .bind(ms(*at))
                .bind(kind.as_str())
                .bind(subject.as_str())
                .bind(body.as_str());
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

impl Store {
    /// Writes readings in one transaction.
    pub async fn insert_readings(&self, rows: &[Reading]) -> Result<(), StoreError> {
        let keys = PointKeys::default()
            .of(self, rows, &vec![None; rows.len()])
            .await?;
        let mut tx = self.write_tx().await?;
        insert_readings_in(&mut tx, rows, &keys).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes journal entries in one transaction.
    pub async fn insert_events(&self, rows: &[JournalRow]) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        insert_events_in(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A point's history since `since`, oldest first, at most `limit` rows.
    pub async fn readings(
        &self,
        point: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Reading>, StoreError> {
        self.readings_page(point, (ms(since), i64::MAX), 0, limit)
            .await
    }

    /// A page of a point's readings with `between.0 <= ts_ms < between.1`, oldest first.
    pub async fn readings_page(
        &self,
        point: &str,
        between: (i64, i64),
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Reading>, StoreError> {
        let rows = sqlx::query(PAGE_SQL)
            .bind(point.to_owned())
            .bind(between.0)
            .bind(between.1)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await?;
        let point: PointId = point.into();
        rows.iter().map(|r| reading_row(&point, r)).collect()
    }

    /// A point's newest `limit` readings since `since`, oldest first: the recent end of
    /// the history, for a sparkline, even when the window holds more rows than `limit`.
    pub async fn recent_readings(
        &self,
        point: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Reading>, StoreError> {
        let rows = sqlx::query(RECENT_SQL)
            .bind(point.to_owned())
            .bind(ms(since))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let point: PointId = point.into();
        let mut out = rows
            .iter()
            .map(|r| reading_row(&point, r))
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.reverse();
        Ok(out)
    }

    /// The newest `n` journal entries of a kind, newest first.
    pub async fn latest_events(&self, kind: &str, n: i64) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query(
            "select event_id, ts_ms, kind, subject, body from events where kind = $1 order by event_id desc limit $2",
        )
        .bind(kind.to_owned())
        .bind(n)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event_row).collect()
    }

    /// The newest `n` journal entries of a kind about one subject (an alarm), newest first.
    pub async fn latest_events_of(
        &self,
        kind: &str,
        subject: &str,
        n: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query(
            "select event_id, ts_ms, kind, subject, body from events \
             where kind = $1 and subject = $2 order by event_id desc limit $3",
        )
        .bind(kind.to_owned())
        .bind(subject.to_owned())
        .bind(n)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event_row).collect()
    }

    /// Journal entries after `after_id`, oldest first, optionally of one kind.
    pub async fn events(
        &self,
        after_id: i64,
        kind: Option<&str>,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        self.events_page(after_id, kind, (i64::MIN, i64::MAX), 0, limit)
            .await
    }

    /// A page of journal entries after `after_id` with `between.0 <= ts_ms < between.1`,
    /// oldest first, optionally of one kind.
    pub async fn events_page(
        &self,
        after_id: i64,
        kind: Option<&str>,
        between: (i64, i64),
        offset: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query(
            "select event_id, ts_ms, kind, subject, body from events where event_id > $1 \
             and ($2 = '' or kind = $2) and ts_ms >= $3 and ts_ms < $4 \
             order by event_id limit $5 offset $6",
        )
        .bind(after_id)
        .bind(kind.unwrap_or("").to_owned())
        .bind(between.0)
        .bind(between.1)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event_row).collect()
    }
}

fn reading_row(point: &PointId, r: &sqlx::any::AnyRow) -> Result<Reading, StoreError> {
    Ok(Reading {
        point: point.clone(),
        at: from_ms(r.try_get("ts_ms")?),
        value: r.try_get("value")?,
    })
}

fn event_row(r: &sqlx::any::AnyRow) -> Result<EventRow, StoreError> {
    let body: String = r.try_get("body")?;
    Ok(EventRow {
        id: r.try_get("event_id")?,
        at: from_ms(r.try_get("ts_ms")?),
        kind: r.try_get("kind")?,
        subject: r.try_get("subject")?,
        body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migrated SQLite store in a directory of its own (kept while the guard lives).
    async fn fresh_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("h.db").display());
        let store = Store::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        (dir, store)
    }

    /// Both readers search the primary key, in its order, and find the point's key by
    /// `point_keys`' unique index: no scan, no sort.
    #[tokio::test]
    async fn readers_search_the_primary_key_on_sqlite() {
        let (_dir, store) = fresh_store().await;
        for sql in [PAGE_SQL, RECENT_SQL] {
            let plan: Vec<String> = sqlx::query(&format!("explain query plan {sql}"))
                .fetch_all(store.pool())
                .await
                .expect("plan")
                .iter()
                .map(|r| r.try_get("detail").expect("detail"))
                .collect();
            let searches = |table: &str, key: &str| {
                plan.iter()
                    .any(|p| p.starts_with(&format!("SEARCH {table} USING {key}")))
            };
            assert!(
                searches("readings", "PRIMARY KEY (point_key=? AND ts_ms>?"),
                "{sql}: {plan:?}"
            );
            assert!(
                searches(
                    "point_keys",
                    "COVERING INDEX sqlite_autoindex_point_keys_1 (point_id=?)"
                ),
                "{sql}: {plan:?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|p| p.contains("SCAN") || p.contains("TEMP B-TREE")),
                "{sql}: {plan:?}"
            );
        }
    }

    type Samples = (Vec<Reading>, Vec<Option<HubSlot>>);

    /// The samples a hub of three meter points makes of `values`, and the hub's point ids
    /// in its order.
    fn hub_samples(values: &[(&str, f64)]) -> (Samples, Vec<PointId>) {
        use sitewatch_core::points::{DeviceSpec, PointEvent, PointSpec, PointsHub, SourceEvent};
        let spec = |id: &str| PointSpec {
            id: id.into(),
            device: "meter".into(),
            unit: "kWh".into(),
            stale_after: None,
            history_deadband: 0.0,
            history_heartbeat: chrono::Duration::seconds(300),
        };
        let mut hub = PointsHub::new(
            vec![DeviceSpec {
                id: "meter".into(),
                comm_loss_after: 3,
            }],
            ["meter.a", "meter.b", "meter.c"].map(spec).to_vec(),
        );
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let ids = hub.points().map(|p| p.id.clone()).collect();
        let values = values.iter().map(|(p, v)| ((*p).into(), *v)).collect();
        let event = SourceEvent::Polled {
            device: "meter".into(),
            values,
        };
        let samples = hub
            .handle(event, at)
            .into_iter()
            .filter_map(|e| match e {
                PointEvent::Sample {
                    point,
                    value,
                    at,
                    slot,
                    ..
                } => Some((Reading { point, at, value }, slot)),
                _ => None,
            })
            .unzip();
        (samples, ids)
    }

    async fn key_count(store: &Store) -> i64 {
        sqlx::query("select count(*) as n from point_keys")
            .fetch_one(store.pool())
            .await
            .expect("count")
            .try_get("n")
            .expect("n")
    }

    /// Each point gets one key, kept by the database: the writer's array by hub slot, a
    /// reading without a slot, and a writer after a restart all find the same key.
    #[tokio::test]
    async fn a_point_keeps_one_key() {
        let (_dir, store) = fresh_store().await;
        let ((rows, slots), _) =
            hub_samples(&[("meter.c", 3.0), ("meter.a", 1.0), ("meter.b", 2.0)]);
        assert!(slots.iter().all(Option::is_some));

        let mut keys = PointKeys::default();
        let first = keys.of(&store, &rows, &slots).await.expect("keys");
        let mut distinct = first.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 3, "{first:?}");
        assert_eq!(key_count(&store).await, 3);
        assert_eq!(keys.by_slot.capacity(), 3, "8 bytes a point, no spare room");

        assert_eq!(keys.of(&store, &rows, &slots).await.expect("again"), first);
        let unslotted = vec![None; rows.len()];
        let by_id = PointKeys::default()
            .of(&store, &rows, &unslotted)
            .await
            .expect("by id");
        assert_eq!(by_id, first);
        let ((b, b_slot), _) = hub_samples(&[("meter.b", 5.0)]);
        assert_eq!(
            keys.of(&store, &b, &b_slot).await.expect("b"),
            vec![first[2]]
        );
        assert_eq!(key_count(&store).await, 3, "no point got a second key");
    }

    /// Keys loaded at start for the hub's points are the keys its samples are written
    /// under: a point known from an earlier run keeps its key, a new one gets its own, and
    /// no sample needs a look-up of its own afterwards.
    #[tokio::test]
    async fn keys_loaded_at_start_follow_the_hub() {
        let (_dir, store) = fresh_store().await;
        let ((rows, slots), ids) =
            hub_samples(&[("meter.b", 2.0), ("meter.c", 3.0), ("meter.a", 1.0)]);
        // An earlier run knew meter.b only.
        let earlier = PointKeys::default()
            .of(&store, &rows[..1], &[None])
            .await
            .expect("earlier")[0];

        let mut keys = PointKeys::for_hub(&store, &ids).await.expect("for hub");
        assert_eq!(keys.by_slot.len(), ids.len());
        assert!(keys.by_slot.iter().all(|k| *k != 0), "{:?}", keys.by_slot);
        assert_eq!(key_count(&store).await, 3);
        let by_id = PointKeys::default()
            .of(&store, &rows, &vec![None; rows.len()])
            .await
            .expect("by id");
        assert_eq!(by_id[0], earlier, "meter.b kept its key");
        assert!(slots.iter().all(|s| keys.known(*s).is_some()));
        assert_eq!(
            keys.of(&store, &rows, &slots).await.expect("by slot"),
            by_id
        );
    }
}
