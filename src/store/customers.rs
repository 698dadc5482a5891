//! The unit register (业户档案): buildings, floors, units, their owners and tenants, and
//! every occupancy change with its meter base readings. An import writes in one
//! transaction, so a failure leaves the register as it was.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError};
use crate::register::{Contact, ContactChannel, MeterBase, Occupancy, OccupancyChange, Role, Unit};

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    /// Units new to the register.
    pub created: usize,
    /// Units already there, updated.
    pub updated: usize,
    /// Units whose occupancy changed.
    pub occupancy_changed: usize,
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Store {
    /// Writes every unit of an import (new or updated) in one transaction.
    pub async fn import_units(
        &self,
        units: &[Unit],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportSummary, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut summary = ImportSummary::default();
        let mut central = self.outside();
        for unit in units {
            central.push("unit", now, &unit.id, unit);
            upsert_place(&mut tx, unit, now).await?;
            let before = occupancy_in(&mut tx, &unit.id).await?;
            match before {
                None => {
                    insert_unit(&mut tx, unit, now).await?;
                    summary.created += 1;
                }
                Some(_) => {
                    update_unit(&mut tx, unit, now).await?;
                    summary.updated += 1;
                }
            }
            if before != Some(unit.occupancy) {
                let change = OccupancyChange {
                    unit: unit.id.clone(),
                    occupancy: unit.occupancy,
                    at: now,
                    actor: actor.to_owned(),
                    meters: MeterBase::default(),
                };
                record_change(&mut tx, &change).await?;
                central.push("occupancy", now, &unit.id, &change);
                summary.occupancy_changed += usize::from(before.is_some());
            }
            for c in &unit.contacts {
                upsert_contact(&mut tx, &unit.id, c, now).await?;
            }
        }
        self.feed_in(&mut tx, central).await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// How many units the register holds.
    pub async fn unit_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("select count(*) as n from units")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Units, optionally of one building or occupancy, by id, with their people.
    pub async fn units(
        &self,
        building: Option<&str>,
        occupancy: Option<Occupancy>,
    ) -> Result<Vec<Unit>, StoreError> {
        let rows = sqlx::query(
            "select unit_id, building_id, floor_id, label, area_m2, occupancy, occupancy_since_ms, cs_person \
             from units where ($1 = '' or building_id = $1) and ($2 = '' or occupancy = $2) order by unit_id",
        )
        .bind(building.unwrap_or("").to_owned())
        .bind(occupancy.map_or("", Occupancy::as_str).to_owned())
        .fetch_all(self.pool())
        .await?;
        let mut units: Vec<Unit> = rows.iter().map(unit_of).collect::<Result<_, _>>()?;
        let contacts = self.contacts().await?;
        for u in &mut units {
            u.contacts = contacts
                .iter()
                .filter(|(id, _)| *id == u.id)
                .map(|(_, c)| c.clone())
                .collect();
        }
        Ok(units)
    }

    /// One unit with its people.
    pub async fn unit(&self, id: &str) -> Result<Option<Unit>, StoreError> {
        let row = sqlx::query(
            "select unit_id, building_id, floor_id, label, area_m2, occupancy, occupancy_since_ms, cs_person \
             from units where unit_id = $1",
        )
        .bind(id.to_owned())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut unit = unit_of(&row)?;
        unit.contacts = self
            .contacts()
            .await?
            .into_iter()
            .filter(|(u, _)| *u == unit.id)
            .map(|(_, c)| c)
            .collect();
        Ok(Some(unit))
    }

    async fn contacts(&self) -> Result<Vec<(String, Contact)>, StoreError> {
        let rows = sqlx::query(
            "select unit_id, role, name, phone, email, preferred_channel from unit_contacts order by unit_id, role",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                let channel: String = r.try_get("preferred_channel")?;
                let contact = Contact {
                    role: if role == "tenant" {
                        Role::Tenant
                    } else {
                        Role::Owner
                    },
                    name: r.try_get("name")?,
                    phone: r.try_get("phone")?,
                    email: r.try_get("email")?,
                    preferred_channel: ContactChannel::parse(&channel)
                        .unwrap_or(ContactChannel::Phone),
                };
                Ok((r.try_get("unit_id")?, contact))
            })
            .collect()
    }

    /// Sets a unit's occupancy, keeping the change and its meter bases. Returns false
    /// when the unit already had this occupancy (nothing written).
    pub async fn set_occupancy(&self, change: &OccupancyChange) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        if occupancy_in(&mut tx, &change.unit).await? == Some(change.occupancy) {
            return Ok(false);
        }
        sqlx::query(
            "update units set occupancy = $1, occupancy_since_ms = $2, updated_at_ms = $2 where unit_id = $3",
        )
        .bind(change.occupancy.as_str())
        .bind(ms(change.at))
        .bind(change.unit.clone())
        .execute(&mut *tx)
        .await?;
        record_change(&mut tx, change).await?;
        let mut central = self.outside();
        central.push("occupancy", change.at, &change.unit, change);
        self.feed_in(&mut tx, central).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets (or, with `None`, clears) a unit's own customer-service person (贴心管家).
    /// Returns false when the register has no such unit.
    pub async fn set_cs_person(
        &self,
        unit: &str,
        person: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done =
            sqlx::query("update units set cs_person = $1, updated_at_ms = $2 where unit_id = $3")
                .bind(person.map(str::to_owned))
                .bind(ms(now))
                .bind(unit.to_owned())
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() > 0 {
            let mut central = self.outside();
            let body = serde_json::json!({"unit": unit, "cs_person": person});
            central.push("unit_cs_person", now, unit, &body);
            self.feed_in(&mut tx, central).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// A unit's occupancy history, oldest first.
    pub async fn occupancy_history(&self, unit: &str) -> Result<Vec<OccupancyChange>, StoreError> {
        let rows = sqlx::query(
            "select unit_id, occupancy, at_ms, actor, water_base, power_base from occupancy_changes \
             where unit_id = $1 order by at_ms, occupancy_change_id",
        )
        .bind(unit.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let occupancy: String = r.try_get("occupancy")?;
                Ok(OccupancyChange {
                    unit: r.try_get("unit_id")?,
                    occupancy: Occupancy::parse(&occupancy).unwrap_or(Occupancy::Occupied),
                    at: from_ms(r.try_get("at_ms")?),
                    actor: r.try_get("actor")?,
                    meters: MeterBase {
                        water: r.try_get("water_base")?,
                        power: r.try_get("power_base")?,
                    },
                })
            })
            .collect()
    }

    /// Every vacant unit with the time it became vacant.
    pub async fn vacant_units(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let rows = sqlx::query(
            "select unit_id, occupancy_since_ms from units where occupancy = 'vacant' order by unit_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("unit_id")?,
                    from_ms(r.try_get("occupancy_since_ms")?),
                ))
            })
            .collect()
    }
}

