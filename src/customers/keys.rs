//! The key register from a spreadsheet's CSV (rules.md §13.23, seed 003:555: the cabinet's
//! summary sheet): columns `id, kind, label` and `location, keeper, unit`; all or nothing,
//! bad lines named.

use sitewatch_core::inspections::{KeyKind, KeySetEntry};

use super::RowProblem;
use super::sheet::{Cells, Sheet, get, required};

const COLUMNS: [&str; 6] = ["id", "kind", "label", "location", "keeper", "unit"];
const REQUIRED: [&str; 3] = ["id", "kind", "label"];

/// Parses and checks a whole file; the register's lines, or every problem found.
pub fn parse(text: &str) -> Result<Vec<KeySetEntry>, Vec<RowProblem>> {
    Sheet {
        columns: &COLUMNS,
        required: &REQUIRED,
        row,
        id: |e: &KeySetEntry| &e.id,
    }
    .parse(text)
}

fn row(cells: &Cells) -> Result<KeySetEntry, String> {
    let kind = required(cells, "kind")?;
    let kind = KeyKind::parse(&kind).ok_or_else(|| {
        let known: Vec<&str> = KeyKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind `{kind}` (one of {})", known.join(", "))
    })?;
    let unit = Some(get(cells, "unit").to_owned()).filter(|u| !u.is_empty());
    if kind == KeyKind::VacantUnit && unit.is_none() {
        return Err("a `vacant_unit` key names its `unit`".into());
    }
    Ok(KeySetEntry {
        id: required(cells, "id")?,
        kind,
        label: required(cells, "label")?,
        location: get(cells, "location").to_owned(),
        keeper: get(cells, "keeper").to_owned(),
        unit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_bad_lines_names_each_and_gives_nothing() {
        let file = "id,kind,label,location,keeper\n\
                    K-PR1,plant_room,B1 pump room,A3,cs\n\
                    K-X,garage,Garage,A4,cs\n\
                    K-PR1,roof_door,Roof,A5,cs\n\
                    K-V,vacant_unit,Unit,A6,cs\n";
        let problems = parse(file).expect_err("bad lines");
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 5], "{problems:?}");
        assert!(problems[0].reason.contains("garage"), "{problems:?}");
        assert!(problems[1].reason.contains("line 2"), "{problems:?}");
    }
}
