//! Arbitrary bytes, split at points derived from the input, into the item-by-item list decoder
//! with a small item size limit: it must never panic, what it yields must not depend on how the
//! body was split, and for a body serde_json reads as a list it must yield the same items and
//! metadata (unless a limit stopped it), and for one serde_json refuses it must fail.
#![no_main]

use std::fmt;

use klient_proto::api::{ListDecodeError, ListDecoder, ListMeta, ListProgress, ObjectList};
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

#[derive(Debug, PartialEq)]
enum Outcome {
    Item(Value),
    End(ListMeta),
    Failed(ListDecodeError),
}

fn decode(body: &[u8], max: usize, mut next_piece: impl FnMut() -> usize) -> Vec<Outcome> {
    let mut decoder = ListDecoder::<Value>::with_max_item_size(max);
    let mut outcomes = Vec::new();
    let mut rest = body;
    loop {
        match decoder.poll_item() {
            Ok(ListProgress::Item(item)) => outcomes.push(Outcome::Item(item)),
            Ok(ListProgress::NeedData) => {
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
                // How much of a too large value was seen depends on the split; nothing else may.
                let error = match error {
                    ListDecodeError::ItemTooLarge { max, .. } => {
                        ListDecodeError::ItemTooLarge { len: 0, max }
                    }
                    other => other,
                };
                outcomes.push(Outcome::Failed(error));
                return outcomes;
            }
        }
    }
}

fn as_list(outcomes: &[Outcome]) -> Result<(Vec<&Value>, &ListMeta), &ListDecodeError> {
    let mut items = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Item(item) => items.push(item),
            Outcome::End(meta) => return Ok((items, meta)),
            Outcome::Failed(error) => return Err(error),
        }
    }
    unreachable!("decode ends with End or an error")
}

/// `ObjectList<Value>` as serde_json derives it, with `items: null` read as no items: what the
/// decoder promises to match.
struct Reference {
    metadata: ListMeta,
    items: Vec<Value>,
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Reference;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Reference, A::Error> {
                let (mut metadata, mut items) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "metadata" if metadata.is_some() => {
                            return Err(A::Error::duplicate_field("metadata"));
                        }
                        "metadata" => metadata = Some(map.next_value::<ListMeta>()?),
                        "items" if items.is_some() => return Err(A::Error::duplicate_field("items")),
                        "items" => items = Some(map.next_value::<Option<Vec<Value>>>()?.unwrap_or_default()),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Reference {
                    metadata: metadata.unwrap_or_default(),
                    items: items.unwrap_or_default(),
                })
            }
        }
        deserializer.deserialize_map(ListVisitor)
    }
}

/// The deepest nesting of arrays and objects outside strings, counted naively.
fn max_depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for &byte in body {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Decodes `body` whole, split and without a limit, and checks the three against each other and
/// against serde_json.
fn check(body: &[u8], max: usize, seed: u8) {
    let whole = decode(body, max, || usize::MAX);
    let mut state = u32::from(seed) | 1;
    let split = decode(body, max, || {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        ((state >> 16) % 64) as usize + 1
    });
    assert_eq!(whole, split, "the split changed the result");
    let unlimited = decode(body, usize::MAX, || 4096);

    let is_object = body
        .iter()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
        == Some(&b'{');
    let reference = serde_json::from_slice::<Reference>(body)
        .ok()
        .filter(|_| is_object);
    // The reference is serde_json's own reading but for `items: null`.
    if let (Ok(list), true) = (serde_json::from_slice::<ObjectList<Value>>(body), is_object) {
        let reference = reference
            .as_ref()
            .expect("the reference reads what serde_json reads");
        assert_eq!(
            (&list.items, &list.metadata),
            (&reference.items, &reference.metadata)
        );
    }

    match &reference {
        Some(reference) => {
            let expected = (reference.items.iter().collect::<Vec<_>>(), &reference.metadata);
            match as_list(&unlimited) {
                Ok(list) => assert_eq!(list, expected),
                // The decoder's own limits, which serde_json does not have for skipped values.
                Err(ListDecodeError::TooDeep { .. }) => assert!(max_depth(body) > 127),
                Err(ListDecodeError::KeyTooLong { .. }) => assert!(body.len() > 256),
                Err(error) => panic!("serde_json reads the list, the decoder fails: {error}"),
            }
            // With the small limit: the same, or a value over it.
            match as_list(&whole) {
                Ok(list) => assert_eq!(list, expected),
                Err(ListDecodeError::ItemTooLarge { .. }) => {}
                Err(error) => assert_eq!(as_list(&unlimited), Err(error)),
            }
        }
        None => {
            assert!(
                as_list(&unlimited).is_err(),
                "serde_json refuses, the decoder accepts"
            );
            assert!(
                as_list(&whole).is_err(),
                "serde_json refuses, the decoder accepts"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // First byte: the item size limit; second: the seed of the split sizes.
    let [limit, seed, body @ ..] = data else {
        return;
    };
    let max = 16 + usize::from(*limit) * 16;
    check(body, max, *seed);
    // The same bytes as the items of a list, where random bytes much more often make a list
    // serde_json accepts, so that the comparison of items is exercised too.
    let mut list = b"{\"kind\":\"List\",\"items\":[".to_vec();
    list.extend_from_slice(body);
    list.extend_from_slice(b"],\"metadata\":{\"resourceVersion\":\"1\"}}");
    check(&list, max, *seed);
});
