//! Turning raw registers into engineering values and back. Decoding is what pollers use;
//! encoding is what the simulator uses, so one round-trip test covers both.

use thiserror::Error;

use crate::config::profile::{DataType, Order, PointDef};

/// A value that cannot be decoded as its profile says.
#[derive(Debug, Error, PartialEq)]
pub enum DecodeError {
    /// Fewer registers than the type needs.
    #[error("expected {expected} registers, got {got}")]
    Short {
        /// Needed.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// A float that is NaN or infinite (an unset or failed meter register).
    #[error("not a finite number")]
    NotFinite,
    /// An enumeration code the profile does not name.
    #[error("code {0} is not one of the profile's states")]
    UnknownState(u16),
}

/// Decodes a register-table point from its registers (starting at its address).
pub fn decode_words(p: &PointDef, words: &[u16]) -> Result<f64, DecodeError> {
    let n = usize::from(p.data_type.words());
    if words.len() < n {
        return Err(DecodeError::Short {
            expected: n,
            got: words.len(),
        });
    }
    // One-register types straight from the word: this runs for every value of every poll.
    let raw = match p.data_type {
        DataType::U16 => f64::from(ordered(p, words[0])),
        DataType::I16 => f64::from(ordered(p, words[0]).cast_signed()),
        DataType::Bit => f64::from((words[0] >> p.bit.unwrap_or(0)) & 1),
        DataType::Bitfield => f64::from(field(p, words[0])),
        DataType::Enum => {
            let code = ordered(p, words[0]);
            if !p.states.contains_key(&code.to_string()) {
                return Err(DecodeError::UnknownState(code));
            }
            f64::from(code)
        }
        DataType::U32 => f64::from(u32::from_be_bytes(arr(&to_bytes(p, &words[..n])))),
        DataType::I32 => f64::from(i32::from_be_bytes(arr(&to_bytes(p, &words[..n])))),
        DataType::F32 => f64::from(f32::from_be_bytes(arr(&to_bytes(p, &words[..n])))),
        DataType::U64 => u64::from_be_bytes(to_bytes(p, &words[..n])) as f64,
        DataType::F64 => f64::from_be_bytes(to_bytes(p, &words[..n])),
    };
    if !raw.is_finite() {
        return Err(DecodeError::NotFinite);
    }
    Ok(scaled(p, raw))
}

/// Decodes a coil or discrete input.
pub fn decode_bit(p: &PointDef, bit: bool) -> f64 {
    scaled(p, if bit { 1.0 } else { 0.0 })
}

/// Encodes an engineering value into the registers of a point, merging bit types into
/// `current` (the register's present content).
pub fn encode_words(p: &PointDef, value: f64, current: u16) -> Vec<u16> {
    let raw = (value - p.offset) / p.scale;
    let bytes: Vec<u8> = match p.data_type {
        DataType::U16 | DataType::Enum => (raw.round() as u16).to_be_bytes().to_vec(),
        DataType::I16 => (raw.round() as i16).to_be_bytes().to_vec(),
        DataType::U32 => (raw.round() as u32).to_be_bytes().to_vec(),
        DataType::I32 => (raw.round() as i32).to_be_bytes().to_vec(),
        DataType::F32 => (raw as f32).to_be_bytes().to_vec(),
        DataType::U64 => (raw.round() as u64).to_be_bytes().to_vec(),
        DataType::F64 => raw.to_be_bytes().to_vec(),
        DataType::Bit | DataType::Bitfield => {
            return vec![set_field(p, current, raw.round() as u16)];
        }
    };
    from_bytes(p, &bytes)
}

fn scaled(p: &PointDef, raw: f64) -> f64 {
    raw * p.scale + p.offset
}

fn mask(p: &PointDef) -> u16 {
    let width = if p.data_type == DataType::Bit {
        1
    } else {
        p.bits.unwrap_or(1)
    };
    ((1u32 << width) - 1) as u16
}

fn field(p: &PointDef, word: u16) -> u16 {
    (word >> p.bit.unwrap_or(0)) & mask(p)
}

fn set_field(p: &PointDef, word: u16, value: u16) -> u16 {
    let shift = p.bit.unwrap_or(0);
    let m = mask(p) << shift;
    (word & !m) | ((value << shift) & m)
}

/// A register as the device meant it, undoing its byte order.
fn ordered(p: &PointDef, word: u16) -> u16 {
    if p.byte_order == Some(Order::Little) {
        word.swap_bytes()
    } else {
        word
    }
}

/// Registers (at most four) to big-endian bytes, undoing the device's byte and word
/// order. On the stack: this runs for every value of every poll.
fn to_bytes(p: &PointDef, words: &[u16]) -> [u8; 8] {
    let mut out = [0u8; 8];
    let n = words.len().min(4);
    for (i, w) in words[..n].iter().enumerate() {
        let at = if p.word_order == Some(Order::Little) {
            n - 1 - i
        } else {
            i
        };
        let b = match p.byte_order {
            Some(Order::Little) => w.to_le_bytes(),
            _ => w.to_be_bytes(),
        };
        out[2 * at..2 * at + 2].copy_from_slice(&b);
    }
    out
}

/// Big-endian bytes to registers in the device's byte and word order.
fn from_bytes(p: &PointDef, bytes: &[u8]) -> Vec<u16> {
    let mut words: Vec<u16> = bytes
        .chunks(2)
        .map(|c| match p.byte_order {
            Some(Order::Little) => u16::from_le_bytes([c[0], c[1]]),
            _ => u16::from_be_bytes([c[0], c[1]]),
        })
        .collect();
    if p.word_order == Some(Order::Little) {
        words.reverse();
    }
    words
}

fn arr<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::profile::Table;

