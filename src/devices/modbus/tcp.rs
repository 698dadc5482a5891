//! A Modbus TCP client for the reads sitewatch makes (function codes 1 to 4), plugged into
//! tokio-modbus's `Context` so the bus reads, errors and exception codes stay
//! tokio-modbus's own.
//!
//! Why not `tokio_modbus::client::tcp::attach`: its framing keeps two 8 KB buffers per
//! connection (tokio-util's `Framed` default), 16 MB of heap for 1,000 devices (measured
//! with heaptrack, docs/benchmarks.md), when a Modbus TCP frame is at most 260 bytes. This
//! client reads each reply into one 260-byte buffer. RTU lines stay on tokio-modbus: a site
//! has few of them.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_modbus::client::{Client, Context};
use tokio_modbus::slave::SlaveContext;
use tokio_modbus::{
    Error, ExceptionCode, ExceptionResponse, FunctionCode, ProtocolError, Request, Response, Slave,
};

/// MBAP header (7 bytes) plus the largest PDU (253 bytes).
const MAX_ADU: usize = 260;
const HEADER: usize = 7;

/// A context reading over `stream`, addressed to unit 255 until told otherwise.
pub(super) fn attach(stream: TcpStream) -> Context {
    let client: Box<dyn Client> = Box::new(TcpClient {
        stream,
        unit: 0xFF,
        transaction: 0,
        buf: [0; MAX_ADU],
    });
    Context::from(client)
}

#[derive(Debug)]
struct TcpClient {
    stream: TcpStream,
    unit: u8,
    transaction: u16,
    buf: [u8; MAX_ADU],
}

impl SlaveContext for TcpClient {
    fn set_slave(&mut self, slave: Slave) {
        self.unit = slave.into();
    }
}

#[async_trait::async_trait]
impl Client for TcpClient {
    async fn call(&mut self, request: Request<'_>) -> tokio_modbus::Result<Response> {
        let (function, start, count) = read_request(&request)?;
        self.transaction = self.transaction.wrapping_add(1);
        let frame = encode(self.transaction, self.unit, function, start, count);
        self.stream.write_all(&frame).await?;
        let len = self.read_reply().await?;
        decode(
            &self.buf[..len],
            self.transaction,
            self.unit,
            function,
            count,
        )
    }

    async fn disconnect(&mut self) -> io::Result<()> {
        self.stream.shutdown().await
    }
}

impl TcpClient {
    /// Reads one whole reply into `buf`; returns its length. Reads whatever has arrived
    /// (one system call for a reply that came in one segment, as nearly all do) until the
    /// header's length is there. Only one request is ever outstanding, so bytes beyond
    /// the frame are not the start of another reply but garbage.
    async fn read_reply(&mut self) -> io::Result<usize> {
        let mut filled = 0;
        loop {
            let n = self.stream.read(&mut self.buf[filled..]).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            filled += n;
            if filled < HEADER {
                continue;
            }
            let end = frame_end(&self.buf)?;
            match filled.cmp(&end) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Equal => return Ok(end),
                std::cmp::Ordering::Greater => {
                    let msg = format!("{} bytes after a {end}-byte reply", filled - end);
                    return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
                }
            }
        }
    }
}

/// Where the frame whose header starts `buf` ends, from its length field (which counts
/// the unit id and the PDU, at least a function code).
fn frame_end(buf: &[u8]) -> io::Result<usize> {
    let length = usize::from(u16::from_be_bytes([buf[4], buf[5]]));
    if !(2..=MAX_ADU - HEADER + 1).contains(&length) {
        let msg = format!("reply length field {length} out of range");
        return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
    }
    Ok(HEADER + length - 1)
}

/// Checks `bytes` as the whole of what arrived for a request (`function`, `count`, with
/// this transaction and unit), as [`TcpClient::read_reply`] and `decode` do together: the
/// entry point of the fuzz target `modbus_reply` (`sitewatch::fuzzing`).
pub(crate) fn reply(
    bytes: &[u8],
    transaction: u16,
    unit: u8,
    function: u8,
    count: u16,
) -> tokio_modbus::Result<Response> {
    let bytes = &bytes[..bytes.len().min(MAX_ADU)];
    if bytes.len() < HEADER {
        return Err(short("header"));
    }
    let end = frame_end(bytes)?;
    if bytes.len() < end {
        return Err(short("length field"));
    }
    if bytes.len() > end {
        let msg = format!("{} bytes after a {end}-byte reply", bytes.len() - end);
        return Err(io::Error::new(io::ErrorKind::InvalidData, msg).into());
    }
    decode(bytes, transaction, unit, function, count)
}

/// Function code, start and count of a read; other requests are not made by sitewatch.
fn read_request(request: &Request<'_>) -> Result<(u8, u16, u16), Error> {
    match *request {
        Request::ReadCoils(start, count) => Ok((0x01, start, count)),
        Request::ReadDiscreteInputs(start, count) => Ok((0x02, start, count)),
        Request::ReadHoldingRegisters(start, count) => Ok((0x03, start, count)),
        Request::ReadInputRegisters(start, count) => Ok((0x04, start, count)),
        _ => Err(Error::Transport(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("sitewatch's Modbus TCP client only reads, not {request:?}"),
        ))),
    }
}

/// A read request: MBAP header, then function, start and count.
fn encode(transaction: u16, unit: u8, function: u8, start: u16, count: u16) -> [u8; 12] {
    let [t0, t1] = transaction.to_be_bytes();
    let [s0, s1] = start.to_be_bytes();
    let [c0, c1] = count.to_be_bytes();
    [t0, t1, 0, 0, 0, 6, unit, function, s0, s1, c0, c1]
}

