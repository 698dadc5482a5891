//! A register from a spreadsheet's CSV, all or nothing: the header is checked against the
//! register's columns, every row is read and checked before anything is kept, and every
//! bad row is named by its line (1 is the header), a repeated id included. The compliance,
//! key and maintenance imports share it; the unit and meter registers, whose rows are
//! checked against more than their own cells, share its `reader` and `header`.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::RowProblem;

/// A row's cells by column (empty when absent).
pub type Cells<'a> = BTreeMap<&'static str, &'a str>;

/// A register's columns and how one row reads.
#[derive(Debug)]
pub struct Sheet<T> {
    /// The columns a file may have, in a template's order.
    pub columns: &'static [&'static str],
    /// Those it must have.
    pub required: &'static [&'static str],
    /// One row as a line of the register, or why not.
    pub row: fn(&Cells) -> Result<T, String>,
    /// A line's id (no two rows may share one).
    pub id: fn(&T) -> &str,
}

impl<T> Sheet<T> {
    /// Parses and checks a whole file; its lines, or every problem found.
    pub fn parse(&self, text: &str) -> Result<Vec<T>, Vec<RowProblem>> {
        let mut reader = reader(text);
        let columns = header(&mut reader, self.required, self.columns)?;
        let (mut lines, mut problems) = (Vec::new(), Vec::new());
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    problems.push(RowProblem {
                        line,
                        reason: format!("unreadable row: {e}"),
                    });
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| p.line());
            if record.iter().all(str::is_empty) {
                continue;
            }
            let cells: Cells = (self.columns.iter())
                .map(|c| {
                    (
                        *c,
                        columns.get(*c).and_then(|i| record.get(*i)).unwrap_or(""),
                    )
                })
                .collect();
            let checked = (self.row)(&cells).and_then(|item| {
                match seen.insert((self.id)(&item).to_owned(), line) {
                    Some(first) => {
                        Err(format!("`{}` is already on line {first}", (self.id)(&item)))
                    }
                    None => Ok(item),
                }
            });
            match checked {
                Ok(item) => lines.push(item),
                Err(reason) => problems.push(RowProblem { line, reason }),
            }
        }
        if lines.is_empty() && problems.is_empty() {
            problems.push(RowProblem {
                line: 1,
                reason: "the file has no rows".into(),
            });
        }
        if problems.is_empty() {
            Ok(lines)
        } else {
            Err(problems)
        }
    }
}

/// A reader of a spreadsheet's CSV text: a leading byte-order mark dropped (Excel's
/// "CSV UTF-8" writes one), cells trimmed, rows of any length (each is checked).
pub fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
}

/// The header's columns by position (lower-cased), or every problem with it: a required
/// column missing, a column neither required nor optional.
pub fn header(
    reader: &mut csv::Reader<&[u8]>,
    required: &[&str],
    optional: &[&str],
) -> Result<BTreeMap<String, usize>, Vec<RowProblem>> {
    let at_header = |reason: String| RowProblem { line: 1, reason };
    let headers = reader
        .headers()
        .map_err(|e| vec![at_header(format!("unreadable header: {e}"))])?;
    let columns: BTreeMap<String, usize> = (headers.iter().enumerate())
        .map(|(i, h)| (h.to_lowercase(), i))
        .collect();
    let mut problems: Vec<RowProblem> = (required.iter())
        .filter(|c| !columns.contains_key(**c))
        .map(|c| at_header(format!("missing column `{c}`")))
        .collect();
    let known = |c: &str| required.contains(&c) || optional.contains(&c);
    problems.extend(
        (columns.keys())
            .filter(|c| !known(c))
            .map(|c| at_header(format!("unknown column `{c}`"))),
    );
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(problems)
    }
}

/// A cell, empty when absent.
pub fn get<'a>(cells: &Cells<'a>, column: &str) -> &'a str {
    cells.get(column).copied().unwrap_or("")
}

/// A cell that must not be empty.
pub fn required(cells: &Cells, column: &str) -> Result<String, String> {
    match get(cells, column) {
        "" => Err(format!("`{column}` is empty")),
        v => Ok(v.to_owned()),
    }
}

/// A site-local day `YYYY-MM-DD`, or none when empty.
pub fn day(cells: &Cells, column: &str) -> Result<Option<NaiveDate>, String> {
    match get(cells, column) {
        "" => Ok(None),
        v => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("`{column}` `{v}` is not a date YYYY-MM-DD")),
    }
}

/// A whole number above 0, or none when empty.
pub fn count(cells: &Cells, column: &str, what: &str) -> Result<Option<u32>, String> {
    match get(cells, column) {
        "" => Ok(None),
        v => match v.parse() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(format!(
                "`{column}` `{v}` is not a whole number of {what} above 0"
            )),
        },
    }
}