    fn point(t: DataType, word: Order, byte: Order) -> PointDef {
        PointDef {
            name: "p".into(),
            table: Table::Holding,
            address: 0,
            data_type: t,
            bit: None,
            bits: None,
            byte_order: Some(byte),
            word_order: Some(word),
            scale: 1.0,
            offset: 0.0,
            unit: String::new(),
            states: Default::default(),
            description: String::new(),
            zh: Default::default(),
            deadband: 0.0,
            alarms: Vec::new(),
        }
    }

    #[test]
    fn an_enum_reads_its_named_codes_and_refuses_others() {
        let mut p = point(DataType::Enum, Order::Big, Order::Big);
        p.states = [("0", "stopped"), ("1", "running"), ("4", "fault")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        assert_eq!(decode_words(&p, &[4]), Ok(4.0));
        assert_eq!(
            decode_words(&p, &[7]),
            Err(DecodeError::UnknownState(7)),
            "a code the manual does not list is a bad reading, not a value"
        );
        assert_eq!(encode_words(&p, 1.0, 0), vec![1]);
    }

    #[test]
    fn f32_big_endian_matches_the_modbus_convention() {
        // 230.5 V as IEEE-754 0x43668000, high word first (Eastron SDM630).
        let p = point(DataType::F32, Order::Big, Order::Big);
        assert_eq!(decode_words(&p, &[0x4366, 0x8000]), Ok(230.5));
    }

    #[test]
    fn u32_word_swapped_reads_low_word_first() {
        let p = point(DataType::U32, Order::Little, Order::Big);
        assert_eq!(decode_words(&p, &[0x0002, 0x0001]), Ok(65538.0));
    }

    #[test]
    fn byte_swapped_registers_read_low_byte_first() {
        let p = point(DataType::U16, Order::Big, Order::Little);
        assert_eq!(decode_words(&p, &[0x3412]), Ok(f64::from(0x1234u16)));
        let p = point(DataType::I16, Order::Big, Order::Little);
        assert_eq!(decode_words(&p, &[0xFEFF]), Ok(-2.0));
        // "BADC": bytes swapped in each register, registers in order.
        let p = point(DataType::U32, Order::Big, Order::Little);
        assert_eq!(
            decode_words(&p, &[0x0100, 0x0302]),
            Ok(f64::from(0x0001_0203u32))
        );
        // "DCBA": both swapped.
        let p = point(DataType::U32, Order::Little, Order::Little);
        assert_eq!(
            decode_words(&p, &[0x0302, 0x0100]),
            Ok(f64::from(0x0001_0203u32))
        );
    }

    #[test]
    fn i16_is_signed_and_scaled() {
        let mut p = point(DataType::I16, Order::Big, Order::Big);
        p.scale = 0.1;
        let v = decode_words(&p, &[0xFFF6]).expect("decodes");
        assert!((v + 1.0).abs() < 1e-9);
    }

    #[test]
    fn bitfield_extracts_its_bits_only() {
        let mut p = point(DataType::Bitfield, Order::Big, Order::Big);
        p.bit = Some(4);
        p.bits = Some(3);
        assert_eq!(decode_words(&p, &[0b0111_0000 | 0b1000_1111]), Ok(7.0));
    }

    #[test]
    fn nan_float_is_an_error_not_a_value() {
        let p = point(DataType::F32, Order::Big, Order::Big);
        assert_eq!(decode_words(&p, &[0x7FC0, 0]), Err(DecodeError::NotFinite));
    }

    #[test]
    fn every_type_and_order_round_trips_through_encode() {
        let types = [
            (DataType::U16, 40_000.0),
            (DataType::I16, -1234.0),
            (DataType::U32, 3_000_000_000.0),
            (DataType::I32, -2_000_000.0),
            (DataType::U64, 123_456_789_012.0),
            (DataType::F32, 49.75),
            (DataType::F64, 12_345.678_9),
        ];
        for (t, v) in types {
            for word in [Order::Big, Order::Little] {
                for byte in [Order::Big, Order::Little] {
                    let p = point(t, word, byte);
                    let words = encode_words(&p, v, 0);
                    assert_eq!(decode_words(&p, &words), Ok(v), "{t:?} {word:?} {byte:?}");
                }
            }
        }
    }

    #[test]
    fn encoding_a_bit_keeps_the_other_bits() {
        let mut p = point(DataType::Bit, Order::Big, Order::Big);
        p.bit = Some(2);
        assert_eq!(encode_words(&p, 1.0, 0b1001), vec![0b1101]);
        assert_eq!(encode_words(&p, 0.0, 0b1101), vec![0b1001]);
    }
}
