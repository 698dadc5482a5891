//! The meter register from a spreadsheet's CSV (issue 24): every row is checked against
//! the gateways and profiles of the site config and the unit register before anything is
//! written, and every bad row is named with its line, so a file imports whole or not at
//! all. An import replaces the register.

use std::collections::{BTreeMap, HashMap, HashSet};

use csv::StringRecord;

use super::{RowProblem, sheet};
use crate::register::meters::{Meter, MeterKind};

/// Columns a file must have.
const REQUIRED: [&str; 6] = ["meter", "unit", "kind", "profile", "gateway", "unit_id"];
/// Columns a file may have.
const OPTIONAL: [&str; 1] = ["multiplier"];

/// What a register is checked against: the config's gateways and profiles, the unit
/// register's units and the plant's device ids (a meter's id is its device id).
#[derive(Debug, Default)]
pub struct Known {
    /// Gateway ids (`[[gateways]]`).
    pub gateways: HashSet<String>,
    /// Each profile's counter units (`kWh`, `m3`), by profile id.
    pub profiles: HashMap<String, Vec<String>>,
    /// Unit ids of the unit register.
    pub units: HashSet<String>,
    /// The plant's `[[devices]]` ids.
    pub devices: HashSet<String>,
}

/// Parses and checks a whole file: the meters in file order, or every problem found.
pub fn parse_meters(text: &str, known: &Known) -> Result<Vec<Meter>, Vec<RowProblem>> {
    let mut reader = sheet::reader(text);
    let columns = sheet::header(&mut reader, &REQUIRED, &OPTIONAL)?;
    let mut meters = Vec::new();
    let mut problems = Vec::new();
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut places: HashMap<(String, u8), u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(RowProblem::new(line, format!("unreadable row: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let row = Row {
            record: &record,
            columns: &columns,
            known,
        };
        let meter = match row.meter() {
            Ok(m) => m,
            Err(reasons) => {
                problems.extend(reasons.into_iter().map(|r| RowProblem::new(line, r)));
                continue;
            }
        };
        if let Some(first) = ids.insert(meter.id.clone(), line) {
            let reason = format!("duplicate meter `{}`: already on line {first}", meter.id);
            problems.push(RowProblem::new(line, reason));
            continue;
        }
        let place = (meter.gateway.clone(), meter.unit_id);
        if let Some(first) = places.insert(place, line) {
            let reason = format!(
                "unit id {} on gateway `{}` is already the meter on line {first}",
                meter.unit_id, meter.gateway
            );
            problems.push(RowProblem::new(line, reason));
            continue;
        }
        meters.push(meter);
    }
    if meters.is_empty() && problems.is_empty() {
        problems.push(RowProblem::new(1, "the file has no meters"));
    }
    if problems.is_empty() {
        Ok(meters)
    } else {
        Err(problems)
    }
}

struct Row<'a> {
    record: &'a StringRecord,
    columns: &'a BTreeMap<String, usize>,
    known: &'a Known,
}

