//! One read request and what can go wrong with it. A transport failure (no answer, broken
//! link, garbled reply) is kept apart from a Modbus exception (the device answered, but
//! not with data): the first is comm loss, the second bad configuration.

use std::fmt;
use std::time::Duration;

use tokio_modbus::ExceptionCode;
use tokio_modbus::client::{Context, Reader};

use super::Block;
use crate::config::profile::{PointDef, Table};
use crate::devices::decode::{DecodeError, decode_bit, decode_words};

/// The data of one block.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    /// Holding or input registers.
    Words(Vec<u16>),
    /// Coils or discrete inputs.
    Bits(Vec<bool>),
}

/// Why a block could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockError {
    /// The device answered with a Modbus exception.
    Exception {
        /// The exception code.
        code: ExceptionCode,
        /// The table asked for.
        table: Table,
        /// First address asked for.
        start: u16,
        /// Registers or bits asked for.
        count: u16,
    },
    /// No answer within the timeout.
    Timeout(Duration),
    /// An answer that does not belong to the request (wrong unit or function).
    Protocol(String),
    /// The link failed (refused, reset, closed).
    Transport(String),
}

impl BlockError {
    /// The `result` label of `sitewatch_modbus_requests_total`.
    pub fn label(&self) -> &'static str {
        match self {
            BlockError::Exception { .. } => "exception",
            BlockError::Timeout(_) => "timeout",
            BlockError::Protocol(_) | BlockError::Transport(_) => "error",
        }
    }

    /// Whether a gateway answered that the device behind it did not (exceptions 0x0A and
    /// 0x0B): the device is silent, not misconfigured, and the link is fine.
    pub fn is_gateway_miss(&self) -> bool {
        matches!(
            self,
            BlockError::Exception {
                code: ExceptionCode::GatewayPathUnavailable | ExceptionCode::GatewayTargetDevice,
                ..
            }
        )
    }

    /// Whether the device itself answered (an exception): the link is fine.
    pub fn is_exception(&self) -> bool {
        matches!(self, BlockError::Exception { .. })
    }
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockError::Exception {
                code,
                table,
                start,
                count,
            } => {
                let (n, what) = (u8::from(*code), code.to_string().to_lowercase());
                let end = u32::from(*start) + u32::from(*count);
                let table = table_name(*table);
                write!(f, "exception 0x{n:02X} {what} at {table} {start}..{end}")
            }
            BlockError::Timeout(t) => write!(f, "no answer within {t:?}"),
            BlockError::Protocol(e) => write!(f, "reply does not match the request: {e}"),
            BlockError::Transport(e) => write!(f, "transport error: {e}"),
        }
    }
}

/// The profile spelling of a table.
pub(crate) fn table_name(t: Table) -> &'static str {
    match t {
        Table::Holding => "holding",
        Table::Input => "input",
        Table::Coil => "coil",
        Table::Discrete => "discrete",
    }
}

/// Reads one block, waiting at most `timeout` for the answer.
pub async fn read_block(
    ctx: &mut Context,
    b: &Block,
    timeout: Duration,
) -> Result<Raw, BlockError> {
    let (start, count) = (b.start, b.count);
    let fut = async {
        match b.table {
            Table::Holding => ctx
                .read_holding_registers(start, count)
                .await
                .map(|r| r.map(Raw::Words)),
            Table::Input => ctx
                .read_input_registers(start, count)
                .await
                .map(|r| r.map(Raw::Words)),
            Table::Coil => ctx.read_coils(start, count).await.map(|r| r.map(Raw::Bits)),
            Table::Discrete => ctx
                .read_discrete_inputs(start, count)
                .await
                .map(|r| r.map(Raw::Bits)),
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(BlockError::Timeout(timeout)),
        Ok(Err(tokio_modbus::Error::Protocol(e))) => Err(BlockError::Protocol(e.to_string())),
        Ok(Err(tokio_modbus::Error::Transport(e))) => Err(BlockError::Transport(e.to_string())),
        Ok(Ok(Err(code))) => Err(BlockError::Exception {
            code,
            table: b.table,
            start,
            count,
        }),
        Ok(Ok(Ok(raw))) => Ok(raw),
    }
}

/// Decodes every point of a block: `(index into points, value or why not)`.
pub fn decode_block<'a>(
    points: &'a [PointDef],
    b: &'a Block,
    raw: &'a Raw,
) -> impl Iterator<Item = (usize, Result<f64, DecodeError>)> + 'a {
    b.points.iter().map(|&i| {
        let p = &points[i];
        let offset = usize::from(p.address - b.start);
        let v = match raw {
            Raw::Words(w) => decode_words(p, w.get(offset..).unwrap_or(&[])),
            Raw::Bits(bits) => Ok(decode_bit(p, bits.get(offset).copied().unwrap_or(false))),
        };
        (i, v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_name_code_meaning_and_range() {
        let e = BlockError::Exception {
            code: ExceptionCode::IllegalDataAddress,
            table: Table::Input,
            start: 70,
            count: 2,
        };
        assert_eq!(
            e.to_string(),
            "exception 0x02 illegal data address at input 70..72"
        );
        assert_eq!(e.label(), "exception");
        assert!(e.is_exception());
    }

    #[test]
    fn timeouts_are_not_exceptions() {
        let e = BlockError::Timeout(Duration::from_millis(200));
        assert_eq!(e.to_string(), "no answer within 200ms");
        assert_eq!(e.label(), "timeout");
        assert!(!e.is_exception());
    }
}
