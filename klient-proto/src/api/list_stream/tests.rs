use super::*;
use serde_json::{Value, json};

type Outcome<K> = Result<ListProgress<K>, ListDecodeError>;

/// Feeds `body` in pieces of `piece` bytes (all at once for `usize::MAX`), polling until
/// `NeedData` after each, then the end; returns everything polled up to the first `End` or
/// error (with `ItemTooLarge`'s `len`, which depends on the split, set to 0).
fn run_with<K: DeserializeOwned + PartialEq + std::fmt::Debug>(
    mut decoder: ListDecoder<K>,
    body: &[u8],
    mut next_piece: impl FnMut() -> usize,
) -> Vec<Outcome<K>> {
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        match decoder.poll_item() {
            Ok(ListProgress::NeedData) => {
                if rest.is_empty() {
                    decoder.handle_eof();
                } else {
                    let (piece, tail) = rest.split_at(next_piece().clamp(1, rest.len()));
                    decoder.handle_bytes(piece);
                    rest = tail;
                }
            }
            Ok(ListProgress::Finished) => panic!("Finished before End"),
            Ok(ListProgress::End(meta)) => {
                out.push(Ok(ListProgress::End(meta)));
                // Terminal: the same answer from now on.
                assert_eq!(decoder.poll_item(), Ok(ListProgress::Finished));
                assert_eq!(decoder.poll_item(), Ok(ListProgress::Finished));
                return out;
            }
            Ok(item) => out.push(Ok(item)),
            Err(error) => {
                assert_eq!(decoder.poll_item(), Err(error.clone()), "errors are sticky");
                assert_eq!(decoder.buffered(), 0, "a failed decoder lets go of its bytes");
                let error = match error {
                    ListDecodeError::ItemTooLarge { max, .. } => {
                        ListDecodeError::ItemTooLarge { len: 0, max }
                    }
                    other => other,
                };
                out.push(Err(error));
                return out;
            }
        }
    }
}

fn run<K: DeserializeOwned + PartialEq + std::fmt::Debug>(body: &[u8], piece: usize) -> Vec<Outcome<K>> {
    run_with(ListDecoder::new(), body, || piece)
}

/// The outcome as a list, or the error.
fn as_list<K>(outcomes: Vec<Outcome<K>>) -> Result<ObjectList<K>, ListDecodeError> {
    let mut items = Vec::new();
    for outcome in outcomes {
        match outcome? {
            ListProgress::Item(item) => items.push(item),
            ListProgress::End(metadata) => return Ok(ObjectList { metadata, items }),
            other => panic!("unexpected {:?}", std::mem::discriminant(&other)),
        }
    }
    panic!("no End and no error")
}

const PIECES: [usize; 5] = [usize::MAX, 1, 2, 7, 4096];

/// Decodes `body` whole and in every piece size, checks that all agree, and returns the result.
fn decode_every_way(body: &[u8]) -> Result<ObjectList<Value>, ListDecodeError> {
    let whole = run::<Value>(body, usize::MAX);
    for piece in PIECES {
        assert_eq!(run::<Value>(body, piece), whole, "pieces of {piece}");
    }
    assert_eq!(
        ListDecoder::<Value>::decode_all(body),
        as_list(run::<Value>(body, usize::MAX)),
        "decode_all"
    );
    as_list(whole)
}

/// A valid body: every way of decoding it gives what serde_json gives.
fn check_valid(body: &str) -> ObjectList<Value> {
    let expected: ObjectList<Value> = serde_json::from_str(body).expect("serde_json accepts the example");
    let list = decode_every_way(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(list, expected, "{body}");
    list
}

/// An invalid body: refused every way, and by serde_json too.
fn check_invalid(body: &str) -> ListDecodeError {
    assert!(
        serde_json::from_str::<ObjectList<Value>>(body).is_err(),
        "serde_json accepts {body}"
    );
    match decode_every_way(body.as_bytes()) {
        Ok(list) => panic!("decoded {body} to {list:?}"),
        Err(error) => error,
    }
}

fn malformed(error: &ListDecodeError) -> Option<MalformedReason> {
    match error {
        ListDecodeError::Malformed { reason, .. } => Some(*reason),
        _ => None,
    }
}

const POD_LIST: &str = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"123","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ","remainingItemCount":7},"items":[{"metadata":{"name":"a","labels":{"x":"}{]["}},"spec":{"containers":[{"name":"c","args":["--q=\"{\"","\\"]}]}},{"metadata":{"name":"b"}},{"metadata":{"name":"c"},"status":{"phase":"Running"}}]}"#;

