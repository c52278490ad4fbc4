//! Arbitrary bytes as YAML: klient's reader must never panic, must keep its limits, must agree
//! with a second YAML reader (serde-saphyr) wherever both read the bytes, and must read what it
//! produced, written out as JSON, back to the same tree.
#![no_main]

use klient_proto::yaml::{YamlError, YamlLimits, read_document};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let limits = YamlLimits {
        max_depth: 32,
        max_nodes: 2_000,
    };
    let ours = read_document(data, &limits);
    if let Err(e) = &ours {
        // Errors render, and never quote more than a position.
        let _ = format!("{e} {e:?}");
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let theirs: Result<Value, _> = serde_saphyr::from_str(text);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) if !tags_locally_as_core(text) => {
            assert!(agree(a, b), "the readers disagree:\n ours {a}\n theirs {b}")
        }
        // Where serde-saphyr reads a document, klient refuses it only at a limit, for an anchor
        // or key rule JSON needs, or for more documents than one.
        (Err(e), Ok(_)) => assert!(
            matches!(
                e,
                YamlError::TooDeep { .. }
                    | YamlError::TooManyNodes { .. }
                    | YamlError::Content { .. }
                    | YamlError::MoreThanOneDocument
            ),
            "klient refuses what serde-saphyr reads: {e:?}"
        ),
        _ => {}
    }
    if let Ok(value) = ours {
        let written = serde_json::to_string(&value).unwrap();
        let generous = YamlLimits {
            max_depth: 64,
            max_nodes: 1_000_000,
        };
        let back = read_document(written.as_bytes(), &generous).expect("JSON text is YAML");
        assert_eq!(back, value, "{written}");
    }
});

/// Whether the text holds a local tag named like a core type (`!null`, `!binary`...). serde-saphyr
/// reads such a tag as the core one (`!!null`); klient, as the YAML spec has it, as an application's
/// own tag, resolving the scalar by its text. The trees then differ by design.
fn tags_locally_as_core(text: &str) -> bool {
    const CORE: [&str; 9] = [
        "str",
        "int",
        "bool",
        "null",
        "float",
        "binary",
        "map",
        "seq",
        "timestamp",
    ];
    text.match_indices('!').any(|(at, _)| {
        let local = at == 0 || text.as_bytes()[at - 1] != b'!';
        let rest = &text[at + 1..];
        local && CORE.iter().any(|name| rest.starts_with(name))
    })
}

/// The same tree, where the two readers' documented difference is allowed: which plain scalars are
/// numbers or booleans rather than text (klient keeps client-go's spellings and the core schema's
/// number forms).
fn agree(ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| agree(x, y)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((ka, va), (kb, vb))| ka == kb && agree(va, vb))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(_), Value::Number(_) | Value::Bool(_))
        | (Value::Number(_) | Value::Bool(_), Value::String(_)) => true,
        (a, b) => a == b,
    }
}
