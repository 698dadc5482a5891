//! A TOML file read section by section, so that one mistake does not hide the next:
//! syntax errors are all collected (toml's recovering parser), then each section, and each
//! `[[table]]` entry, is read on its own. A part that holds a syntax error is not read
//! again for its shape, since that error would only repeat the first.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::{Problem, Problems};

/// A parsed document and the problems found so far.
#[derive(Debug)]
pub(crate) struct Document<'a> {
    file: &'a Path,
    text: &'a str,
    root: DeTable<'a>,
    /// Where each syntax error is.
    broken: Vec<usize>,
    /// Where each table header or array entry starts: a part ends where the next begins.
    starts: Vec<usize>,
    /// Whether every part read so far was read whole.
    pub(crate) complete: bool,
    pub(crate) problems: Problems,
}

impl<'a> Document<'a> {
    /// Parses `text`, keeping every syntax error.
    pub(crate) fn parse(file: &'a Path, text: &'a str) -> Document<'a> {
        let (root, errors) = DeTable::parse_recoverable(text);
        let mut doc = Document {
            file,
            text,
            root: root.into_inner(),
            broken: Vec::new(),
            starts: Vec::new(),
            complete: errors.is_empty(),
            problems: Problems::default(),
        };
        for e in &errors {
            let at = e.span().map_or(0, |s| s.start);
            doc.broken.push(at);
            doc.problems.push(doc.problem(at, e.message().trim()));
        }
        doc.starts = part_starts(&doc.root);
        doc
    }

    fn problem(&self, at: usize, reason: &str) -> Problem {
        Problem::at(self.file, self.text, at, reason.to_owned())
    }

    /// The bytes of the part (section or entry) that starts at `start`.
    fn part(&self, start: usize) -> Range<usize> {
        let end = self.starts.iter().find(|&&s| s > start);
        start..end.copied().unwrap_or(self.text.len())
    }

    /// Reads one value; `None` (and a problem, unless a syntax error is already reported
    /// in that part) when its shape is wrong.
    fn read<T: DeserializeOwned>(&mut self, value: &Spanned<DeValue<'a>>) -> Option<T> {
        match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(v) => Some(v),
            Err(e) => {
                self.complete = false;
                let part = self.part(value.span().start);
                if !self.broken.iter().any(|b| part.contains(b)) {
                    let at = e.span().map_or(part.start, |s| s.start);
                    self.problems.push(self.problem(at, e.message().trim()));
                }
                None
            }
        }
    }

    fn value(&self, key: &str) -> Option<Spanned<DeValue<'a>>> {
        self.root.get(key).cloned()
    }

    /// A section that may be left out: its default then.
    pub(crate) fn section<T: DeserializeOwned + Default>(&mut self, key: &str) -> T {
        match self.value(key) {
            Some(v) => self.read(&v).unwrap_or_default(),
            None => T::default(),
        }
    }

    /// A section that may be left out, with no default.
    pub(crate) fn optional<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        self.value(key).and_then(|v| self.read(&v))
    }

    /// A section that must be there.
    pub(crate) fn required<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let value = self.value(key);
        if value.is_none() && self.broken.is_empty() {
            self.complete = false;
            let reason = format!("missing table `[{key}]`");
            self.problems.push(self.problem(0, &reason));
        }
        value.and_then(|v| self.read(&v))
    }

    /// A list of tables (`[[devices]]`), each entry read on its own with its place.
    pub(crate) fn list<T: DeserializeOwned>(&mut self, key: &str) -> Vec<Spanned<T>> {
        let Some(value) = self.value(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            let reason = format!("`{key}` must be a list of tables (`[[{key}]]`)");
            self.problems
                .push(self.problem(value.span().start, &reason));
            self.complete = false;
            return Vec::new();
        };
        let items: Vec<_> = items.iter().cloned().collect();
        items.iter().filter_map(|item| self.read(item)).collect()
    }

    /// Reports every top-level key that is not one of `known`.
    pub(crate) fn refuse_unknown(&mut self, known: &[&str]) {
        let unknown: Vec<(usize, String)> = self
            .root
            .keys()
            .filter(|k| !known.contains(&k.get_ref().as_ref()))
            .map(|k| (k.span().start, k.get_ref().to_string()))
            .collect();
        for (at, key) in unknown {
            self.complete = false;
            let reason = format!(
                "unknown section `{key}`, expected one of {}",
                known.join(", ")
            );
            self.problems.push(self.problem(at, &reason));
        }
    }
}

/// Where every section and every entry of a list of tables starts, in order.
fn part_starts(root: &DeTable<'_>) -> Vec<usize> {
    let mut starts: Vec<usize> = Vec::new();
    for value in root.values() {
        starts.push(value.span().start);
        if let DeValue::Array(items) = value.get_ref() {
            starts.extend(items.iter().map(|i| i.span().start));
        }
    }
    starts.sort_unstable();
    starts
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        #[allow(dead_code)]
        n: u16,
    }

    #[test]
    fn every_bad_entry_is_reported_and_a_syntax_error_only_once() {
        let text = "[[e]]\nn = 70000\n\n[[e]]\nn = 1\nzz = 3\n\n[[e]]\nn = 2 3\n\n[[e]]\nn = 4\n";
        let mut doc = Document::parse(Path::new("f.toml"), text);
        let read = doc.list::<Entry>("e");
        assert_eq!(read.len(), 1, "the good entry is kept");
        let lines: Vec<String> = doc.problems.0.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("f.toml:9:"), "{lines:?}");
        assert!(lines[1].starts_with("f.toml:2:"), "{lines:?}");
        assert!(
            lines[2].starts_with("f.toml:6:1: unknown field `zz`"),
            "{lines:?}"
        );
        assert!(!doc.complete);
    }
}
