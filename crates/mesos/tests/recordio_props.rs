//! Property tests for the RecordIO decoder: any chunking of a valid stream decodes to the same
//! records, and arbitrary bytes never panic.

use bytes::{Bytes, BytesMut};
use mesos::recordio::{encode, RecordIoDecoder, RecordIoError};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

/// Feeds `chunks` one by one, as a network would, then signals EOF.
fn feed(chunks: &[&[u8]], max: usize) -> Result<Vec<Bytes>, RecordIoError> {
    let mut decoder = RecordIoDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(record) = decoder.decode(&mut buf)? {
            out.push(record);
        }
    }
    while let Some(record) = decoder.decode_eof(&mut buf)? {
        out.push(record);
    }
    Ok(out)
}

fn stream_of(records: &[Vec<u8>]) -> Vec<u8> {
    records.iter().flat_map(|r| encode(r).to_vec()).collect()
}

#[test]
fn every_split_point_of_two_records() {
    let records = vec![br#"{"type":"HEARTBEAT"}"#.to_vec(), vec![b'x'; 1234]];
    let wire = stream_of(&records);
    for split in 0..=wire.len() {
        let (a, b) = wire.split_at(split);
        let got = feed(&[a, b], 1 << 20).unwrap();
        assert_eq!(got, records, "split at {split}");
    }
}

#[test]
fn byte_by_byte() {
    let records = vec![b"abc".to_vec(), b"{}".to_vec(), vec![7u8; 300]];
    let wire = stream_of(&records);
    let chunks: Vec<&[u8]> = wire.chunks(1).collect();
    assert_eq!(feed(&chunks, 1 << 20).unwrap(), records);
}

proptest! {
    #[test]
    fn any_chunking_yields_the_same_records(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 0..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let wire = stream_of(&records);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for p in points {
            chunks.push(&wire[start..p]);
            start = p;
        }
        chunks.push(&wire[start..]);
        prop_assert_eq!(feed(&chunks, 1 << 20).unwrap(), records);
    }

    #[test]
    fn coalesced_records_in_one_chunk(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..100), 1..20),
    ) {
        let wire = stream_of(&records);
        prop_assert_eq!(feed(&[&wire], 1 << 20).unwrap(), records);
    }

    #[test]
    fn garbage_never_panics(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8),
        max in 0usize..128,
    ) {
        let slices: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let _ = feed(&slices, max);
    }

    #[test]
    fn digit_heavy_garbage_never_panics(
        input in "[0-9\n]{0,64}",
    ) {
        let _ = feed(&[input.as_bytes()], 16);
    }
}
