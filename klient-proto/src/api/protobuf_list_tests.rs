use super::*;
use crate::api::ObjectList;
use crate::api::format::tests::{Widget, codec, widget, widget_list_body};
use crate::protobuf::{Message, Writer, encode_enveloped, encode_message};

fn meta() -> ListMeta {
    ListMeta {
        resource_version: Some("41".into()),
        continue_token: Some("next".into()),
        ..ListMeta::default()
    }
}

fn widgets(n: usize) -> Vec<Widget> {
    (0..n)
        .map(|i| widget(&format!("w{i}"), (i as i64 + 1) * 1000))
        .collect()
}

/// Everything the decoder hands out for `body` fed in `pieces`: items, then the metadata, or the
/// error it stopped at.
fn read(body: &[u8], piece: usize, max: usize) -> (Vec<Widget>, Result<ListMeta, ProtobufListError>) {
    let mut decoder = ProtobufListDecoder::with_max_item_size(codec(), max);
    let mut items = Vec::new();
    let mut pieces = body.chunks(piece.max(1));
    loop {
        match decoder.poll_item() {
            Ok(ListProgress::Item(item)) => items.push(item),
            Ok(ListProgress::NeedData) => match pieces.next() {
                Some(piece) => decoder.handle_bytes(piece),
                None => decoder.handle_eof(),
            },
            Ok(ListProgress::End(meta)) => {
                assert!(matches!(decoder.poll_item(), Ok(ListProgress::Finished)));
                return (items, Ok(meta));
            }
            Ok(ListProgress::Finished) => panic!("Finished before End"),
            Err(error) => {
                assert_eq!(decoder.poll_item().unwrap_err(), error, "an error is final");
                return (items, Err(error));
            }
        }
    }
}

#[test]
fn every_split_gives_what_the_whole_decode_gives() {
    let body = widget_list_body(&widgets(5), &meta());
    let whole = codec().decode_list(&body).unwrap();
    for piece in 1..=body.len() {
        let (items, metadata) = read(&body, piece, 1024);
        assert_eq!(items, whole.items, "pieces of {piece}");
        assert_eq!(metadata.unwrap(), whole.metadata, "pieces of {piece}");
    }
}

#[test]
fn each_item_comes_out_as_soon_as_its_bytes_are_in_and_only_one_field_is_held() {
    let items = widgets(50);
    let body = widget_list_body(&items, &meta());
    let mut decoder = ProtobufListDecoder::new(codec());
    let mut out = 0;
    let mut largest = 0;
    for (offset, byte) in body.iter().enumerate() {
        decoder.handle_bytes(std::slice::from_ref(byte));
        largest = largest.max(decoder.buffered());
        while let ListProgress::Item(item) = decoder.poll_item().unwrap() {
            assert_eq!(item, items[out]);
            out += 1;
            // The item's last byte was just fed: it came out before the rest of the body.
            assert!(offset + 1 < body.len());
        }
    }
    assert_eq!(out, items.len(), "every item before the end of the body");
    // The largest field is an item, or the envelope's type (tag, length, message).
    let largest_item = items
        .iter()
        .map(|item| encode_list_item(item).len())
        .max()
        .unwrap();
    let largest_field = largest_item.max(2 + type_meta("WidgetList").len());
    assert!(
        largest <= largest_field,
        "held {largest} bytes, the largest field takes {largest_field}"
    );
    decoder.handle_eof();
    assert_eq!(decoder.poll_item().unwrap(), ListProgress::End(meta()));
}

/// An item's field as the list holds it: tag, length, message.
fn encode_list_item(item: &Widget) -> Vec<u8> {
    let mut writer = Writer::new();
    writer.put_nested(2, |writer| item.encode_fields(writer));
    writer.into_vec()
}

#[test]
fn an_empty_list_ends_with_its_metadata() {
    let (items, metadata) = read(&widget_list_body(&[], &meta()), 3, 1024);
    assert!(items.is_empty());
    assert_eq!(metadata.unwrap(), meta());
    // No list at all in the envelope: an empty list, as the whole decode reads it.
    let body = encode_enveloped("example.com/v1", "WidgetList", |_| {});
    let (items, metadata) = read(&body, 1, 1024);
    assert!(items.is_empty());
    assert_eq!(metadata.unwrap(), ListMeta::default());
}

#[test]
fn an_item_over_the_limit_is_refused_by_its_length_before_it_is_buffered() {
    let mut big = widget("big", 1);
    big.name = Some("x".repeat(5000));
    let body = widget_list_body(&[widget("small", 1), big], &meta());
    let mut decoder = ProtobufListDecoder::with_max_item_size(codec(), 1000);
    // Everything up to the second item's length prefix, and a little of it.
    let cut = body.windows(4).position(|w| w == b"xxxx").unwrap();
    decoder.handle_bytes(&body[..cut]);
    assert!(
        matches!(decoder.poll_item(), Ok(ListProgress::Item(item)) if item.name.as_deref() == Some("small"))
    );
    let error = decoder.poll_item().unwrap_err();
    assert!(
        matches!(error, ProtobufListError::TooLarge { max: 1000, len } if len > 5000),
        "{error:?}"
    );
    assert!(decoder.buffered() < 100, "nothing of it is kept");
    assert!(error.to_string().contains("over the limit of 1000"), "{error}");
}

