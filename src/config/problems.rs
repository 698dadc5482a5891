//! Config and profile problems, each with the file, line and column it comes from, so a
//! site engineer can go straight to the mistake.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a config or profile file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when the problem is about the whole file.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub reason: String,
}

impl Problem {
    /// A problem at byte `offset` of `text`.
    pub fn at(file: &Path, text: &str, offset: usize, reason: String) -> Problem {
        let (line, col) = line_col(text, offset);
        Problem {
            file: file.to_owned(),
            line,
            col,
            reason,
        }
    }

    /// A problem with a whole file (unreadable, missing).
    pub fn file(file: &Path, reason: String) -> Problem {
        Problem {
            file: file.to_owned(),
            line: 0,
            col: 0,
            reason,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.reason)
        } else {
            let (file, line, col) = (self.file.display(), self.line, self.col);
            write!(f, "{file}:{line}:{col}: {}", self.reason)
        }
    }
}

/// Every problem found; checks collect them all instead of stopping at the first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Adds one.
    pub fn push(&mut self, p: Problem) {
        self.0.push(p);
    }

    /// Adds all of another set.
    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }

    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Puts the problems in file order (by file, then line and column; a whole-file
    /// problem first) and keeps each once.
    pub fn sort(&mut self) {
        self.0
            .sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        self.0.dedup();
    }

    /// `Ok(value)` when nothing is wrong.
    pub fn into_result<T>(self, value: T) -> Result<T, Problems> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_one_based_line_and_column() {
        assert_eq!(line_col("ab\ncd\nef", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
