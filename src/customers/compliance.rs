//! The compliance register from a spreadsheet's CSV (rules.md §13.24): every row is
//! checked before anything is written and every bad row is named by its line, so a file
//! imports whole or not at all. `next_due` may be left empty when `last_inspected` is
//! given: the next is then one interval after it.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use sitewatch_core::compliance::{ComplianceItem, ComplianceKind};

use super::RowProblem;

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
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let columns = header(&mut reader)?;
    let (mut items, mut problems) = (Vec::new(), Vec::new());
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(RowProblem {
                    line,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cells: Cells = (COLUMNS.iter())
            .map(|c| {
                (
                    *c,
                    columns.get(*c).and_then(|i| record.get(*i)).unwrap_or(""),
                )
            })
            .collect();
        match row(&cells).and_then(|item| match seen.insert(item.id.clone(), line) {
            Some(first) => Err(format!("item {} is already on line {first}", item.id)),
            None => Ok(item),
        }) {
            Ok(item) => items.push(item),
            Err(reason) => problems.push(RowProblem { line, reason }),
        }
    }
    if items.is_empty() && problems.is_empty() {
        problems.push(RowProblem {
            line: 1,
            reason: "the file has no items".into(),
        });
    }
    if problems.is_empty() {
        Ok(items)
    } else {
        Err(problems)
    }
}

fn header(reader: &mut csv::Reader<&[u8]>) -> Result<BTreeMap<String, usize>, Vec<RowProblem>> {
    let at_header = |reason: String| RowProblem { line: 1, reason };
    let headers = reader
        .headers()
        .map_err(|e| vec![at_header(format!("unreadable header: {e}"))])?;
    let columns: BTreeMap<String, usize> = (headers.iter().enumerate())
        .map(|(i, h)| (h.to_lowercase(), i))
        .collect();
    let mut problems: Vec<RowProblem> = (REQUIRED.iter())
        .filter(|c| !columns.contains_key(**c))
        .map(|c| at_header(format!("missing column `{c}`")))
        .collect();
    problems.extend(
        (columns.keys())
            .filter(|c| !COLUMNS.contains(&c.as_str()))
            .map(|c| at_header(format!("unknown column `{c}`"))),
    );
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(problems)
    }
}

/// A row's cells by column (empty when absent).
type Cells<'a> = BTreeMap<&'static str, &'a str>;

/// One row as an item, or why not.
fn row(cells: &Cells) -> Result<ComplianceItem, String> {
    let get = |c: &str| cells.get(c).copied().unwrap_or("");
    let required = |c: &str| match get(c) {
        "" => Err(format!("`{c}` is empty")),
        v => Ok(v.to_owned()),
    };
    let kind = required("kind")?;
    let kind = ComplianceKind::parse(&kind).ok_or_else(|| {
        let known: Vec<&str> = ComplianceKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind `{kind}` (one of {})", known.join(", "))
    })?;
    let interval_days: u32 = match required("interval_days")?.parse() {
        Ok(n) if n > 0 => n,
        _ => {
            return Err(format!(
                "`interval_days` `{}` is not a whole number of days above 0",
                get("interval_days")
            ));
        }
    };
    let last_inspected = day(get("last_inspected"), "last_inspected")?;
    let next_due = match (day(get("next_due"), "next_due")?, last_inspected) {
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

fn day(value: &str, column: &str) -> Result<Option<NaiveDate>, String> {
    match value {
        "" => Ok(None),
        v => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("`{column}` `{v}` is not a date YYYY-MM-DD")),
    }
}