#[test]
fn a_body_cut_anywhere_reads_as_the_whole_decode_reads_it() {
    // Protobuf cannot tell a body cut between two fields from a shorter one: cut after the
    // envelope's type, it is an empty list to both decoders. Cut inside a field, both refuse it.
    let body = widget_list_body(&widgets(3), &meta());
    let mut refused = 0;
    for cut in 0..body.len() {
        let (items, metadata) = read(&body[..cut], 7, 1024);
        match codec().decode_list(&body[..cut]) {
            Ok(whole) => assert_eq!(
                (items, metadata),
                (whole.items, Ok(whole.metadata)),
                "cut at {cut}"
            ),
            Err(_) => {
                let error = metadata.unwrap_err();
                assert!(
                    matches!(
                        error,
                        ProtobufListError::Truncated { .. }
                            | ProtobufListError::Protobuf(
                                ProtobufError::Truncated | ProtobufError::UnexpectedKind { .. }
                            )
                    ),
                    "cut at {cut}: {error:?}"
                );
                refused += 1;
            }
        }
    }
    assert!(refused > body.len() * 9 / 10, "most cuts fall inside a field");
}

#[test]
fn another_kind_is_refused_before_any_item() {
    let body = encode_enveloped("example.com/v1", "GadgetList", |writer| {
        writer.put_nested(2, |writer| widget("a", 1).encode_fields(writer));
    });
    let (items, metadata) = read(&body, 1, 1024);
    assert!(items.is_empty());
    assert!(matches!(
        metadata,
        Err(ProtobufListError::Protobuf(ProtobufError::UnexpectedKind { .. }))
    ));
    assert_eq!(
        read(b"{\"items\":[]}", 4, 1024).1,
        Err(ProtobufListError::Protobuf(ProtobufError::MissingMagic))
    );
    // A wrong first byte is refused without waiting for the other three.
    let mut decoder = ProtobufListDecoder::new(codec());
    decoder.handle_bytes(b"{");
    assert_eq!(
        decoder.poll_item(),
        Err(ProtobufListError::Protobuf(ProtobufError::MissingMagic))
    );
}

/// A `runtime.Unknown` body written field by field, in the order given.
fn envelope_of(fields: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut writer = Writer::new();
    for (field, bytes) in fields.iter().rev() {
        writer.put_bytes_field(*field, bytes);
    }
    let mut body = crate::protobuf::MAGIC.to_vec();
    body.extend(writer.into_vec());
    body
}

fn type_meta(kind: &str) -> Vec<u8> {
    let mut writer = Writer::new();
    writer.put_bytes_field(2, kind.as_bytes());
    writer.put_bytes_field(1, b"example.com/v1");
    writer.into_vec()
}

fn list_message(items: &[Widget]) -> Vec<u8> {
    encode_message(&ObjectList {
        metadata: meta(),
        items: items.to_vec(),
    })
}

#[test]
fn layouts_only_a_whole_decode_can_read_are_refused_by_name() {
    let list = list_message(&widgets(2));
    let raw_first = envelope_of(&[(2, list.clone()), (1, type_meta("WidgetList"))]);
    assert!(codec().decode_list(&raw_first).is_ok(), "valid protobuf");
    assert_eq!(
        read(&raw_first, 5, 1024).1,
        Err(ProtobufListError::ItemsBeforeKind)
    );

    let twice = envelope_of(&[(1, type_meta("WidgetList")), (2, list.clone()), (2, list)]);
    assert!(
        codec().decode_list(&twice).is_ok(),
        "valid protobuf: the last list wins"
    );
    let (items, metadata) = read(&twice, 5, 1024);
    assert_eq!(items.len(), 2);
    assert_eq!(metadata, Err(ProtobufListError::SecondList));
}

#[test]
fn a_broken_item_is_named_by_its_position() {
    let mut list = Writer::new();
    list.put_bytes_field(2, b"\x0a\x05ab"); // name: 5 bytes announced, 2 present
    list.put_nested(2, |writer| widget("fine", 1).encode_fields(writer));
    let body = envelope_of(&[(1, type_meta("WidgetList")), (2, list.into_vec())]);
    let (items, metadata) = read(&body, 3, 1024);
    assert_eq!(items, [widget("fine", 1)]);
    assert_eq!(
        metadata,
        Err(ProtobufListError::Item {
            index: 1,
            error: ProtobufError::Truncated
        })
    );
    assert!(codec().decode_list(&body).is_err());
}

#[test]
fn a_field_running_past_the_end_of_the_list_is_malformed() {
    let mut list = list_message(&widgets(1));
    // The list's last field claims one byte more than the list holds; the byte after it is the
    // envelope's next field.
    let item_len_at = list.len() - encode_list_item(&widgets(1)[0]).len() + 1;
    list[item_len_at] += 1;
    let mut body = envelope_of(&[(1, type_meta("WidgetList")), (2, list)]);
    body.extend_from_slice(b"\x1a\x00");
    let (_, metadata) = read(&body, 4, 1024);
    assert_eq!(
        metadata,
        Err(ProtobufListError::Protobuf(ProtobufError::Truncated))
    );
    assert!(codec().decode_list(&body).is_err());
}

#[test]
fn the_envelope_fields_after_the_list_are_read_as_the_whole_decode_reads_them() {
    let list = list_message(&widgets(2));
    let gzip = envelope_of(&[
        (1, type_meta("WidgetList")),
        (2, list.clone()),
        (3, b"gzip".to_vec()),
    ]);
    assert_eq!(
        read(&gzip, 2, 1024).1,
        Err(ProtobufListError::Protobuf(
            ProtobufError::UnsupportedContentEncoding("gzip".into())
        ))
    );
    let typed = envelope_of(&[
        (1, type_meta("WidgetList")),
        (2, list),
        (3, Vec::new()),
        (4, b"x".to_vec()),
        (9, b"?".to_vec()),
    ]);
    let (items, metadata) = read(&typed, 2, 1024);
    assert_eq!((items.len(), metadata), (2, Ok(meta())));
}
