use serde_json::{Value, json};

use super::*;

fn read(text: &str) -> Value {
    read_document(text.as_bytes(), &YamlLimits::default()).unwrap()
}

fn fail(text: &str) -> YamlError {
    read_document(text.as_bytes(), &YamlLimits::default()).unwrap_err()
}

/// serde-saphyr's reading of the same document, as a second opinion.
fn saphyr(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

/// A document whose aliases copy ten times over twenty levels: 10^21 nodes if expanded.
pub(crate) fn alias_bomb() -> String {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..20 {
        let prev = if i == 0 {
            "a".to_owned()
        } else {
            format!("b{}", i - 1)
        };
        let aliases = vec![format!("*{prev}"); 10].join(", ");
        bomb.push_str(&format!("b{i}: &b{i} [{aliases}]\n"));
    }
    bomb
}

const KUBECONFIG: &str = r#"apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: false
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: {audience: "sts", cluster-id: 4711, ratio: 0.5}
  name: kind-kind
contexts:
- context: {cluster: kind-kind, user: kind-kind, namespace: "007"}
  name: kind-kind
current-context: kind-kind
preferences: {}
users:
- name: kind-kind
  user:
    client-certificate-data: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t'
    token: |
      multi
      line
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: ["eks", get-token, --cluster-name, prod]
      env: ~
      interactiveMode: IfAvailable
      provideClusterInfo: true
"#;

#[test]
fn a_real_kubeconfig_reads_as_another_yaml_reader_reads_it() {
    let ours = read(KUBECONFIG);
    assert_eq!(ours, saphyr(KUBECONFIG));
    assert_eq!(
        ours["clusters"][0]["cluster"]["extensions"][0]["extension"]["cluster-id"],
        json!(4711)
    );
    assert_eq!(ours["contexts"][0]["context"]["namespace"], json!("007"));
    assert_eq!(ours["users"][0]["user"]["token"], json!("multi\nline\n"));
    assert_eq!(ours["users"][0]["user"]["exec"]["env"], Value::Null);
}

#[test]
fn plain_scalars_resolve_by_the_core_schema_with_yaml_1_1_booleans() {
    let cases = [
        ("", Value::Null),
        ("~", Value::Null),
        ("null", Value::Null),
        ("NULL", Value::Null),
        ("true", json!(true)),
        ("Yes", json!(true)),
        ("y", json!(true)),
        ("ON", json!(true)),
        ("false", json!(false)),
        ("no", json!(false)),
        ("N", json!(false)),
        ("off", json!(false)),
        ("42", json!(42)),
        ("+42", json!(42)),
        ("-42", json!(-42)),
        ("007", json!(7)),
        ("0x1F", json!(31)),
        ("0o17", json!(15)),
        ("18446744073709551615", json!(u64::MAX)),
        ("-9223372036854775808", json!(i64::MIN)),
        ("99999999999999999999", json!(1e20)),
        ("1.5", json!(1.5)),
        ("-.5", json!(-0.5)),
        ("1e3", json!(1000.0)),
        ("2.", json!(2.0)),
        // What JSON cannot hold, or the core schema does not call a number, stays text.
        (".inf", json!(".inf")),
        (".nan", json!(".nan")),
        ("1e999", json!("1e999")),
        ("0x", json!("0x")),
        ("0xZZ", json!("0xZZ")),
        ("1_000", json!("1_000")),
        ("yEs", json!("yEs")),
        ("nulls", json!("nulls")),
        ("1.2.3", json!("1.2.3")),
        ("<<", json!("<<")),
        ("https://example.com:6443", json!("https://example.com:6443")),
    ];
    for (text, expected) in cases {
        assert_eq!(read(&format!("v: {text}\n"))["v"], expected, "{text:?}");
    }
}

#[test]
fn quoted_block_and_string_tagged_scalars_are_strings() {
    let doc = read("a: '42'\nb: \"true\"\nc: !!str 7\nd: ! null\ne: |\n  12\nf: >\n  on\n  off\ng: \"\"\n");
    assert_eq!(
        doc,
        json!({"a": "42", "b": "true", "c": "7", "d": "null", "e": "12\n", "f": "on off\n", "g": ""})
    );
}

#[test]
fn core_tags_decide_the_type_and_say_when_they_cannot() {
    assert_eq!(
        read("a: !!int '12'\nb: !!bool \"yes\"\nc: !!null x\nd: !!float 3\ne: !custom 5\nf: !!binary aGk=\n"),
        json!({"a": 12, "b": true, "c": null, "d": 3, "e": 5, "f": "aGk="})
    );
    // YAML 1.1's text types stay text, even when empty; a local tag of the same name is the
    // application's own, resolved by its text.
    assert_eq!(
        read("a: !!binary\nb: !!timestamp 2001-12-14\nc: !binary\nd: !null x\n"),
        json!({"a": "", "b": "2001-12-14", "c": null, "d": "x"})
    );
    for (text, problem) in [
        ("a: !!int twelve\n", "an !!int scalar is not an integer"),
        ("a: !!bool maybe\n", "a !!bool scalar is not a boolean"),
        ("a: !!float .inf\n", "a !!float scalar is not a finite number"),
        ("a: !!map x\n", "a scalar is tagged as a collection"),
    ] {
        match fail(text) {
            YamlError::Content {
                problem: p,
                line,
                column,
            } => {
                assert_eq!((p, line), (problem, 1), "{text:?}");
                assert!(column > 1, "{text:?}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn aliases_copy_their_anchor_and_merge_keys_merge() {
    let text = "\
base: &base {server: https://a, insecure-skip-tls-verify: true}
extra: &extra {proxy-url: http://p, server: https://ignored}
name: &n kind
one:
  <<: *base
  server: https://override
two:
  <<: [*extra, *base]
*n : aliased key
three: *n
list: &l [1, [2, 3]]
again: *l
";
    let ours = read(text);
    assert_eq!(ours, saphyr(text));
    assert_eq!(
        ours["one"],
        json!({"server": "https://override", "insecure-skip-tls-verify": true})
    );
    // Earlier sources win over later ones.
    assert_eq!(
        ours["two"],
        json!({"proxy-url": "http://p", "server": "https://ignored", "insecure-skip-tls-verify": true})
    );
    assert_eq!(ours["kind"], json!("aliased key"));
    assert_eq!(ours["three"], json!("kind"));
    assert_eq!(ours["again"], json!([1, [2, 3]]));
    // `!!merge` names a merge key as well.
    assert_eq!(read("b: &b {x: 1}\nm:\n  !!merge <<: *b\n")["m"], json!({"x": 1}));
}

#[test]
fn keys_are_the_text_of_their_scalar() {
    assert_eq!(
        read("1: a\ntrue: b\n'x': c\n~: d\n"),
        json!({"1": "a", "true": "b", "x": "c", "~": "d"})
    );
}

#[test]
fn what_json_cannot_hold_or_yaml_forbids_is_an_error_with_a_position() {
    for (text, problem, line) in [
        ("a: 1\nb: 2\na: 3\n", "duplicate mapping key", 3),
        (
            "? [a, b]\n: c\n",
            "a mapping key is not a scalar, which JSON cannot hold",
            1,
        ),
        (
            "a: 1\n<<: 5\n",
            "a merge key needs a mapping or a list of mappings",
            2,
        ),
        (
            "<<: [{a: 1}, 2]\n",
            "a merge key's list holds something other than mappings",
            1,
        ),
    ] {
        let error = fail(text);
        match &error {
            YamlError::Content {
                problem: p, line: l, ..
            } => assert_eq!((*p, *l), (problem, line), "{text:?}"),
            other => panic!("{text:?}: {other:?}"),
        }
        assert_eq!(error.position().map(|(l, _)| l), Some(line), "{text:?}");
        assert_eq!(error.reason(), problem, "{text:?}");
    }
    let error = fail("clusters: [\n  - name: x\n");
    match &error {
        YamlError::Syntax { line, message, .. } => {
            assert!(*line >= 2, "{line}");
            assert!(!message.is_empty());
            assert_eq!(error.reason(), *message);
            assert!(error.to_string().starts_with(message.as_str()));
        }
        other => panic!("{other:?}"),
    }
    // Errors about the whole input have no place, and their reason is their whole message.
    let deep = YamlError::TooDeep { max: 3 };
    assert_eq!(deep.position(), None);
    assert_eq!(deep.reason(), deep.to_string());
}

#[test]
fn errors_never_quote_the_input() {
    for text in [
        "token: s3cret\ntoken: s3cret\n",
        "token: !!int s3cret\n",
        "token: \"s3cret\\q\"\n",
        "token: s3cret: x\n",
        "? [s3cret]\n: x\n",
        "token: @s3cret\n",
        "token: `s3cret\n",
    ] {
        let e = fail(text);
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains('@') && !shown.contains('`'),
            "{shown}"
        );
    }
}

#[test]
fn limits_stop_deep_nesting_and_alias_bombs() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(
        fail(&deep),
        YamlError::Syntax { .. } | YamlError::TooDeep { .. }
    ));
    let limits = YamlLimits {
        max_depth: 3,
        max_nodes: 100,
    };
    assert_eq!(
        read_document(b"a: {b: [c]}\n", &limits).unwrap(),
        json!({"a": {"b": ["c"]}})
    );
    assert_eq!(
        read_document(b"a: {b: [[c]]}\n", &limits),
        Err(YamlError::TooDeep { max: 3 })
    );
    assert_eq!(
        read_document(
            b"a: {b: [c]}\n",
            &YamlLimits {
                max_depth: 2,
                max_nodes: 100
            }
        )
        .unwrap_err(),
        YamlError::TooDeep { max: 2 }
    );

    let bomb = alias_bomb();
    assert_eq!(fail(&bomb), YamlError::TooManyNodes { max: 100_000 });
    // Exactly at the limit is fine: a mapping, its 2 keys, a list, its 3 items, and a copy of the list.
    let at_limit = YamlLimits {
        max_depth: 8,
        max_nodes: 11,
    };
    assert_eq!(
        read_document(b"a: &l [1, 2, 3]\nb: *l\n", &at_limit).unwrap(),
        json!({"a": [1, 2, 3], "b": [1, 2, 3]})
    );
    assert_eq!(
        read_document(
            b"a: &l [1, 2, 3]\nb: *l\n",
            &YamlLimits {
                max_nodes: 10,
                ..at_limit
            }
        ),
        Err(YamlError::TooManyNodes { max: 10 })
    );
}

#[test]
fn documents_are_read_one_by_one_and_one_document_means_one() {
    let limits = YamlLimits::default();
    assert_eq!(
        read_documents(b"a: 1\n---\nb: 2\n--- c\n", &limits).unwrap(),
        vec![json!({"a": 1}), json!({"b": 2}), json!("c")]
    );
    assert_eq!(
        read_documents(b"# only a comment\n", &limits).unwrap(),
        Vec::<Value>::new()
    );
    assert_eq!(read_document(b"", &limits).unwrap(), Value::Null);
    assert_eq!(read_document(b"---\n", &limits).unwrap(), Value::Null);
    assert_eq!(
        read_document(b"---\na: 1\n---\n", &limits).unwrap(),
        json!({"a": 1})
    );
    assert_eq!(
        read_document(b"a: 1\n---\nb: 2\n", &limits),
        Err(YamlError::MoreThanOneDocument)
    );
    // An anchor belongs to its document.
    assert!(matches!(
        read_documents(b"a: &x 1\n---\nb: *x\n", &limits),
        Err(YamlError::Syntax { line: 3, .. })
    ));
}

#[test]
fn utf16_with_a_byte_order_mark_reads_like_utf8() {
    let text = "name: kind-ü\nport: 6443\n";
    let le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    let limits = YamlLimits::default();
    assert_eq!(
        read_document(&le, &limits).unwrap(),
        json!({"name": "kind-ü", "port": 6443})
    );
    assert_eq!(
        read_document(&be, &limits).unwrap(),
        json!({"name": "kind-ü", "port": 6443})
    );
    assert_eq!(
        read_document(&le[..le.len() - 1], &limits),
        Err(YamlError::Encoding { offset: le.len() - 2 })
    );
    // A lone surrogate.
    assert_eq!(
        read_document(&[0xFF, 0xFE, b'a', 0, 0x00, 0xD8], &limits),
        Err(YamlError::Encoding { offset: 4 })
    );
    assert_eq!(
        read_document(b"a: \xC3(\n", &limits),
        Err(YamlError::Encoding { offset: 3 })
    );
}

#[test]
fn a_value_written_as_json_reads_back_the_same() {
    let value = json!({
        "s": "line\nbreak \"quoted\" \\ tab\t é",
        "n": [0, -1, 18446744073709551615u64, 1.25, -2.5e-8],
        "b": [true, false, null],
        "nested": {"empty": {}, "list": [], "blank": "", "looks like a number": "12"},
    });
    let text = serde_json::to_string(&value).unwrap();
    assert_eq!(read(&text), value);
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    assert_eq!(read(&pretty), value);
}
