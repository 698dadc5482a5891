//! The key register (钥匙, rules.md §6, §10.4, §13.23): key sets of vacant units and plant
//! rooms signed out and back in, with who and when; one holder at a time.

use std::collections::BTreeMap;

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
    /// The current loan, if out.
    pub out: Option<KeyLoan>,
}

/// The register: every key set and who has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRegister {
    sets: BTreeMap<String, KeySet>,
}

impl KeyRegister {
    /// An empty register.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or relabels a key set; a set that is out stays out.
    pub fn add_set(&mut self, id: &str, label: &str, unit: Option<&str>) {
        let set = self.sets.entry(id.to_owned()).or_insert_with(|| KeySet {
            id: id.to_owned(),
            label: String::new(),
            unit: None,
            out: None,
        });
        set.label = label.to_owned();
        set.unit = unit.map(str::to_owned);
    }

    /// A key set.
    pub fn get(&self, id: &str) -> Option<&KeySet> {
        self.sets.get(id)
    }

    /// Signs a set out to `holder`; refused while it is out to anyone.
    pub fn sign_out(
        &mut self,
        id: &str,
        holder: &str,
        purpose: &str,
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
        let loan = KeyLoan {
            set: id.to_owned(),
            holder: holder.to_owned(),
            purpose: purpose.to_owned(),
            out_at: now,
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

    /// Loans out for longer than `hours`, longest first.
    pub fn out_longer_than(&self, hours: u32, now: DateTime<Utc>) -> Vec<&KeyLoan> {
        let limit = now - Duration::hours(i64::from(hours));
        let mut out: Vec<&KeyLoan> = self
            .sets
            .values()
            .filter_map(|s| s.out.as_ref())
            .filter(|l| l.out_at < limit)
            .collect();
        out.sort_by_key(|l| l.out_at);
        out
    }
}
