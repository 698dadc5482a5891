//! Alarm engine after ISA-18.2 (issue 4).
