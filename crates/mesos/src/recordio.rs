//! Mesos RecordIO framing (ref §3): `decimal length` `LF` `bytes`, repeated. The decoder is a
//! byte-stream state machine independent of HTTP chunking: records may be split or coalesced
//! anywhere. Any framing error means the stream is broken (the session reconnects).

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Longest accepted length line, in digits (mesos-go's cap; u64 has at most 20 digits).
pub const MAX_LENGTH_DIGITS: usize = 20;

/// Default cap on one record (TaskInfo.data can be large).
pub const DEFAULT_MAX_RECORD: usize = 64 * 1024 * 1024;

/// Most buffer space reserved ahead for an announced record: the rest grows as bytes arrive,
/// so a length line alone cannot make the decoder allocate up to the record cap.
const MAX_RESERVE_AHEAD: usize = 64 * 1024;

/// Why a RecordIO stream cannot be decoded any further.
#[derive(Debug, thiserror::Error)]
pub enum RecordIoError {
    /// A byte other than an ASCII digit or the terminating LF in a length line.
    #[error("broken RecordIO stream: byte 0x{byte:02x} in a record length line")]
    NonDigit {
        /// The offending byte.
        byte: u8,
    },
    /// A length line with no digits (`"\n"`).
    #[error("broken RecordIO stream: empty record length line")]
    EmptyLength,
    /// More than [`MAX_LENGTH_DIGITS`] digits.
    #[error("broken RecordIO stream: record length line longer than {MAX_LENGTH_DIGITS} digits")]
    LengthTooLong,
    /// A record larger than the configured cap (or than u64).
    #[error("broken RecordIO stream: record of {length} bytes exceeds the {max}-byte limit")]
    RecordTooLarge {
        /// Announced length (saturated at u64::MAX).
        length: u64,
        /// The configured cap.
        max: usize,
    },
    /// The stream ended inside a record or length line.
    #[error("broken RecordIO stream: ended inside a record ({buffered} bytes pending)")]
    Truncated {
        /// Bytes received of the unfinished record or line.
        buffered: usize,
    },
    /// Reading the underlying stream failed.
    #[error("reading the RecordIO stream failed: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Reading digits; `digits` seen so far, `length` their value.
    Length { digits: usize, length: u64 },
    /// Waiting for `length` bytes of record data.
    Data { length: usize },
    /// A previous error; nothing more is decoded.
    Failed,
}

/// Decodes RecordIO records from a byte stream (`tokio_util::codec::Decoder`).
///
/// Zero-length records are accepted and skipped (ref §3: the agent never sends one).
#[derive(Debug)]
pub struct RecordIoDecoder {
    max_record: usize,
    state: State,
}

impl Default for RecordIoDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_RECORD)
    }
}

impl RecordIoDecoder {
    /// A decoder that rejects records longer than `max_record` bytes.
    pub fn new(max_record: usize) -> Self {
        Self {
            max_record,
            state: State::Length {
                digits: 0,
                length: 0,
            },
        }
    }

    fn fail(&mut self, error: RecordIoError) -> Result<Option<Bytes>, RecordIoError> {
        self.state = State::Failed;
        Err(error)
    }
}