#[test]
fn pod_list_every_way() {
    let list = check_valid(POD_LIST);
    assert_eq!(list.items.len(), 3);
    assert_eq!(list.items[0]["spec"]["containers"][0]["args"][0], "--q=\"{\"");
    assert_eq!(list.items[0]["spec"]["containers"][0]["args"][1], "\\");
    assert_eq!(list.metadata.resource_version.as_deref(), Some("123"));
    assert_eq!(list.metadata.remaining_item_count, Some(7));
    assert_eq!(list.next_page(), Some("eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"));
}

#[test]
fn metadata_before_and_after_items_and_keys_in_any_order() {
    let before = check_valid(r#"{"metadata":{"resourceVersion":"5"},"items":[1,2],"kind":"List"}"#);
    let after = check_valid(r#"{"items":[1,2],"kind":"List","metadata":{"resourceVersion":"5"}}"#);
    let middle =
        check_valid(r#"{"kind":"List","metadata":{"resourceVersion":"5"},"apiVersion":"v1","items":[1,2]}"#);
    assert_eq!(before, after);
    assert_eq!(before, middle);
    assert_eq!(before.items, [1, 2]);
    // The metadata comes with End only, after every item, wherever it was.
    let outcomes = run::<Value>(br#"{"metadata":{"resourceVersion":"5"},"items":[1]}"#, 1);
    assert!(matches!(outcomes[0], Ok(ListProgress::Item(_))));
    assert!(matches!(&outcomes[1], Ok(ListProgress::End(m)) if m.resource_version.as_deref() == Some("5")));
}

#[test]
fn unknown_keys_with_nested_values_are_skipped() {
    let body = r#"{"kind":"List","x-unknown":{"a":["}","]","{","[","\"","\\"],"b":{"c":[{}, [], "\u007d", -1.5e+3, 0, 0.25, 1E7, true, false, null]},"d":""},
        "metadata":{"resourceVersion":"1","selfLink":"/x","extra":{"deep":[[["]]]"]]]}},
        "emptyObject":{}, "emptyArray":[], "number":-0, "string":"\ud83d\ude00 \n\t\/", "bool":true,
        "items":[{"n":"]}\"{["},{"n":"\\"}], "after":[1,{"z":null}]}"#;
    let list = check_valid(body);
    assert_eq!(list.items, [json!({"n": "]}\"{["}), json!({"n": "\\"})]);
    assert_eq!(list.metadata.resource_version.as_deref(), Some("1"));
}

#[test]
fn items_null_empty_or_absent() {
    for body in [
        r#"{"items":[]}"#,
        r#"{"kind":"PodList"}"#,
        r#"{}"#,
        r#"{"metadata":{}}"#,
        r#"  {  "items"  :  [  ]  }  "#,
    ] {
        assert_eq!(check_valid(body).items, Vec::<Value>::new(), "{body}");
    }
    // `null` is an empty list here (the API server writes a nil slice as null), where
    // serde_json refuses it.
    for body in [
        r#"{"items":null}"#,
        r#"{"items" : null , "metadata":{"resourceVersion":"3"}}"#,
    ] {
        let list = decode_every_way(body.as_bytes()).unwrap();
        assert!(list.items.is_empty());
    }
    for body in [
        r#"{"items":nul}"#,
        r#"{"items":nulll}"#,
        r#"{"items":true}"#,
        r#"{"items":{}}"#,
        r#"{"items":"[]"}"#,
        r#"{"items":5}"#,
    ] {
        assert_eq!(
            malformed(&check_invalid(body)),
            Some(MalformedReason::ItemsNotArray),
            "{body}"
        );
    }
}

#[test]
fn whitespace_everywhere() {
    let body = " \r\n\t{ \"kind\" \t: \"List\" ,\n \"items\" :\r\n [ \n 1 , { \"a\" : [ 1 , 2 ] } ,\"s\" , null , true , -2.5e-3 \n ] ,\"metadata\" : { \"resourceVersion\" : \"9\" } \n } \n\t ";
    let list = check_valid(body);
    assert_eq!(
        list.items,
        [
            json!(1),
            json!({"a": [1, 2]}),
            json!("s"),
            Value::Null,
            json!(true),
            json!(-2.5e-3)
        ]
    );
}

#[test]
fn escapes_at_every_piece_boundary() {
    // Every piece size from 1 to the whole length moves the boundaries over each backslash.
    let body = r#"{"kind":"Li\"st\\","items":[{"a":"\\","b":"\"","c":"\\\"}","d":"\u00e9\u4e2d\ud83d\ude00"},"\\\\\""],"x":"\\\"","metadata":{"continue":"\"\\"}}"#;
    let expected: ObjectList<Value> = serde_json::from_str(body).unwrap();
    for piece in 1..=body.len() {
        let list = as_list(run::<Value>(body.as_bytes(), piece)).unwrap();
        assert_eq!(list, expected, "pieces of {piece}");
    }
    assert_eq!(expected.items[0]["d"], "é中😀");
    assert_eq!(expected.metadata.continue_token.as_deref(), Some("\"\\"));
}

#[test]
fn escaped_keys_are_undone() {
    // serde_json reads `"it\u0065ms"` as `items`; so does the decoder.
    let list = check_valid(r#"{"it\u0065ms":[1],"m\u0065tadata":{"resourceVersion":"2"},"\u00e9":1,"é":2}"#);
    assert_eq!(list.items, [1]);
    assert_eq!(list.metadata.resource_version.as_deref(), Some("2"));
}

#[test]
fn duplicate_fields_are_refused() {
    for body in [
        r#"{"items":[],"items":[]}"#,
        r#"{"metadata":{},"items":[],"metadata":{}}"#,
        r#"{"items":[],"it\u0065ms":[]}"#,
    ] {
        assert_eq!(
            malformed(&check_invalid(body)),
            Some(MalformedReason::DuplicateField),
            "{body}"
        );
    }
    // Other keys may repeat, as serde_json lets them.
    check_valid(r#"{"kind":"A","kind":"B","items":[]}"#);
}

#[test]
fn top_level_must_be_an_object() {
    for (body, offset) in [("[]", 0), ("  5", 2), ("\"x\"", 0), ("null", 0), ("}", 0)] {
        assert_eq!(
            run::<Value>(body.as_bytes(), 1),
            [Err(ListDecodeError::Malformed {
                offset,
                reason: MalformedReason::NotAnObject
            })],
            "{body}"
        );
    }
    // serde_json reads a struct from an array too; the decoder does not.
    assert!(serde_json::from_str::<ObjectList<Value>>(r#"[{}, [1]]"#).is_ok());
    assert!(decode_every_way(br#"[{}, [1]]"#).is_err());
}

#[test]
fn trailing_bytes_are_refused() {
    for body in [
        r#"{"items":[]} x"#,
        r#"{"items":[]}}"#,
        r#"{"items":[]}{}"#,
        "{} ,",
    ] {
        let error = check_invalid(body);
        assert_eq!(malformed(&error), Some(MalformedReason::TrailingData), "{body}");
    }
    // Whitespace is fine, and End waits for the end of the body to know there is no more.
    let mut decoder = ListDecoder::<Value>::new();
    decoder.handle_bytes(br#"{"items":[1]} "#);
    assert_eq!(decoder.poll_item(), Ok(ListProgress::Item(json!(1))));
    assert_eq!(decoder.poll_item(), Ok(ListProgress::NeedData));
    decoder.handle_bytes(b"\n\t ");
    assert_eq!(decoder.poll_item(), Ok(ListProgress::NeedData));
    decoder.handle_eof();
    assert_eq!(decoder.poll_item(), Ok(ListProgress::End(ListMeta::default())));
    assert_eq!(decoder.poll_item(), Ok(ListProgress::Finished));
    // Bytes after the end are ignored.
    decoder.handle_bytes(b"garbage");
    assert_eq!(decoder.poll_item(), Ok(ListProgress::Finished));
}

#[test]
fn malformed_bodies_are_refused_like_serde_json_refuses_them() {
    use MalformedReason as R;
    for (body, reason) in [
        (r#"{"items":[1 2]}"#, Some(R::ExpectedCommaOrEnd)),
        (r#"{"items":[1,]}"#, Some(R::ExpectedValue)),
        (r#"{"items":[,1]}"#, Some(R::ExpectedValue)),
        (r#"{"items":[1]"kind":"x"}"#, Some(R::ExpectedCommaOrEnd)),
        (r#"{"items":[1],}"#, Some(R::ExpectedKey)),
        (r#"{,"items":[]}"#, Some(R::ExpectedKey)),
        (r#"{items:[]}"#, Some(R::ExpectedKey)),
        (r#"{"items" []}"#, Some(R::ExpectedColon)),
        (r#"{"items":}"#, Some(R::ItemsNotArray)),
        (r#"{"metadata":}"#, Some(R::ExpectedValue)),
        (r#"{"kind":}"#, Some(R::ExpectedValue)),
        (r#"{"kind":tru}"#, Some(R::InvalidLiteral)),
        (r#"{"kind":nulL}"#, Some(R::InvalidLiteral)),
        (r#"{"kind":01}"#, Some(R::InvalidNumber)),
        (r#"{"kind":-}"#, Some(R::InvalidNumber)),
        (r#"{"kind":1.}"#, Some(R::InvalidNumber)),
        (r#"{"kind":1e}"#, Some(R::InvalidNumber)),
        (r#"{"kind":1e+}"#, Some(R::InvalidNumber)),
        (r#"{"kind":+1}"#, Some(R::ExpectedValue)),
        (r#"{"kind":1.5.}"#, Some(R::ExpectedCommaOrEnd)),
        (r#"{"kind":"a\x"}"#, Some(R::InvalidEscape)),
        (r#"{"kind":"\u12G4"}"#, Some(R::InvalidEscape)),
        ("{\"kind\":\"a\tb\"}", Some(R::ControlCharacter)),
        ("{\"ki\nd\":1}", Some(R::InvalidKey)),
        (r#"{"k\q":1}"#, Some(R::InvalidKey)),
        (r#"{"kind":{"a" 1}}"#, Some(R::ExpectedColon)),
        (r#"{"kind":{"a":1,}}"#, Some(R::ExpectedKey)),
        (r#"{"kind":{1:1}}"#, Some(R::ExpectedKey)),
        (r#"{"kind":[1,]}"#, Some(R::ExpectedValue)),
        (r#"{"kind":[1}"#, Some(R::ExpectedCommaOrEnd)),
        (r#"{"kind":{"a":1]}"#, Some(R::ExpectedCommaOrEnd)),
        // Inside items and metadata serde_json has the last word.
        (r#"{"items":[{"a":tru}]}"#, None),
        (r#"{"items":[{"a":1]]}"#, None),
        (r#"{"items":[tru]}"#, None),
        (r#"{"items":[1x]}"#, None),
        (r#"{"metadata":{"resourceVersion":5}}"#, None),
        (r#"{"metadata":null}"#, None),
        (r#"{"metadata":"x"}"#, None),
        ("", None),
        ("   ", None),
    ] {
        let error = check_invalid(body);
        if reason.is_some() {
            assert_eq!(malformed(&error), reason, "{body}: {error}");
        }
    }
    // Where the error is reported.
    assert_eq!(
        check_invalid(r#"{"items":[1,2] "kind":"x"}"#),
        ListDecodeError::Malformed {
            offset: 15,
            reason: R::ExpectedCommaOrEnd
        }
    );
    assert!(matches!(
        check_invalid(r#"{"items":[{"a":1},{"a":tru}]}"#),
        ListDecodeError::Item { index: 1, .. }
    ));
    assert!(matches!(
        check_invalid(r#"{"metadata":{"resourceVersion":5}}"#),
        ListDecodeError::Metadata { .. }
    ));
}

#[test]
fn skipped_strings_are_not_checked_for_utf8_but_keys_are() {
    // serde_json does not look at the UTF-8 of a string it skips, but does at a key it reads.
    let body = b"{\"kind\":\"\xff\xfe\",\"items\":[]}";
    assert!(serde_json::from_slice::<ObjectList<Value>>(body).is_ok());
    assert_eq!(decode_every_way(body).unwrap().items, Vec::<Value>::new());
    let body = b"{\"\xff\":1,\"items\":[]}";
    assert!(serde_json::from_slice::<ObjectList<Value>>(body).is_err());
    assert_eq!(
        decode_every_way(body).map_err(|e| malformed(&e)),
        Err(Some(MalformedReason::InvalidKey))
    );
}

#[test]
fn truncated_at_every_prefix() {
    let body = format!("{POD_LIST}\n");
    let complete = POD_LIST.len();
    for len in 0..body.len() {
        let prefix = &body.as_bytes()[..len];
        let mut decoder = ListDecoder::<Value>::new();
        decoder.handle_bytes(prefix);
        loop {
            match decoder.poll_item() {
                Ok(ListProgress::Item(_)) => {}
                Ok(ListProgress::NeedData) => break,
                other => panic!("prefix of {len}: {other:?}"),
            }
        }
        decoder.handle_eof();
        let last = decoder.poll_item();
        if len >= complete {
            assert!(
                matches!(last, Ok(ListProgress::End(_))),
                "prefix of {len}: {last:?}"
            );
        } else {
            assert_eq!(
                last,
                Err(ListDecodeError::Truncated { received: len as u64 }),
                "prefix of {len}"
            );
            assert!(serde_json::from_slice::<ObjectList<Value>>(prefix).is_err());
        }
        // Byte by byte too.
        let outcomes = run::<Value>(prefix, 1);
        if len < complete {
            assert_eq!(
                outcomes.last(),
                Some(&Err(ListDecodeError::Truncated { received: len as u64 }))
            );
        }
    }
}

#[test]
fn items_over_the_limit() {
    let item = format!(r#"{{"data":"{}"}}"#, "x".repeat(100));
    let body = format!(r#"{{"items":[{item},{item}]}}"#);
    // Exactly at the limit passes.
    let list = as_list(run_with(
        ListDecoder::<Value>::with_max_item_size(item.len()),
        body.as_bytes(),
        || 3,
    ));
    assert_eq!(list.map(|l| l.items.len()), Ok(2));
    // One byte less does not, however it is split; the first item is refused before it is whole.
    for piece in PIECES {
        let outcomes = run_with(
            ListDecoder::<Value>::with_max_item_size(item.len() - 1),
            body.as_bytes(),
            || piece,
        );
        assert_eq!(
            outcomes,
            [Err(ListDecodeError::ItemTooLarge {
                len: 0,
                max: item.len() - 1
            })],
            "pieces of {piece}"
        );
    }
    let mut decoder = ListDecoder::<Value>::with_max_item_size(50);
    let mut error = None;
    for piece in body.as_bytes().chunks(7) {
        decoder.handle_bytes(piece);
        match decoder.poll_item() {
            Ok(ListProgress::NeedData) => assert!(decoder.buffered() <= 50 + 7),
            Err(e) => {
                error = Some(e);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(error, Some(ListDecodeError::ItemTooLarge { len, max: 50 }) if len > 50 && len <= 57));
    // Scalars are measured without the byte that ends them.
    let list = as_list(run_with(
        ListDecoder::<Value>::with_max_item_size(5),
        br#"{"items":[12345 ,-1.25]}"#,
        || 1,
    ));
    assert_eq!(list.map(|l| l.items), Ok(vec![json!(12345), json!(-1.25)]));
    assert!(
        as_list(run_with(
            ListDecoder::<Value>::with_max_item_size(4),
            br#"{"items":[12345]}"#,
            || 1
        ))
        .is_err()
    );
}

#[test]
fn metadata_and_skipped_values_over_the_limit() {
    let big = "y".repeat(100);
    for body in [
        format!(r#"{{"metadata":{{"continue":"{big}"}},"items":[]}}"#),
        format!(r#"{{"kind":"{big}","items":[]}}"#),
        format!(r#"{{"x":[{{"a":"{big}"}}],"items":[]}}"#),
        format!(r#"{{"x":{}1,"items":[]}}"#, "1".repeat(100)),
    ] {
        for piece in PIECES {
            assert_eq!(
                run_with(
                    ListDecoder::<Value>::with_max_item_size(64),
                    body.as_bytes(),
                    || piece
                ),
                [Err(ListDecodeError::ItemTooLarge { len: 0, max: 64 })],
                "{body} in pieces of {piece}"
            );
        }
        assert!(
            as_list(run_with(
                ListDecoder::<Value>::with_max_item_size(120),
                body.as_bytes(),
                || 5
            ))
            .is_ok()
        );
    }
    // A skipped value exactly at the limit passes: the `1` that ends it is not counted.
    let body = br#"{"kind":"abc","x":12345,"items":[]}"#;
    assert!(as_list(run_with(ListDecoder::<Value>::with_max_item_size(5), body, || 1)).is_ok());
    assert!(as_list(run_with(ListDecoder::<Value>::with_max_item_size(4), body, || 1)).is_err());
}

#[test]
fn keys_over_the_limit() {
    let long = "k".repeat(MAX_KEY_LEN);
    check_valid(&format!(r#"{{"{long}":1,"items":[]}}"#));
    let longer = "k".repeat(MAX_KEY_LEN + 1);
    let body = format!(r#"{{"{longer}":1,"items":[]}}"#);
    assert!(serde_json::from_str::<ObjectList<Value>>(&body).is_ok());
    for piece in PIECES {
        assert_eq!(
            run::<Value>(body.as_bytes(), piece),
            [Err(ListDecodeError::KeyTooLong {
                offset: 1,
                max: MAX_KEY_LEN
            })]
        );
    }
    // Never buffered further than the limit.
    let mut decoder = ListDecoder::<Value>::new();
    decoder.handle_bytes(b"{\"");
    for _ in 0..MAX_KEY_LEN {
        decoder.handle_bytes(b"k");
        assert_eq!(decoder.poll_item(), Ok(ListProgress::NeedData));
    }
    decoder.handle_bytes(b"k");
    assert!(matches!(
        decoder.poll_item(),
        Err(ListDecodeError::KeyTooLong { .. })
    ));
}

fn nested(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

#[test]
fn nesting_is_limited_as_serde_json_limits_it() {
    // The top object and `items` are two levels: an item may nest MAX_DEPTH - 2 more.
    let deepest = format!(r#"{{"items":[{}]}}"#, nested(MAX_DEPTH - 2));
    check_valid(&deepest);
    let too_deep = format!(r#"{{"items":[{}]}}"#, nested(MAX_DEPTH - 1));
    let error = check_invalid(&too_deep);
    assert_eq!(
        error,
        ListDecodeError::TooDeep {
            offset: 10 + MAX_DEPTH as u64 - 2,
            max: MAX_DEPTH
        }
    );
    // The same with objects, and in the metadata.
    let objects = |levels: usize| format!("{}1{}", r#"{"a":"#.repeat(levels), "}".repeat(levels));
    check_valid(&format!(r#"{{"items":[{}]}}"#, objects(MAX_DEPTH - 2)));
    assert!(matches!(
        check_invalid(&format!(r#"{{"items":[{}]}}"#, objects(MAX_DEPTH - 1))),
        ListDecodeError::TooDeep { .. }
    ));
    let meta = format!(r#"{{"metadata":{{"x":{}}}}}"#, nested(MAX_DEPTH - 2));
    check_valid(&meta);
    let meta = format!(r#"{{"metadata":{{"x":{}}}}}"#, nested(MAX_DEPTH - 1));
    assert!(matches!(
        decode_every_way(meta.as_bytes()),
        Err(ListDecodeError::TooDeep { .. })
    ));
    // Skipped values are limited too, where serde_json (which skips them without recursion)
    // does not limit them.
    check_valid(&format!(r#"{{"x":{}}}"#, nested(MAX_DEPTH - 1)));
    let skipped = format!(r#"{{"x":{}}}"#, nested(MAX_DEPTH));
    assert!(serde_json::from_str::<ObjectList<Value>>(&skipped).is_ok());
    assert_eq!(
        decode_every_way(skipped.as_bytes()),
        Err(ListDecodeError::TooDeep {
            offset: 5 + MAX_DEPTH as u64 - 1,
            max: MAX_DEPTH
        })
    );
    // Far deeper than any limit: refused, not a stack overflow.
    let abyss = format!(r#"{{"x":{},"items":[{}]}}"#, nested(100_000), nested(100_000));
    assert!(matches!(
        decode_every_way(abyss.as_bytes()),
        Err(ListDecodeError::TooDeep { .. })
    ));
}

#[test]
fn item_that_is_not_a_k_is_typed() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Named {
        name: String,
    }
    let body = br#"{"items":[{"name":"a"},"b",{"name":"c"}]}"#;
    for piece in PIECES {
        let outcomes = run::<Named>(body, piece);
        assert_eq!(outcomes.len(), 2, "pieces of {piece}");
        assert_eq!(outcomes[0], Ok(ListProgress::Item(Named { name: "a".into() })));
        match &outcomes[1] {
            Err(ListDecodeError::Item { index: 1, reason }) => {
                assert!(reason.contains("expected struct Named"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(serde_json::from_slice::<ObjectList<Named>>(body).is_err());
    let error = ListDecoder::<Named>::decode_all(body).unwrap_err();
    assert!(
        error.to_string().starts_with("list item 1 does not decode: "),
        "{error}"
    );
}

#[cfg(feature = "k8s-openapi")]
#[test]
fn typed_pods() {
    use k8s_openapi::api::core::v1::Pod;
    let body = br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},
        "items":[{"metadata":{"name":"p","namespace":"d"},"spec":{"containers":[{"name":"c","image":"nginx"}]}},
                 {"metadata":{"name":"q"},"spec":{"containers":"not a list"}}]}"#;
    let outcomes = run::<Pod>(body, 7);
    assert!(matches!(&outcomes[0], Ok(ListProgress::Item(pod)) if pod.metadata.name.as_deref() == Some("p")));
    assert!(matches!(
        &outcomes[1],
        Err(ListDecodeError::Item { index: 1, .. })
    ));
    let valid = br#"{"items":[{"metadata":{"name":"p"}}],"metadata":{"resourceVersion":"9"}}"#;
    let list = ListDecoder::<Pod>::decode_all(valid).unwrap();
    assert_eq!(list.items[0].metadata.name.as_deref(), Some("p"));
    assert_eq!(list.metadata.resource_version.as_deref(), Some("9"));
    let list = ListDecoder::<Pod>::decode_all(&valid[..valid.len() - 1]).map(|_| ());
    assert_eq!(
        list,
        Err(ListDecodeError::Truncated {
            received: valid.len() as u64 - 1
        })
    );
}

/// A small deterministic generator (xorshift64*), so that the property test needs no new
/// dependency and fails the same way every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn string(&mut self) -> String {
        const PARTS: [&str; 14] = [
            "a", "Z", "{", "}", "[", "]", "\"", "\\", ",", ":", " ", "é", "😀", "\u{1}",
        ];
        (0..self.below(8))
            .map(|_| PARTS[self.below(PARTS.len())])
            .collect()
    }

    fn value(&mut self, depth: usize) -> Value {
        match self.below(if depth == 0 { 5 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(self.below(2) == 1),
            2 => json!(self.next() as i64 >> self.below(64)),
            3 => json!((self.next() % 1_000_000) as f64 / 7.0),
            4 => Value::String(self.string()),
            5 | 6 => (0..self.below(5))
                .map(|_| (self.string(), self.value(depth - 1)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            _ => (0..self.below(5))
                .map(|_| self.value(depth - 1))
                .collect::<Vec<_>>()
                .into(),
        }
    }

    /// A whitespace run, often empty.
    fn space(&mut self) -> &'static str {
        [" ", "", "", "\n  ", "\t", "\r\n"][self.below(6)]
    }
}

/// A random list body: items and metadata in either order, among other keys, with random
/// whitespace between the top-level tokens.
fn random_body(rng: &mut Rng) -> (String, usize) {
    let items: Vec<Value> = (0..rng.below(12)).map(|_| rng.value(4)).collect();
    let pretty = rng.below(2) == 1;
    let encode = |v: &Value| {
        if pretty {
            serde_json::to_string_pretty(v).unwrap()
        } else {
            v.to_string()
        }
    };
    let mut item_text = Vec::new();
    for item in &items {
        item_text.push(format!("{}{}{}", rng.space(), encode(item), rng.space()));
    }
    let items_member = format!(
        "\"items\"{}:{}[{}]",
        rng.space(),
        rng.space(),
        item_text.join(",")
    );
    let meta =
        json!({"resourceVersion": rng.next().to_string(), "continue": rng.string(), "other": rng.value(2)});
    let mut members = vec![
        items_member,
        format!("\"metadata\":{}", encode(&meta)),
        format!("\"kind\":{}\"List\"", rng.space()),
        format!("{}:{}", Value::String(rng.string()), encode(&rng.value(3))),
    ];
    // Shuffle, and sometimes drop the metadata.
    for i in (1..members.len()).rev() {
        members.swap(i, rng.below(i + 1));
    }
    if rng.below(5) == 0 {
        members.retain(|m| !m.starts_with("\"metadata\""));
    }
    let joined = members
        .iter()
        .map(|m| format!("{}{m}{}", rng.space(), rng.space()))
        .collect::<Vec<_>>()
        .join(",");
    let largest = item_text.iter().map(String::len).max().unwrap_or(0);
    (format!("{}{{{joined}}}{}", rng.space(), rng.space()), largest)
}

#[test]
fn random_lists_match_serde_json_over_random_splits() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..400 {
        let (body, _) = random_body(&mut rng);
        let expected: ObjectList<Value> =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("round {round}: {e}: {body}"));
        for _ in 0..4 {
            let max_piece = 1 + rng.below(64);
            let mut seed = Rng(rng.next() | 1);
            let list = as_list(run_with(ListDecoder::<Value>::new(), body.as_bytes(), || {
                1 + seed.below(max_piece)
            }));
            assert_eq!(list.as_ref(), Ok(&expected), "round {round}: {body}");
        }
        // Every strict prefix is truncated.
        let cut = rng.below(body.trim_end().len());
        let outcomes = run::<Value>(&body.as_bytes()[..cut], 1 + rng.below(16));
        assert_eq!(
            outcomes.last(),
            Some(&Err(ListDecodeError::Truncated { received: cut as u64 })),
            "round {round}, cut at {cut}: {body}"
        );
    }
}

#[test]
fn random_corruptions_are_refused_when_serde_json_refuses_them() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut refused = 0;
    for _ in 0..2000 {
        let (body, _) = random_body(&mut rng);
        let mut bytes = body.into_bytes();
        let at = rng.below(bytes.len());
        let set = b"{}[]\",:\\ 0a-.etnu\x01";
        bytes[at] = set[rng.below(set.len())];
        let whole = run::<Value>(&bytes, usize::MAX);
        let split = run::<Value>(&bytes, 1 + rng.below(9));
        assert_eq!(whole, split);
        match serde_json::from_slice::<ObjectList<Value>>(&bytes) {
            Ok(expected) => assert_eq!(as_list(whole), Ok(expected)),
            Err(_) => {
                // `items: null` is the one body the decoder takes that serde_json refuses here.
                assert!(as_list(whole).is_err(), "{}", String::from_utf8_lossy(&bytes));
                refused += 1;
            }
        }
    }
    assert!(refused > 500, "{refused}");
}

#[test]
fn memory_holds_one_item_and_one_read() {
    let mut rng = Rng(7);
    let items: Vec<Value> = (0..200)
        .map(|i| json!({"metadata": {"name": format!("item-{i}")}, "data": "z".repeat(rng.below(3000)), "nested": rng.value(3)}))
        .collect();
    let texts: Vec<String> = items.iter().map(Value::to_string).collect();
    let largest = texts.iter().map(String::len).max().unwrap();
    let body = format!(
        r#"{{"kind":"List","metadata":{{"resourceVersion":"1"}},"items":[{}]}}"#,
        texts.join(",")
    );
    assert!(body.len() > 200 * 1024);
    let mut decoder = ListDecoder::<Value>::new();
    let mut decoded = Vec::new();
    let mut most = 0;
    for piece in body.as_bytes().chunks(1024) {
        decoder.handle_bytes(piece);
        most = most.max(decoder.buffered());
        loop {
            match decoder.poll_item() {
                Ok(ListProgress::Item(item)) => decoded.push(item),
                Ok(ListProgress::NeedData) => break,
                other => panic!("{other:?}"),
            }
        }
        // Between reads only the incomplete item is kept.
        assert!(
            decoder.buffered() <= largest,
            "{} > {largest}",
            decoder.buffered()
        );
    }
    decoder.handle_eof();
    assert!(matches!(decoder.poll_item(), Ok(ListProgress::End(_))));
    // Compared with what serde_json reads from each item's text: its float parsing is not
    // exact (no `float_roundtrip`), so the generated values themselves may differ in a last bit.
    let expected: Vec<Value> = texts.iter().map(|t| serde_json::from_str(t).unwrap()).collect();
    assert_eq!(decoded.len(), items.len());
    assert!(decoded == expected);
    assert!(most <= largest + 1024 + 16, "{most} > {largest} + 1 KiB");
}

#[test]
fn debug_shows_no_bytes() {
    let mut decoder = ListDecoder::<Value>::new();
    decoder.handle_bytes(br#"{"items":[{"secret":"hunter2"#);
    assert_eq!(decoder.poll_item(), Ok(ListProgress::NeedData));
    let text = format!("{decoder:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("buffered"), "{text}");
    let mut decoder = ListDecoder::<u32>::new();
    decoder.handle_bytes(br#"{"items":["hunter2"]}"#);
    assert!(matches!(
        decoder.poll_item(),
        Err(ListDecodeError::Item { index: 0, .. })
    ));
    assert!(!format!("{decoder:?}").contains("hunter2"));
}

#[test]
fn errors_display_their_place() {
    let error = ListDecodeError::Malformed {
        offset: 12,
        reason: MalformedReason::TrailingData,
    };
    assert_eq!(
        error.to_string(),
        "malformed list body at offset 12: bytes after the end of the list"
    );
    assert!(
        ListDecodeError::ItemTooLarge { len: 10, max: 5 }
            .to_string()
            .contains("limit of 5")
    );
}

#[test]
fn word_search_finds_the_first_quote_or_backslash() {
    let naive = |bytes: &[u8], from: usize| {
        bytes
            .iter()
            .skip(from)
            .position(|&b| b == b'"' || b == b'\\')
            .map(|at| from + at)
    };
    let mut rng = Rng(99);
    // Bytes next to the ones searched for (and their high-bit twins) trip a sloppy word test.
    let alphabet = [
        b'"', b'\\', b'!', b'#', b'[', b']', 0x00, 0x01, 0x21, 0x5b, 0x5d, 0xa2, 0xdc, 0x80, 0xff, b'a',
    ];
    for _ in 0..20_000 {
        let len = rng.below(40);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(6) == 0 {
                    alphabet[rng.below(2)]
                } else {
                    alphabet[2 + rng.below(alphabet.len() - 2)]
                }
            })
            .collect();
        let from = rng.below(len + 2);
        assert_eq!(
            find_quote_or_backslash(&bytes, from),
            naive(&bytes, from),
            "{bytes:?} from {from}"
        );
    }
}
