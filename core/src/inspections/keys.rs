//! The key register (钥匙, rules.md §6, §10.4, §13.23; seed 003:555): the site's key sets
//! (plant rooms, roof doors, fire exits, vacant units, others), each with where it hangs
//! and who keeps it; signed out with who and when it is due back, and back in; a periodic
//! inventory of the board, whose missing sets are listed and kept until found. One holder
//! at a time.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Why a key movement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No key set with this id.
    #[error("unknown key set `{0}`")]
    UnknownSet(String),
    /// The set is already out.
    #[error("key set `{set}` is already signed out to {holder} since {since}")]
    AlreadyOut {
        /// Key set id.
        set: String,
        /// Who has it.
        holder: String,
        /// Since when.
        since: DateTime<Utc>,
    },
    /// The set is in the cabinet.
    #[error("key set `{0}` is not signed out")]
    NotOut(String),
    /// The set was not on the board at the last inventory and has not been found since.
    #[error("key set `{0}` is missing since the last inventory")]
    Missing(String),
    /// The expected return is not after the sign-out.
    #[error("key set `{0}`: the expected return must be later than now")]
    ReturnInPast(String),
}

/// What a key set opens (§13.23: equipment rooms, exits, storerooms, vacant units).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// A plant or equipment room (设备间).
    PlantRoom,
    /// A roof door.
    RoofDoor,
    /// A fire exit or escape stair (安全通道).
    FireExit,
    /// A vacant unit (空置房).
    VacantUnit,
    /// Anything else (storerooms, mailboxes).
    #[default]
    Other,
}

impl KeyKind {
    /// Every kind, in a stable order.
    pub const ALL: [KeyKind; 5] = [
        KeyKind::PlantRoom,
        KeyKind::RoofDoor,
        KeyKind::FireExit,
        KeyKind::VacantUnit,
        KeyKind::Other,
    ];

    /// The name in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::PlantRoom => "plant_room",
            KeyKind::RoofDoor => "roof_door",
            KeyKind::FireExit => "fire_exit",
            KeyKind::VacantUnit => "vacant_unit",
            KeyKind::Other => "other",
        }
    }

    /// The kind named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A key set as a site enters it (the register's line, from the API or a CSV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeySetEntry {
    /// Stable id (the tag on the ring).
    pub id: String,
    /// What it opens.
    pub kind: KeyKind,
    /// Plain name.
    pub label: String,
    /// Where it hangs (cabinet and hook).
    #[serde(default)]
    pub location: String,
    /// Who keeps it when it is in (the CS officer for public keys, seed 000:209).
    #[serde(default)]
    pub keeper: String,
    /// The unit it opens, if a unit.
    #[serde(default)]
    pub unit: Option<String>,
}

/// One count of the board: what was there, what is out, what is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyInventory {
    /// When it was counted.
    pub at: DateTime<Utc>,
    /// Who counted.
    pub by: String,
    /// Sets found on the board.
    pub counted: Vec<String>,
    /// Sets signed out (not expected on the board).
    pub out: Vec<String>,
    /// Sets neither on the board nor signed out.
    pub missing: Vec<String>,
    /// Sets missing at an earlier count and found at this one.
    pub found: Vec<String>,
}

/// One sign-out of a key set; complete once signed back in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyLoan {
    /// Key set id.
    pub set: String,
    /// Who took it.
    pub holder: String,
    /// Why (an inspection id, a repair).
    pub purpose: String,
    /// When it left the cabinet.
    pub out_at: DateTime<Utc>,
    /// When it is due back (absent on loans from before this was asked).
    #[serde(default)]
    pub expected_back: Option<DateTime<Utc>>,
    /// Who brought it back.
    pub returned_by: Option<String>,
    /// When it came back.
    pub in_at: Option<DateTime<Utc>>,
}

/// A set of keys in the cabinet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySet {
    /// Stable id (the tag on the ring).
    pub id: String,
    /// What it opens.
    pub label: String,
    /// The unit it opens, if a unit.
    pub unit: Option<String>,
    /// Plant room, roof door, fire exit, vacant unit or other.
    #[serde(default)]
    pub kind: KeyKind,
    /// Where it hangs.
    #[serde(default)]
    pub location: String,
    /// Who keeps it when it is in.
    #[serde(default)]
    pub keeper: String,
    /// The current loan, if out.
    pub out: Option<KeyLoan>,
    /// Not on the board at an inventory since then (and not signed out).
    #[serde(default)]
    pub missing_since: Option<DateTime<Utc>>,
}

/// The register: every key set and who has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRegister {
    sets: BTreeMap<String, KeySet>,
    /// The last inventory of the board.
    #[serde(default)]
    last_inventory: Option<KeyInventory>,
}

impl KeyRegister {
    /// An empty register.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or relabels a vacant unit's key set (a unit's set is a `vacant_unit` one); a set
    /// that is out stays out.
    pub fn add_set(&mut self, id: &str, label: &str, unit: Option<&str>) {
        let kind = match unit {
            Some(_) => KeyKind::VacantUnit,
            None => KeyKind::Other,
        };
        let set = self.entry(id);
        set.label = label.to_owned();
        set.unit = unit.map(str::to_owned);
        set.kind = kind;
    }

