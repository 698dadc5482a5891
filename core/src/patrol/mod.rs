//! Guard patrols on NFC checkpoints (issue 6).