impl Row<'_> {
    fn get(&self, column: &str) -> Option<&str> {
        let i = *self.columns.get(column)?;
        self.record.get(i).filter(|v| !v.is_empty())
    }

    /// The meter, or every reason the row is refused (a row can be wrong in several
    /// columns at once, and each is worth fixing in one go).
    fn meter(&self) -> Result<Meter, Vec<String>> {
        let mut reasons = Vec::new();
        let mut need = |column: &str| {
            let v = self.get(column);
            if v.is_none() {
                reasons.push(format!("`{column}` is empty"));
            }
            v.unwrap_or_default()
        };
        let (id, unit, kind_text) = (need("meter"), need("unit"), need("kind"));
        let (profile, gateway, unit_id_text) = (need("profile"), need("gateway"), need("unit_id"));
        if !reasons.is_empty() {
            return Err(reasons);
        }
        let known = self.known;
        if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            reasons.push(format!("meter id `{id}`: use letters, digits, `_`"));
        }
        if known.devices.contains(id) {
            reasons.push(format!("meter `{id}` has the id of a plant device"));
        }
        if !known.units.contains(unit) {
            reasons.push(format!("unknown unit `{unit}` (not in the unit register)"));
        }
        let kind = MeterKind::parse(kind_text);
        if kind.is_none() {
            reasons.push(format!(
                "kind `{kind_text}` is not electricity, water or gas"
            ));
        }
        match known.profiles.get(profile) {
            None => reasons.push(format!("unknown profile `{profile}`")),
            Some(measures) => {
                if let Some(k) =
                    kind.filter(|k| !measures.iter().any(|m| k.measures().contains(&m.as_str())))
                {
                    reasons.push(format!(
                        "profile `{profile}` has no {} counter ({} meter)",
                        k.measures()[0],
                        k.as_str()
                    ));
                }
            }
        }
        if !known.gateways.contains(gateway) {
            reasons.push(format!(
                "unknown gateway `{gateway}` (not in `[[gateways]]`)"
            ));
        }
        let unit_id = match unit_id_text.parse::<u16>() {
            Ok(n @ 1..=247) => u8::try_from(n).ok(),
            _ => {
                reasons.push(format!("unit_id `{unit_id_text}` is outside 1–247"));
                None
            }
        };
        let multiplier = match self.get("multiplier").map(str::parse::<f64>) {
            None => Some(1.0),
            Some(Ok(m)) if m.is_finite() && m > 0.0 => Some(m),
            Some(_) => {
                let text = self.get("multiplier").unwrap_or_default();
                reasons.push(format!("multiplier `{text}` is not a positive number"));
                None
            }
        };
        match (kind, unit_id, multiplier) {
            (Some(kind), Some(unit_id), Some(multiplier)) if reasons.is_empty() => Ok(Meter {
                id: id.to_owned(),
                unit: unit.to_owned(),
                kind,
                profile: profile.to_owned(),
                gateway: gateway.to_owned(),
                unit_id,
                multiplier,
            }),
            _ => Err(reasons),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // House rule: unwrap is allowed in tests.
mod tests {
    use super::*;

    const HEAD: &str = "meter,unit,kind,profile,gateway,unit_id,multiplier\n";

    fn known() -> Known {
        let set = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect();
        Known {
            gateways: set(&["gw_1", "gw_2"]),
            profiles: [
                ("household_electricity".to_owned(), vec!["kWh".to_owned()]),
                ("household_water".to_owned(), vec!["m3".to_owned()]),
            ]
            .into(),
            units: set(&["1-0101", "1-0102"]),
            devices: set(&["pump_1"]),
        }
    }

    #[test]
    fn a_good_register_gives_every_meter_in_file_order() {
        let text = format!(
            "{HEAD}e_1_0101,1-0101,electricity,household_electricity,gw_1,1,\nw_1_0101,1-0101,water,household_water,gw_2,1,1\ne_1_0102,1-0102,electricity,household_electricity,gw_1,2,40\n"
        );
        let meters = parse_meters(&text, &known()).unwrap();
        let ids: Vec<&str> = meters.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["e_1_0101", "w_1_0101", "e_1_0102"]);
        assert_eq!(meters[0].multiplier, 1.0);
        assert_eq!(meters[2].multiplier, 40.0);
        assert_eq!(meters[1].kind, MeterKind::Water);
    }

    #[test]
    fn every_bad_line_is_named_and_nothing_is_taken() {
        let text = format!(
            "{HEAD}e_1,1-0101,electricity,household_electricity,gw_1,1,\n\
             e_1,1-0102,electricity,household_electricity,gw_1,2,\n\
             e_2,9-9999,electricity,household_electricity,gw_1,3,\n\
             e_3,1-0101,electricity,household_electricity,gw_1,248,\n\
             e_4,1-0101,electricity,household_electricity,gw_9,4,\n\
             e_5,1-0101,electricity,acme_meter,gw_1,5,\n\
             e_6,1-0101,electricity,household_water,gw_1,6,\n\
             e_7,1-0101,steam,household_water,gw_1,7,\n\
             e_8,1-0102,electricity,household_electricity,gw_1,1,\n\
             pump_1,1-0102,electricity,household_electricity,gw_2,1,\n\
             e_9,1-0102,electricity,household_electricity,gw_2,0,-1\n"
        );
        let problems = parse_meters(&text, &known()).unwrap_err();
        let said = |line: u64, what: &str| {
            assert!(
                problems
                    .iter()
                    .any(|p| p.line == line && p.reason.contains(what)),
                "line {line} should say `{what}`: {problems:?}"
            );
        };
        said(3, "duplicate meter `e_1`: already on line 2");
        said(4, "unknown unit `9-9999`");
        said(5, "unit_id `248` is outside 1–247");
        said(6, "unknown gateway `gw_9`");
        said(7, "unknown profile `acme_meter`");
        said(8, "has no kWh counter (electricity meter)");
        said(9, "kind `steam`");
        said(
            10,
            "unit id 1 on gateway `gw_1` is already the meter on line 2",
        );
        said(11, "has the id of a plant device");
        said(12, "unit_id `0` is outside 1–247");
        said(12, "multiplier `-1`");
        assert!(problems.iter().all(|p| p.line != 2), "{problems:?}");
    }

    #[test]
    fn a_missing_column_is_named_on_the_header() {
        let problems = parse_meters("meter,unit\ne_1,1-0101\n", &known()).unwrap_err();
        assert!(problems.iter().all(|p| p.line == 1));
        assert!(problems.iter().any(|p| p.reason.contains("`gateway`")));
    }
}
