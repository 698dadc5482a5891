//! The unit register from a spreadsheet's CSV: every row is checked before anything is
//! written, and every bad row is reported with its line number and reason, so a file
//! either imports whole or not at all.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use csv::StringRecord;
use serde::Serialize;

use super::sheet;
use crate::register::{Contact, ContactChannel, Occupancy, Role, Unit};

/// Columns a file must have.
const REQUIRED: [&str; 5] = ["building", "floor", "unit", "occupancy", "owner_name"];
/// Columns a file may have.
const OPTIONAL: [&str; 7] = [
    "area_m2",
    "cs_person",
    "owner_phone",
    "owner_email",
    "preferred_channel",
    "tenant_name",
    "tenant_phone",
];

/// A row that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    /// Line in the file (1 is the header).
    pub line: u64,
    /// What is wrong with it.
    pub reason: String,
}

impl RowProblem {
    pub(crate) fn new(line: u64, reason: impl Into<String>) -> Self {
        Self {
            line,
            reason: reason.into(),
        }
    }
}

/// The file as text. It must be UTF-8 (a spreadsheet saved as GBK, say, is not): the
/// problem names the first line that is not, and how to save the file, rather than a
/// byte offset.
pub fn text_of(file: &[u8]) -> Result<&str, RowProblem> {
    std::str::from_utf8(file).map_err(|e| {
        let before = file.get(..e.valid_up_to()).unwrap_or_default();
        let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        RowProblem::new(
            line,
            "the file is not UTF-8 text: save it as UTF-8 (in Excel, \"CSV UTF-8\") and import it again",
        )
    })
}

/// Parses and checks a whole file; the units, or every problem found.
pub fn parse_units(text: &str, now: DateTime<Utc>) -> Result<Vec<Unit>, Vec<RowProblem>> {
    let mut reader = sheet::reader(text);
    let columns = sheet::header(&mut reader, &REQUIRED, &OPTIONAL)?;
    let mut units = Vec::new();
    let mut problems = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
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
        };
        match row.unit(now) {
            Ok(unit) => match seen.insert(unit.id.clone(), line) {
                Some(first) => problems.push(RowProblem::new(
                    line,
                    format!("unit {} is already on line {first}", unit.id),
                )),
                None => units.push(unit),
            },
            Err(reason) => problems.push(RowProblem::new(line, reason)),
        }
    }
    if units.is_empty() && problems.is_empty() {
        problems.push(RowProblem::new(1, "the file has no units"));
    }
    if problems.is_empty() {
        Ok(units)
    } else {
        Err(problems)
    }
}

struct Row<'a> {
    record: &'a StringRecord,
    columns: &'a BTreeMap<String, usize>,
}