fn unit_of(r: &AnyRow) -> Result<Unit, StoreError> {
    let occupancy: String = r.try_get("occupancy")?;
    let floor: String = r.try_get("floor_id")?;
    Ok(Unit {
        id: r.try_get("unit_id")?,
        building: r.try_get("building_id")?,
        floor: floor.rsplit('/').next().unwrap_or_default().to_owned(),
        label: r.try_get("label")?,
        area_m2: r.try_get("area_m2")?,
        occupancy: Occupancy::parse(&occupancy).unwrap_or(Occupancy::Occupied),
        occupancy_since: from_ms(r.try_get("occupancy_since_ms")?),
        contacts: Vec::new(),
        cs_person: r.try_get("cs_person")?,
    })
}

fn floor_id(unit: &Unit) -> String {
    format!("{}/{}", unit.building, unit.floor)
}

async fn upsert_place(
    tx: &mut Transaction<'_, Any>,
    unit: &Unit,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into buildings (building_id, name, created_at_ms, updated_at_ms) values ($1, $1, $2, $2) \
         on conflict (building_id) do nothing",
    )
    .bind(unit.building.clone())
    .bind(ms(now))
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "insert into floors (floor_id, building_id, label, created_at_ms, updated_at_ms) values ($1, $2, $3, $4, $4) \
         on conflict (floor_id) do nothing",
    )
    .bind(floor_id(unit))
    .bind(unit.building.clone())
    .bind(unit.floor.clone())
    .bind(ms(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn occupancy_in(
    tx: &mut Transaction<'_, Any>,
    unit: &str,
) -> Result<Option<Occupancy>, StoreError> {
    let row = sqlx::query("select occupancy from units where unit_id = $1")
        .bind(unit.to_owned())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row
        .map(|r| r.try_get::<String, _>("occupancy"))
        .transpose()?
        .and_then(|o| Occupancy::parse(&o)))
}

async fn insert_unit(
    tx: &mut Transaction<'_, Any>,
    unit: &Unit,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into units (unit_id, building_id, floor_id, label, area_m2, occupancy, occupancy_since_ms, created_at_ms, updated_at_ms, cs_person) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
    )
    .bind(unit.id.clone())
    .bind(unit.building.clone())
    .bind(floor_id(unit))
    .bind(unit.label.clone())
    .bind(unit.area_m2)
    .bind(unit.occupancy.as_str())
    .bind(ms(unit.occupancy_since))
    .bind(ms(now))
    .bind(unit.cs_person.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Updates a unit; its occupancy-since moves only when the occupancy changes.
async fn update_unit(
    tx: &mut Transaction<'_, Any>,
    unit: &Unit,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "update units set floor_id = $1, area_m2 = $2, \
         occupancy_since_ms = case when occupancy = $3 then occupancy_since_ms else $4 end, \
         occupancy = $3, updated_at_ms = $4, cs_person = $6 where unit_id = $5",
    )
    .bind(floor_id(unit))
    .bind(unit.area_m2)
    .bind(unit.occupancy.as_str())
    .bind(ms(now))
    .bind(unit.id.clone())
    .bind(unit.cs_person.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_contact(
    tx: &mut Transaction<'_, Any>,
    unit: &str,
    c: &Contact,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into unit_contacts (unit_id, role, name, phone, email, preferred_channel, created_at_ms, updated_at_ms) \
         values ($1, $2, $3, $4, $5, $6, $7, $7) on conflict (unit_id, role) do update set \
         name = excluded.name, phone = excluded.phone, email = excluded.email, \
         preferred_channel = excluded.preferred_channel, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(unit.to_owned())
    .bind(c.role.as_str())
    .bind(c.name.clone())
    .bind(c.phone.clone())
    .bind(c.email.clone())
    .bind(c.preferred_channel.as_str())
    .bind(ms(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn record_change(
    tx: &mut Transaction<'_, Any>,
    c: &OccupancyChange,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into occupancy_changes (unit_id, occupancy, at_ms, actor, water_base, power_base, created_at_ms) \
         values ($1, $2, $3, $4, $5, $6, $3)",
    )
    .bind(c.unit.clone())
    .bind(c.occupancy.as_str())
    .bind(ms(c.at))
    .bind(c.actor.clone())
    .bind(c.meters.water)
    .bind(c.meters.power)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