    /// Adds or replaces a register line; a set that is out stays out.
    pub fn put(&mut self, entry: KeySetEntry) {
        let set = self.entry(&entry.id);
        set.kind = entry.kind;
        set.label = entry.label;
        set.location = entry.location;
        set.keeper = entry.keeper;
        set.unit = entry.unit;
    }

    fn entry(&mut self, id: &str) -> &mut KeySet {
        self.sets.entry(id.to_owned()).or_insert_with(|| KeySet {
            id: id.to_owned(),
            label: String::new(),
            unit: None,
            kind: KeyKind::Other,
            location: String::new(),
            keeper: String::new(),
            out: None,
            missing_since: None,
        })
    }

    /// A key set.
    pub fn get(&self, id: &str) -> Option<&KeySet> {
        self.sets.get(id)
    }

    /// Every key set, by id.
    pub fn sets(&self) -> impl Iterator<Item = &KeySet> {
        self.sets.values()
    }

    /// The last inventory, if any.
    pub fn last_inventory(&self) -> Option<&KeyInventory> {
        self.last_inventory.as_ref()
    }

    /// Signs a set out to `holder`, due back at `expected_back`; refused while it is out
    /// to anyone or missing from the board.
    pub fn sign_out(
        &mut self,
        id: &str,
        holder: &str,
        purpose: &str,
        expected_back: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<KeyLoan, KeyError> {
        let set = self
            .sets
            .get_mut(id)
            .ok_or_else(|| KeyError::UnknownSet(id.to_owned()))?;
        if let Some(loan) = &set.out {
            return Err(KeyError::AlreadyOut {
                set: id.to_owned(),
                holder: loan.holder.clone(),
                since: loan.out_at,
            });
        }
        if set.missing_since.is_some() {
            return Err(KeyError::Missing(id.to_owned()));
        }
        if expected_back.is_some_and(|t| t <= now) {
            return Err(KeyError::ReturnInPast(id.to_owned()));
        }
        let loan = KeyLoan {
            set: id.to_owned(),
            holder: holder.to_owned(),
            purpose: purpose.to_owned(),
            out_at: now,
            expected_back,
            returned_by: None,
            in_at: None,
        };
        set.out = Some(loan.clone());
        Ok(loan)
    }

    /// Signs a set back in; returns the completed loan for the caller to store.
    pub fn sign_in(&mut self, id: &str, by: &str, now: DateTime<Utc>) -> Result<KeyLoan, KeyError> {
        let set = self
            .sets
            .get_mut(id)
            .ok_or_else(|| KeyError::UnknownSet(id.to_owned()))?;
        let mut loan = set
            .out
            .take()
            .ok_or_else(|| KeyError::NotOut(id.to_owned()))?;
        loan.returned_by = Some(by.to_owned());
        loan.in_at = Some(now);
        Ok(loan)
    }

    /// Loans past their return at `now`, longest overdue first: past `expected_back`, or,
    /// for a loan given none, out longer than `hours`.
    pub fn overdue(&self, hours: u32, now: DateTime<Utc>) -> Vec<&KeyLoan> {
        let mut out: Vec<&KeyLoan> = self
            .sets
            .values()
            .filter_map(|s| s.out.as_ref())
            .filter(|l| now > l.due_back(hours))
            .collect();
        out.sort_by_key(|l| l.due_back(hours));
        out
    }

    /// Counts the board: `on_board` are the sets found hanging. A set neither there nor
    /// signed out is missing (kept on the set until a later count finds it); a set signed
    /// out is not expected. A set id the register does not hold is refused, so a miscount
    /// is not kept.
    pub fn inventory(
        &mut self,
        on_board: &BTreeSet<String>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<KeyInventory, KeyError> {
        if let Some(unknown) = on_board.iter().find(|id| !self.sets.contains_key(*id)) {
            return Err(KeyError::UnknownSet(unknown.clone()));
        }
        let mut inv = KeyInventory {
            at: now,
            by: by.to_owned(),
            counted: Vec::new(),
            out: Vec::new(),
            missing: Vec::new(),
            found: Vec::new(),
        };
        for set in self.sets.values_mut() {
            let id = set.id.clone();
            if on_board.contains(&id) {
                if set.missing_since.take().is_some() {
                    inv.found.push(id.clone());
                }
                inv.counted.push(id);
            } else if set.out.is_some() {
                inv.out.push(id);
            } else {
                set.missing_since.get_or_insert(now);
                inv.missing.push(id);
            }
        }
        self.last_inventory = Some(inv.clone());
        Ok(inv)
    }
}

impl KeyLoan {
    /// When the set is due back: its `expected_back`, else `hours` after it went out.
    pub fn due_back(&self, hours: u32) -> DateTime<Utc> {
        self.expected_back
            .unwrap_or(self.out_at + Duration::hours(i64::from(hours)))
    }
}