impl Decoder for RecordIoDecoder {
    type Item = Bytes;
    type Error = RecordIoError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, RecordIoError> {
        loop {
            match self.state {
                State::Failed => return Ok(None),
                State::Length { digits, length } => {
                    let Some(&byte) = src.first() else {
                        return Ok(None);
                    };
                    src.advance(1);
                    match byte {
                        b'\n' if digits == 0 => return self.fail(RecordIoError::EmptyLength),
                        b'\n' => {
                            let too_large = RecordIoError::RecordTooLarge {
                                length,
                                max: self.max_record,
                            };
                            match usize::try_from(length) {
                                Ok(length) if length <= self.max_record => {
                                    src.reserve(length.min(MAX_RESERVE_AHEAD));
                                    self.state = State::Data { length };
                                }
                                _ => return self.fail(too_large),
                            }
                        }
                        b'0'..=b'9' if digits == MAX_LENGTH_DIGITS => {
                            return self.fail(RecordIoError::LengthTooLong)
                        }
                        b'0'..=b'9' => {
                            let length = length
                                .checked_mul(10)
                                .and_then(|l| l.checked_add(u64::from(byte - b'0')));
                            match length {
                                Some(length) => {
                                    self.state = State::Length {
                                        digits: digits + 1,
                                        length,
                                    }
                                }
                                None => {
                                    return self.fail(RecordIoError::RecordTooLarge {
                                        length: u64::MAX,
                                        max: self.max_record,
                                    })
                                }
                            }
                        }
                        other => return self.fail(RecordIoError::NonDigit { byte: other }),
                    }
                }
                State::Data { length } => {
                    if src.len() < length {
                        return Ok(None);
                    }
                    let record = src.split_to(length).freeze();
                    self.state = State::Length {
                        digits: 0,
                        length: 0,
                    };
                    if !record.is_empty() {
                        return Ok(Some(record));
                    }
                }
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, RecordIoError> {
        if let Some(record) = self.decode(src)? {
            return Ok(Some(record));
        }
        let buffered = match self.state {
            State::Length { digits, .. } => digits + src.len(),
            State::Data { .. } => src.len(),
            State::Failed => 0,
        };
        if buffered > 0 || matches!(self.state, State::Data { .. }) {
            src.clear();
            return self.fail(RecordIoError::Truncated { buffered });
        }
        Ok(None)
    }
}

/// Frames one record: `decimal(len) LF data`.
pub fn encode(record: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(record.len() + MAX_LENGTH_DIGITS + 1);
    out.extend_from_slice(record.len().to_string().as_bytes());
    out.extend_from_slice(b"\n");
    out.extend_from_slice(record);
    out.freeze()
}

/// Encodes records (`tokio_util::codec::Encoder`), for the agent side of a stream.
#[derive(Debug, Default, Clone, Copy)]
pub struct RecordIoEncoder;

impl<T: AsRef<[u8]>> Encoder<T> for RecordIoEncoder {
    type Error = std::io::Error;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        let record = item.as_ref();
        dst.extend_from_slice(record.len().to_string().as_bytes());
        dst.extend_from_slice(b"\n");
        dst.extend_from_slice(record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(
        decoder: &mut RecordIoDecoder,
        bytes: &[u8],
    ) -> Result<Vec<Bytes>, RecordIoError> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(r) = decoder.decode_eof(&mut buf)? {
            out.push(r);
        }
        Ok(out)
    }

    #[test]
    fn heartbeat_example_from_the_ref() {
        let wire = b"20\n{\"type\":\"HEARTBEAT\"}";
        assert_eq!(wire.len(), 23);
        let records = decode_all(&mut RecordIoDecoder::default(), wire).unwrap();
        assert_eq!(
            records,
            vec![Bytes::from_static(b"{\"type\":\"HEARTBEAT\"}")]
        );
        assert_eq!(encode(b"{\"type\":\"HEARTBEAT\"}").as_ref(), wire);
    }

    #[test]
    fn zero_length_records_are_skipped() {
        let records = decode_all(&mut RecordIoDecoder::default(), b"0\n3\nabc0\n").unwrap();
        assert_eq!(records, vec![Bytes::from_static(b"abc")]);
    }

    #[test]
    fn malformed_length_lines_are_errors() {
        type Check = fn(&RecordIoError) -> bool;
        let cases: [(&[u8], Check); 6] = [
            (b"\n", |e| matches!(e, RecordIoError::EmptyLength)),
            (b"1a\nx", |e| {
                matches!(e, RecordIoError::NonDigit { byte: b'a' })
            }),
            (b" 1\nx", |e| {
                matches!(e, RecordIoError::NonDigit { byte: b' ' })
            }),
            (b"1\r\nx", |e| {
                matches!(e, RecordIoError::NonDigit { byte: b'\r' })
            }),
            (b"-1\n", |e| {
                matches!(e, RecordIoError::NonDigit { byte: b'-' })
            }),
            (b"000000000000000000001\nx", |e| {
                matches!(e, RecordIoError::LengthTooLong)
            }),
        ];
        for (input, check) in cases {
            let err = decode_all(&mut RecordIoDecoder::default(), input).unwrap_err();
            assert!(check(&err), "{input:?}: {err}");
        }
    }

    #[test]
    fn record_size_cap() {
        let err = decode_all(&mut RecordIoDecoder::new(4), b"5\nabcde").unwrap_err();
        assert!(matches!(
            err,
            RecordIoError::RecordTooLarge { length: 5, max: 4 }
        ));
        let err = decode_all(&mut RecordIoDecoder::new(4), b"99999999999999999999\n").unwrap_err();
        assert!(matches!(err, RecordIoError::RecordTooLarge { .. }));
        assert_eq!(
            decode_all(&mut RecordIoDecoder::new(4), b"4\nabcd").unwrap(),
            vec![Bytes::from_static(b"abcd")]
        );
    }

    #[test]
    fn truncated_stream_is_an_error_at_eof() {
        let err = decode_all(&mut RecordIoDecoder::default(), b"5\nab").unwrap_err();
        assert!(matches!(err, RecordIoError::Truncated { buffered: 2 }));
        let err = decode_all(&mut RecordIoDecoder::default(), b"12").unwrap_err();
        assert!(matches!(err, RecordIoError::Truncated { buffered: 2 }));
        assert!(decode_all(&mut RecordIoDecoder::default(), b"")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_failed_decoder_stays_failed() {
        let mut decoder = RecordIoDecoder::default();
        let mut buf = BytesMut::from(&b"x1\na"[..]);
        assert!(decoder.decode(&mut buf).is_err());
        assert!(decoder.decode(&mut buf).unwrap().is_none());
    }

    #[test]
    fn encoder_matches_encode() {
        let mut dst = BytesMut::new();
        RecordIoEncoder
            .encode(b"hello".as_slice(), &mut dst)
            .unwrap();
        assert_eq!(dst.as_ref(), encode(b"hello").as_ref());
    }
}
