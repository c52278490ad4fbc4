//! Arbitrary bytes as a protobuf list body, read item by item by `ProtobufListDecoder` with a
//! small field size limit, split at points derived from the input: it must never panic, what it
//! yields must not depend on how the body was split, and it must agree with the whole-body decode
//! (`ProtobufCodec::decode_list`): a body it reads to the end gives the same items and metadata;
//! a body the whole decode refuses it refuses too; and it refuses a body the whole decode reads
//! only for its size limit or for a layout it names (`ItemsBeforeKind`, `SecondList`).
//!
//! Bytes that start with the `k8s\0` magic are the body; other bytes are the list message, put in
//! the envelope the API server writes (`v1` `ConfigMapList`), so that the fuzzer reaches the items
//! without having to find the envelope first.
#![no_main]

use k8s_openapi::api::core::v1::ConfigMap;
use klient_proto::api::{ListMeta, ListProgress, ProtobufListDecoder, ProtobufListError, Resource};
use klient_proto::protobuf::{MAGIC, Writer};
use libfuzzer_sys::fuzz_target;

/// Small enough that the fuzzer meets it.
const MAX_FIELD: usize = 512;

#[derive(Debug, PartialEq)]
enum Outcome {
    Item(Box<ConfigMap>),
    End(ListMeta),
    Failed(ProtobufListError),
}

fn decode(body: &[u8], mut next_piece: impl FnMut() -> usize) -> Vec<Outcome> {
    let codec = ConfigMap::protobuf().expect("ConfigMap has a protobuf form");
    let mut decoder = ProtobufListDecoder::with_max_item_size(codec, MAX_FIELD);
    let mut outcomes = Vec::new();
    let mut rest = body;
    loop {
        match decoder.poll_item() {
            Ok(ListProgress::Item(item)) => outcomes.push(Outcome::Item(Box::new(item))),
            Ok(ListProgress::NeedData) => {
                // What waits for more is one field, cut short: its tag and length (at most 15
                // bytes) and a value within the limit.
                assert!(
                    decoder.buffered() < MAX_FIELD + 16,
                    "held {} bytes",
                    decoder.buffered()
                );
                if rest.is_empty() {
                    decoder.handle_eof();
                } else {
                    let (piece, tail) = rest.split_at(next_piece().clamp(1, rest.len()));
                    decoder.handle_bytes(piece);
                    rest = tail;
                }
            }
            Ok(ListProgress::End(meta)) => {
                assert_eq!(decoder.poll_item(), Ok(ListProgress::Finished));
                outcomes.push(Outcome::End(meta));
                return outcomes;
            }
            Ok(ListProgress::Finished) => panic!("Finished before End"),
            Err(error) => {
                assert_eq!(decoder.poll_item(), Err(error.clone()), "errors are sticky");
                outcomes.push(Outcome::Failed(error));
                return outcomes;
            }
        }
    }
}

fn enveloped(list: &[u8]) -> Vec<u8> {
    let mut writer = Writer::new();
    writer.put_bytes_field(4, b"");
    writer.put_bytes_field(3, b"");
    writer.put_bytes_field(2, list);
    writer.put_nested(1, |writer| {
        writer.put_bytes_field(2, b"ConfigMapList");
        writer.put_bytes_field(1, b"v1");
    });
    let mut body = MAGIC.to_vec();
    body.extend(writer.into_vec());
    body
}

fuzz_target!(|data: &[u8]| {
    let body = if data.starts_with(MAGIC) {
        data.to_vec()
    } else {
        enveloped(data)
    };
    let seed = data.first().copied().unwrap_or(1);

    let whole = decode(&body, || usize::MAX);
    let mut state = u32::from(seed) | 1;
    let split = decode(&body, || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 23) as usize + 1
    });
    assert_eq!(whole, split, "the split changed what was decoded");
    let byte_by_byte = decode(&body, || 1);
    assert_eq!(whole, byte_by_byte, "byte by byte changed what was decoded");

    let codec = ConfigMap::protobuf().expect("ConfigMap has a protobuf form");
    let reference = codec.decode_list(&body);
    match (whole.last(), reference) {
        (Some(Outcome::End(meta)), Ok(list)) => {
            let items: Vec<&ConfigMap> = whole
                .iter()
                .filter_map(|outcome| match outcome {
                    Outcome::Item(item) => Some(&**item),
                    _ => None,
                })
                .collect();
            assert_eq!(items, list.items.iter().collect::<Vec<_>>());
            assert_eq!(meta, &list.metadata);
        }
        (Some(Outcome::End(_)), Err(error)) => {
            panic!("read to the end what the whole decode refuses: {error}")
        }
        (Some(Outcome::Failed(error)), Ok(_)) => assert!(
            matches!(
                error,
                ProtobufListError::TooLarge { .. }
                    | ProtobufListError::ItemsBeforeKind
                    | ProtobufListError::SecondList
            ),
            "refused what the whole decode reads: {error:?}"
        ),
        (Some(Outcome::Failed(_)), Err(_)) => {}
        (other, _) => panic!("decode ended with {other:?}"),
    }
});
