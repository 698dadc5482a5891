//! `sitewatch device read`: every point of one device read once, through the same link
//! and block plan as the daemon, as a table an engineer can check wiring against.

use std::fmt::Write as _;

use super::read::table_name;
use super::{Block, Link, Raw, decode_block, read_block};
use crate::config::Device;
use crate::config::profile::PointDef;

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Point name.
    pub point: String,
    /// Modbus table.
    pub table: &'static str,
    /// Register or bit address.
    pub address: u16,
    /// Raw registers in hex (or the bit), empty when the read failed.
    pub raw: String,
    /// Decoded value with its state name, or why there is none.
    pub value: String,
    /// Engineering unit.
    pub unit: String,
}

/// Reads every block of `device` once; a failed block shows its error on its points.
pub async fn read_device(device: &Device) -> Vec<Row> {
    let Some(cfg) = &device.config.modbus else {
        return Vec::new();
    };
    let mut link = Link::new(cfg, cfg.poll_interval);
    let mut rows = Vec::new();
    for block in &device.profile.blocks {
        let result = match link.context(cfg.unit_id, cfg.timeout).await {
            Ok(ctx) => read_block(ctx, block, cfg.timeout).await.map_err(|e| {
                link.failed(&e, cfg.timeout);
                e.to_string()
            }),
            Err(e) => Err(e),
        };
        rows.extend(block_rows(device, block, result));
    }
    link.close();
    rows.sort_by_key(|r| (r.table, r.address));
    rows
}

/// Whether there were reads and every one failed (a row without raw registers is a
/// failed read; a value that does not decode still shows what was read).
pub fn all_failed(rows: &[Row]) -> bool {
    !rows.is_empty() && rows.iter().all(|r| r.raw.is_empty())
}

fn block_rows(device: &Device, block: &Block, result: Result<Raw, String>) -> Vec<Row> {
    let points = &device.profile.points;
    let row = |i: usize, raw: String, value: String| {
        let p = &points[i];
        Row {
            point: p.name.clone(),
            table: table_name(p.table),
            address: p.address,
            raw,
            value,
            unit: p.unit.clone(),
        }
    };
    match result {
        Err(e) => block
            .points
            .iter()
            .map(|&i| row(i, String::new(), e.clone()))
            .collect(),
        Ok(raw) => decode_block(points, block, &raw)
            .map(|(i, v)| {
                let shown = match v {
                    Ok(v) => show(&points[i], v),
                    Err(e) => format!("cannot decode: {e}"),
                };
                row(i, hex(&points[i], block, &raw), shown)
            })
            .collect(),
    }
}

/// A value with its state name when the profile names it; unnamed values stay numbers.
pub fn show(p: &PointDef, v: f64) -> String {
    let number = format!("{v}");
    match p.states.get(&number) {
        Some(name) => format!("{number} ({name})"),
        None => number,
    }
}

fn hex(p: &PointDef, block: &Block, raw: &Raw) -> String {
    let offset = usize::from(p.address - block.start);
    match raw {
        Raw::Bits(bits) => bits
            .get(offset)
            .map_or(String::new(), |b| u8::from(*b).to_string()),
        Raw::Words(words) => {
            let n = usize::from(p.data_type.words());
            let mine = words.get(offset..offset + n).unwrap_or(&[]);
            mine.iter()
                .map(|w| format!("{w:04X}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
    }
}

/// The rows as an aligned text table.
pub fn format_table(rows: &[Row]) -> String {
    let head = ["point", "table", "address", "raw", "value", "unit"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let address = r.address.to_string();
            [
                r.point.clone(),
                r.table.to_owned(),
                address,
                r.raw.clone(),
                r.value.clone(),
                r.unit.clone(),
            ]
        })
        .collect();
    let mut width = head.map(str::len);
    for c in &cells {
        for (w, cell) in width.iter_mut().zip(c) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cols: [&str; 6]| {
        let parts: Vec<String> = cols
            .iter()
            .zip(width)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(head);
    for c in &cells {
        line([&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_columns_and_keeps_errors_inline() {
        let rows = vec![
            Row {
                point: "frequency".into(),
                table: "input",
                address: 70,
                raw: String::new(),
                value: "exception 0x02 illegal data address at input 70..74".into(),
                unit: "Hz".into(),
            },
            Row {
                point: "v".into(),
                table: "input",
                address: 0,
                raw: "4366 8000".into(),
                value: "230.5".into(),
                unit: "V".into(),
            },
        ];
        let text = format_table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("point      table  address  raw        value"),
            "{text}"
        );
        assert!(lines[1].contains("exception 0x02"), "{text}");
        assert!(
            lines[2].starts_with("v          input  0        4366 8000  230.5"),
            "{text}"
        );
    }
}
