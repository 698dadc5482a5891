//! The compliance register from a spreadsheet's CSV (rules.md §13.24): every row is
//! checked before anything is written and every bad row is named by its line, so a file
//! imports whole or not at all. `next_due` may be left empty when `last_inspected` is
//! given: the next is then one interval after it.

use chrono::Duration;
use sitewatch_core::compliance::{ComplianceItem, ComplianceKind};

use super::RowProblem;
use super::sheet::{Cells, Sheet, count, day, get, required};

/// The columns, in the order a template lists them.
const COLUMNS: [&str; 8] = [
    "id",
    "kind",
    "name",
    "interval_days",
    "last_inspected",
    "next_due",
    "certificate_file",
    "contractor",
];
const REQUIRED: [&str; 5] = ["id", "kind", "name", "interval_days", "contractor"];

/// Parses and checks a whole file; the items, or every problem found.
pub fn parse(text: &str) -> Result<Vec<ComplianceItem>, Vec<RowProblem>> {
    Sheet {
        columns: &COLUMNS,
        required: &REQUIRED,
        row,
        id: |item: &ComplianceItem| &item.id,
    }
    .parse(text)
}

/// One row as an item, or why not.
fn row(cells: &Cells) -> Result<ComplianceItem, String> {
    let get = |c: &str| get(cells, c);
    let required = |c: &str| required(cells, c);
    let kind = required("kind")?;
    let kind = ComplianceKind::parse(&kind).ok_or_else(|| {
        let known: Vec<&str> = ComplianceKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind `{kind}` (one of {})", known.join(", "))
    })?;
    required("interval_days")?;
    let interval_days = count(cells, "interval_days", "days")?.unwrap_or_default();
    let last_inspected = day(cells, "last_inspected")?;
    let next_due = match (day(cells, "next_due")?, last_inspected) {
        (Some(d), _) => d,
        (None, Some(last)) => last + Duration::days(i64::from(interval_days)),
        (None, None) => return Err("give `next_due` or `last_inspected`".into()),
    };
    let certificate = match get("certificate_file") {
        "" => None,
        v => Some(
            v.parse()
                .map_err(|_| format!("`certificate_file` `{v}` is not a file number"))?,
        ),
    };
    Ok(ComplianceItem {
        id: required("id")?,
        kind,
        name: required("name")?,
        last_inspected,
        interval_days,
        next_due,
        certificate,
        contractor: required("contractor")?,
    })
}
