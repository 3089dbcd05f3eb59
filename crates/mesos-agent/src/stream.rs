//! The SUBSCRIBE response body: an endless RecordIO stream of events, with control over how the
//! bytes are cut into HTTP chunks (the real agent writes one record per chunk; proxies re-chunk)
//! and raw byte injection for fault tests.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// How the stream's bytes are cut into HTTP chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChunkMode {
    /// One record per chunk, like the real agent.
    #[default]
    PerRecord,
    /// Everything written by one agent action (e.g. SUBSCRIBED plus queued LAUNCHes) in one chunk.
    Coalesce,
    /// The bytes of one agent action cut into pieces of 1, 2, …, `max_piece` bytes (cycling), so
    /// records and their length lines are split at many different offsets.
    Split {
        /// Largest piece; `1` sends the stream byte by byte.
        max_piece: usize,
    },
}

/// Sending side of one subscription stream.
#[derive(Debug)]
pub(crate) struct EventStream {
    conn_id: u64,
    tx: mpsc::UnboundedSender<Bytes>,
    pending: Vec<Bytes>,
}

impl EventStream {
    /// A new stream on connection `conn_id` and the body that carries it.
    pub(crate) fn new(conn_id: u64) -> (EventStream, EventBody) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            EventStream {
                conn_id,
                tx,
                pending: Vec::new(),
            },
            EventBody { rx },
        )
    }

    /// The connection the stream is written to.
    pub(crate) fn conn_id(&self) -> u64 {
        self.conn_id
    }

    /// Whether the client still reads the body (false once the connection is gone).
    pub(crate) fn is_open(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Queues one event, RecordIO-framed (`<len>\n<json>`).
    pub(crate) fn push_record(&mut self, json: &[u8]) {
        self.pending.push(mesos::recordio::encode(json));
    }

    /// Queues bytes exactly as given (malformed framing, partial records…).
    pub(crate) fn push_raw(&mut self, bytes: Bytes) {
        self.pending.push(bytes);
    }

    /// Sends what is queued, cut into chunks according to `mode`.
    pub(crate) fn flush(&mut self, mode: ChunkMode) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let chunks = match mode {
            ChunkMode::PerRecord => pending,
            ChunkMode::Coalesce => vec![concat(&pending)],
            ChunkMode::Split { max_piece } => split(&concat(&pending), max_piece.max(1)),
        };
        for chunk in chunks {
            // A closed receiver means the client went away; the agent drops events then (§0.6).
            let _ = self.tx.send(chunk);
        }
    }
}

fn concat(parts: &[Bytes]) -> Bytes {
    let mut all = BytesMut::new();
    for p in parts {
        all.extend_from_slice(p);
    }
    all.freeze()
}

fn split(bytes: &Bytes, max_piece: usize) -> Vec<Bytes> {
    let mut chunks = Vec::new();
    let (mut at, mut size) = (0, 1);
    while at < bytes.len() {
        let end = (at + size).min(bytes.len());
        chunks.push(bytes.slice(at..end));
        at = end;
        size = size % max_piece + 1;
    }
    chunks
}

/// The HTTP body of a subscription; ends (cleanly) when its [`EventStream`] is dropped.
#[derive(Debug)]
pub(crate) struct EventBody {
    rx: mpsc::UnboundedReceiver<Bytes>,
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_cycles_piece_sizes_and_keeps_every_byte() {
        let bytes = Bytes::from_static(b"0123456789");
        let chunks = split(&bytes, 3);
        let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![1, 2, 3, 1, 2, 1]);
        assert_eq!(concat(&chunks), bytes);
    }

    #[tokio::test]
    async fn coalesce_sends_one_chunk_per_flush() {
        let (mut stream, mut body) = EventStream::new(1);
        stream.push_raw(Bytes::from_static(b"a"));
        stream.push_raw(Bytes::from_static(b"b"));
        stream.flush(ChunkMode::Coalesce);
        stream.push_raw(Bytes::from_static(b"c"));
        stream.flush(ChunkMode::PerRecord);
        drop(stream);
        let mut chunks = Vec::new();
        while let Some(c) = body.rx.recv().await {
            chunks.push(c);
        }
        assert_eq!(
            chunks,
            vec![Bytes::from_static(b"ab"), Bytes::from_static(b"c")]
        );
    }
}
