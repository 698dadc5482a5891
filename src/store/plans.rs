//! Site plans: per building and floor an image (a row of `files`) and the markers an
//! admin placed on it. A register the HTTP side writes directly, as it writes files and
//! the unit register: nothing here is a decision of the engine's books.

use sqlx::Row;

use super::{Store, StoreError};

/// One plan: where it is, its image and who last changed it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    /// Building, as the site names it (the units register's building id).
    pub building: String,
    /// Floor, as the site writes it (`B1`, `3`, `roof`).
    pub floor: String,
    /// The image's file id.
    pub file_id: String,
    /// Who set the image or the markers last.
    pub updated_by: String,
    /// When, ms since the epoch.
    pub updated_ms: i64,
}

/// One thing placed on a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerRow {
    /// `device`, `checkpoint` or `unit`.
    pub kind: String,
    /// The device's, checkpoint's or unit's id.
    pub item_id: String,
    /// From the image's left edge, as a fraction of its width (0 to 1).
    pub x: f64,
    /// From the image's top edge, as a fraction of its height (0 to 1).
    pub y: f64,
}

impl Store {
    /// Every plan, by building then floor.
    pub async fn plans(&self) -> Result<Vec<PlanRow>, StoreError> {
        let rows = sqlx::query(
            "select building, floor, file_id, updated_by, updated_ms from site_plans \
             order by building, floor",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(plan_of).collect()
    }

    /// One plan, if there is one for this building and floor.
    pub async fn plan(&self, building: &str, floor: &str) -> Result<Option<PlanRow>, StoreError> {
        let row = sqlx::query(
            "select building, floor, file_id, updated_by, updated_ms from site_plans \
             where building = $1 and floor = $2",
        )
        .bind(building.to_owned())
        .bind(floor.to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(plan_of).transpose()
    }

    /// The markers of a plan, by kind then id.
    pub async fn plan_markers(
        &self,
        building: &str,
        floor: &str,
    ) -> Result<Vec<MarkerRow>, StoreError> {
        let rows = sqlx::query(
            "select kind, item_id, x, y from plan_markers where building = $1 and floor = $2 \
             order by kind, item_id",
        )
        .bind(building.to_owned())
        .bind(floor.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MarkerRow {
                    kind: r.try_get("kind")?,
                    item_id: r.try_get("item_id")?,
                    x: r.try_get("x")?,
                    y: r.try_get("y")?,
                })
            })
            .collect()
    }

    /// Sets (or replaces) a plan's image; its markers stay where they were.
    pub async fn set_plan_image(&self, plan: &PlanRow) -> Result<(), StoreError> {
        sqlx::query(
            "insert into site_plans (building, floor, file_id, updated_by, updated_ms) \
             values ($1, $2, $3, $4, $5) on conflict (building, floor) do update set \
             file_id = excluded.file_id, updated_by = excluded.updated_by, \
             updated_ms = excluded.updated_ms",
        )
        .bind(plan.building.clone())
        .bind(plan.floor.clone())
        .bind(plan.file_id.clone())
        .bind(plan.updated_by.clone())
        .bind(plan.updated_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Replaces every marker of an existing plan in one transaction, and notes who did it.
    pub async fn set_plan_markers(
        &self,
        building: &str,
        floor: &str,
        markers: &[MarkerRow],
        by: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("delete from plan_markers where building = $1 and floor = $2")
            .bind(building.to_owned())
            .bind(floor.to_owned())
            .execute(&mut *tx)
            .await?;
        for m in markers {
            sqlx::query(
                "insert into plan_markers (building, floor, kind, item_id, x, y) \
                 values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(building.to_owned())
            .bind(floor.to_owned())
            .bind(m.kind.clone())
            .bind(m.item_id.clone())
            .bind(m.x)
            .bind(m.y)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "update site_plans set updated_by = $1, updated_ms = $2 \
             where building = $3 and floor = $4",
        )
        .bind(by.to_owned())
        .bind(at_ms)
        .bind(building.to_owned())
        .bind(floor.to_owned())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A stored file's content type, without reading its bytes.
    pub async fn file_type(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("select content_type from files where file_id = $1")
            .bind(id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("content_type")).transpose()?)
    }
}

fn plan_of(r: &sqlx::any::AnyRow) -> Result<PlanRow, StoreError> {
    Ok(PlanRow {
        building: r.try_get("building")?,
        floor: r.try_get("floor")?,
        file_id: r.try_get("file_id")?,
        updated_by: r.try_get("updated_by")?,
        updated_ms: r.try_get("updated_ms")?,
    })
}
