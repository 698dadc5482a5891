//! The Modbus client side: devices that share one connection (a TCP address or a serial
//! line) form a [`Bus`] polled by one task, one request at a time; separate buses run
//! concurrently. `plan` coalesces a profile's points into as few reads as the protocol
//! allows, `read` performs one of them and explains failures, `transport` opens TCP, RTU
//! and RTU-over-TCP links and cleans a line after a timeout; `tcp` is the small Modbus TCP
//! client behind the TCP links.

mod bus;
pub mod commission;
mod read;
pub(crate) mod tcp;
mod transport;

pub use bus::{Bus, group};
pub use read::{BlockError, Raw, decode_block, read_block};
pub use transport::Link;

pub use crate::config::profile::{Block, plan};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::profile::{MAX_WORDS, PointDef, Profile, Table};
    use std::path::Path;

    fn points(text: &str) -> Vec<PointDef> {
        let head = "[profile]\nid = \"t\"\nname = \"t\"\nmanual = \"t\"\n";
        Profile::parse(Path::new("t.toml"), &format!("{head}{text}"))
            .expect("valid")
            .points
    }

    fn p(table: &str, address: u16, ty: &str) -> String {
        let n = format!("p{address}_{table}");
        let bit = if ty == "bit" && (table == "holding" || table == "input") {
            "bit = 0\n"
        } else {
            ""
        };
        format!(
            "[[points]]\nname = \"{n}\"\ntable = \"{table}\"\naddress = {address}\ntype = \"{ty}\"\n{bit}"
        )
    }

    #[test]
    fn contiguous_registers_share_one_request() {
        let pts = points(
            &[
                p("input", 0, "f32"),
                p("input", 2, "f32"),
                p("input", 4, "u16"),
            ]
            .concat(),
        );
        let blocks = plan(&pts);
        assert_eq!(blocks.len(), 1);
        assert_eq!((blocks[0].start, blocks[0].count), (0, 5));
    }

    #[test]
    fn gaps_and_tables_split_requests() {
        let pts = points(
            &[
                p("input", 0, "f32"),
                p("input", 10, "u16"),
                p("holding", 2, "u16"),
                p("coil", 0, "bit"),
            ]
            .concat(),
        );
        let blocks = plan(&pts);
        let shape: Vec<(Table, u16, u16)> =
            blocks.iter().map(|b| (b.table, b.start, b.count)).collect();
        assert_eq!(
            shape,
            vec![
                (Table::Holding, 2, 1),
                (Table::Input, 0, 2),
                (Table::Input, 10, 1),
                (Table::Coil, 0, 1)
            ]
        );
    }

    #[test]
    fn a_block_never_exceeds_125_registers() {
        let text: String = (0..100).map(|i| p("holding", i * 2, "u32")).collect();
        let blocks = plan(&points(&text));
        assert_eq!(blocks.len(), 2);
        assert!(blocks.iter().all(|b| b.count <= MAX_WORDS));
        assert_eq!(blocks.iter().map(|b| b.points.len()).sum::<usize>(), 100);
    }

    #[test]
    fn bits_of_one_register_share_it() {
        let text = "[[points]]\nname = \"a\"\ntable = \"holding\"\naddress = 5\ntype = \"bit\"\nbit = 0\n[[points]]\nname = \"b\"\ntable = \"holding\"\naddress = 5\ntype = \"bit\"\nbit = 3\n";
        let blocks = plan(&points(text));
        assert_eq!(blocks.len(), 1);
        assert_eq!(
            (blocks[0].start, blocks[0].count, blocks[0].points.len()),
            (5, 1, 2)
        );
    }
}