/// Checks a whole reply frame against its request and unpacks the data.
fn decode(
    frame: &[u8],
    transaction: u16,
    unit: u8,
    function: u8,
    count: u16,
) -> tokio_modbus::Result<Response> {
    let got_transaction = u16::from_be_bytes([frame[0], frame[1]]);
    let (got_unit, got_function) = (frame[6], frame[7]);
    let body = &frame[8..];
    let result = if got_function & 0x80 != 0 {
        let code = body.first().copied().ok_or_else(|| short("exception"))?;
        Err(ExceptionResponse {
            function: FunctionCode::new(got_function & 0x7F),
            exception: ExceptionCode::new(code),
        })
    } else {
        Ok(unpack(got_function, body, count)?)
    };
    if got_transaction != transaction || frame[2..4] != [0, 0] || got_unit != unit {
        let message = format!(
            "transaction {got_transaction} unit {got_unit}, asked transaction {transaction} unit {unit}"
        );
        return Err(ProtocolError::HeaderMismatch { message, result }.into());
    }
    if got_function & 0x7F != function {
        let request = FunctionCode::new(function);
        return Err(ProtocolError::FunctionCodeMismatch { request, result }.into());
    }
    Ok(result.map_err(|e| e.exception))
}

/// The data of a read reply: a byte count, then registers or packed bits.
fn unpack(function: u8, body: &[u8], count: u16) -> Result<Response, Error> {
    let (&bytes, data) = body.split_first().ok_or_else(|| short("byte count"))?;
    let data = data
        .get(..usize::from(bytes))
        .ok_or_else(|| short("data"))?;
    let count = usize::from(count);
    let bits = || -> Result<Vec<bool>, Error> {
        if data.len() * 8 < count {
            return Err(short("bits"));
        }
        Ok((0..count)
            .map(|i| data[i / 8] >> (i % 8) & 1 == 1)
            .collect())
    };
    let words = || -> Result<Vec<u16>, Error> {
        if data.len() < count * 2 {
            return Err(short("registers"));
        }
        let words = data.chunks_exact(2).take(count);
        Ok(words.map(|w| u16::from_be_bytes([w[0], w[1]])).collect())
    };
    Ok(match function {
        0x01 => Response::ReadCoils(bits()?),
        0x02 => Response::ReadDiscreteInputs(bits()?),
        0x03 => Response::ReadHoldingRegisters(words()?),
        0x04 => Response::ReadInputRegisters(words()?),
        other => Response::Custom(other, data.to_vec().into()),
    })
}

fn short(what: &str) -> Error {
    let msg = format!("reply too short for its {what}");
    Error::Transport(io::Error::new(io::ErrorKind::InvalidData, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(transaction: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
        let mut f = transaction.to_be_bytes().to_vec();
        f.extend([0, 0]);
        f.extend(u16::try_from(pdu.len() + 1).expect("short").to_be_bytes());
        f.push(unit);
        f.extend(pdu);
        f
    }

    #[test]
    fn a_read_request_is_the_standard_twelve_bytes() {
        assert_eq!(
            encode(0x0102, 7, 0x03, 40, 20),
            [1, 2, 0, 0, 0, 6, 7, 3, 0, 40, 0, 20]
        );
    }

    #[test]
    fn registers_and_bits_are_unpacked() {
        let regs = reply(9, 1, &[0x03, 4, 0x12, 0x34, 0x00, 0x05]);
        let r = decode(&regs, 9, 1, 0x03, 2).expect("frame").expect("data");
        assert!(matches!(r, Response::ReadHoldingRegisters(w) if w == [0x1234, 5]));
        let coils = reply(3, 1, &[0x01, 2, 0b0000_0101, 0b1]);
        let r = decode(&coils, 3, 1, 0x01, 9).expect("frame").expect("data");
        let want = [true, false, true, false, false, false, false, false, true];
        assert!(matches!(r, Response::ReadCoils(b) if b == want));
    }

    #[test]
    fn an_exception_reply_gives_its_code() {
        let f = reply(4, 1, &[0x83, 0x02]);
        let r = decode(&f, 4, 1, 0x03, 2).expect("frame");
        assert_eq!(r.err(), Some(ExceptionCode::IllegalDataAddress));
    }

    #[test]
    fn a_reply_to_an_earlier_request_is_refused() {
        // A late reply (transaction 4) read as the answer to transaction 5.
        let f = reply(4, 1, &[0x03, 2, 0, 7]);
        let err = decode(&f, 5, 1, 0x03, 1).expect_err("mismatch");
        assert!(err.to_string().contains("asked transaction 5"), "{err}");
        let wrong_function = reply(5, 1, &[0x04, 2, 0, 7]);
        assert!(decode(&wrong_function, 5, 1, 0x03, 1).is_err());
    }

    #[test]
    fn a_length_field_out_of_range_is_refused() {
        assert_eq!(
            frame_end(&reply(1, 1, &[0x03, 2, 0, 7])).expect("valid"),
            11
        );
        assert!(frame_end(&[0, 1, 0, 0, 0x01, 0x00, 1]).is_err());
        assert!(frame_end(&[0, 1, 0, 0, 0, 1, 1]).is_err());
    }

    #[test]
    fn a_truncated_reply_is_an_error_not_a_panic() {
        let f = reply(1, 1, &[0x03, 4, 0, 1]);
        assert!(decode(&f, 1, 1, 0x03, 2).is_err());
        assert!(decode(&reply(1, 1, &[0x03]), 1, 1, 0x03, 1).is_err());
        assert!(decode(&reply(1, 1, &[0x83]), 1, 1, 0x03, 1).is_err());
    }
}
