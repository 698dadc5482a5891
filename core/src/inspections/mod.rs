//! Vacant-unit inspections (issue 6).