impl Row<'_> {
    fn get(&self, column: &str) -> Option<&str> {
        let i = *self.columns.get(column)?;
        self.record.get(i).filter(|v| !v.is_empty())
    }

    fn required(&self, column: &str) -> Result<&str, String> {
        self.get(column)
            .ok_or_else(|| format!("`{column}` is empty"))
    }

    fn unit(&self, now: DateTime<Utc>) -> Result<Unit, String> {
        let building = code(self.required("building")?, "building")?;
        let floor = code(self.required("floor")?, "floor")?;
        let label = code(self.required("unit")?, "unit")?;
        let occupancy_text = self.required("occupancy")?;
        let occupancy = Occupancy::parse(occupancy_text).ok_or_else(|| {
            format!("occupancy `{occupancy_text}` is not occupied, vacant or under_renovation")
        })?;
        let area_m2 = self.get("area_m2").map(area).transpose()?;
        let mut contacts = vec![self.owner()?];
        contacts.extend(self.tenant()?);
        Ok(Unit {
            id: Unit::id_of(building, label),
            building: building.to_owned(),
            floor: floor.to_owned(),
            label: label.to_owned(),
            area_m2,
            occupancy,
            occupancy_since: now,
            contacts,
            cs_person: self.get("cs_person").map(|p| p.trim().to_owned()),
        })
    }

    fn owner(&self) -> Result<Contact, String> {
        let phone = self.get("owner_phone").map(phone).transpose()?;
        let email = self.get("owner_email").map(email).transpose()?;
        let preferred_channel = match self.get("preferred_channel") {
            None => ContactChannel::Phone,
            Some(text) => ContactChannel::parse(text).ok_or_else(|| {
                format!("preferred_channel `{text}` is not phone, sms, paper, email or wechat")
            })?,
        };
        let reachable = match preferred_channel {
            ContactChannel::Phone | ContactChannel::Sms | ContactChannel::Wechat => phone.is_some(),
            ContactChannel::Email => email.is_some(),
            ContactChannel::Paper => true,
        };
        if !reachable {
            return Err(format!(
                "preferred_channel is {} but the owner has no {}",
                preferred_channel.as_str(),
                if preferred_channel == ContactChannel::Email {
                    "email"
                } else {
                    "phone"
                }
            ));
        }
        Ok(Contact {
            role: Role::Owner,
            name: self.required("owner_name")?.to_owned(),
            phone,
            email,
            preferred_channel,
        })
    }

    fn tenant(&self) -> Result<Option<Contact>, String> {
        let phone = self.get("tenant_phone").map(phone).transpose()?;
        match (self.get("tenant_name"), phone) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err("`tenant_phone` is given without `tenant_name`".to_owned()),
            (Some(name), phone) => Ok(Some(Contact {
                role: Role::Tenant,
                name: name.to_owned(),
                preferred_channel: ContactChannel::Phone,
                phone,
                email: None,
            })),
        }
    }
}

/// A building, floor or unit code: short, no spaces or separators that ids use.
fn code<'a>(text: &'a str, column: &str) -> Result<&'a str, String> {
    let ok = text.len() <= 32 && !text.contains(char::is_whitespace) && !text.contains('/');
    ok.then_some(text).ok_or_else(|| {
        format!("`{column}` `{text}` must be at most 32 characters without spaces or `/`")
    })
}

fn area(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 100_000.0 => Ok(v),
        _ => Err(format!("area_m2 `{text}` is not a positive number of m²")),
    }
}

fn phone(text: &str) -> Result<String, String> {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let allowed = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
    if allowed && (5..=20).contains(&digits) {
        Ok(text.to_owned())
    } else {
        Err(format!("phone `{text}` is not a phone number"))
    }
}

fn email(text: &str) -> Result<String, String> {
    match text.split_once('@') {
        Some((user, host)) if !user.is_empty() && host.contains('.') => Ok(text.to_owned()),
        _ => Err(format!("email `{text}` is not an email address")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // House rule: unwrap is allowed in tests.
mod tests {
    use super::*;

    const HEAD: &str = "building,floor,unit,area_m2,occupancy,owner_name,owner_phone,owner_email,preferred_channel,tenant_name,tenant_phone\n";

    #[test]
    fn a_good_file_gives_every_unit_with_its_people() {
        let text = format!(
            "{HEAD}1,3,0302,89.5,occupied,王芳,13800000001,,sms,李雷,13900000002\n1,3,0303,,空置,张伟,,,paper,,\n"
        );
        let units = parse_units(&text, Utc::now()).unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].id, "1-0302");
        assert_eq!(units[0].contacts.len(), 2);
        assert_eq!(units[1].occupancy, Occupancy::Vacant);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let text = format!(
            "{HEAD}1,3,0302,89.5,occupied,王芳,13800000001,,sms,,\n1,3,0303,-5,occupied,张伟,,,,,\n1,3,0304,70,moved,赵六,13800000003,,,,\n1,3,0302,70,vacant,钱七,,,paper,,\n"
        );
        let problems = parse_units(&text, Utc::now()).unwrap_err();
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![3, 4, 5], "{problems:?}");
        assert!(problems[2].reason.contains("line 2"));
    }

    #[test]
    fn a_missing_column_is_reported_on_the_header() {
        let problems = parse_units("building,floor,unit\n1,1,0101\n", Utc::now()).unwrap_err();
        assert!(problems.iter().all(|p| p.line == 1));
        assert!(problems.iter().any(|p| p.reason.contains("owner_name")));
    }
}
