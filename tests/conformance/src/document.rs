//! Comparing the JSON documents klient writes with the ones Go wrote, by meaning rather than bytes:
//! serde and Go order fields differently and pretty-print differently, so bytes cannot agree.

use std::collections::BTreeSet;

use serde_json::Value;

/// The first place where `ours` and `theirs` mean different things, as a path and both values.
///
/// Two differences are not ones: a `null` field and an absent one (Go writes nil pointers without
/// `omitempty` as `null`, k8s-openapi leaves `None` out: both say "unset"), and `apiVersion`/`kind`
/// that k8s-openapi writes on an embedded object whose type is a kind (a StatefulSet's
/// `volumeClaimTemplates`) where Go leaves them out. Numbers compare by value (`1` equals `1.0`).
pub fn first_difference(ours: &Value, theirs: &Value) -> Option<String> {
    difference_at(ours, theirs, "")
}

fn difference_at(ours: &Value, theirs: &Value, path: &str) -> Option<String> {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|key| {
                let here = format!("{path}.{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => difference_at(x, y, &here),
                    (None | Some(Value::Null), None | Some(Value::Null)) => None,
                    (Some(_), None) if !path.is_empty() && (key == "apiVersion" || key == "kind") => None,
                    (x, y) => Some(format!("{here}: ours {}, fixture {}", show(x), show(y))),
                }
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| difference_at(x, y, &format!("{path}[{i}]"))),
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: ours {a}, fixture {b}")),
    }
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "absent".to_owned(), Value::to_string)
}

#[cfg(test)]
mod tests {
    use super::first_difference;
    use serde_json::json;

    #[test]
    fn null_and_absent_agree_but_values_do_not() {
        assert_eq!(
            first_difference(&json!({"a": 1}), &json!({"a": 1.0, "b": null})),
            None
        );
        assert_eq!(
            first_difference(&json!({"a": {"b": [1, 2]}}), &json!({"a": {"b": [1, 3]}})).as_deref(),
            Some(".a.b[1]: ours 2, fixture 3")
        );
        assert_eq!(
            first_difference(&json!({"a": {}}), &json!({"a": {"c": "x"}})).as_deref(),
            Some(".a.c: ours absent, fixture \"x\"")
        );
        assert!(first_difference(&json!({"kind": "A"}), &json!({})).is_some());
        assert_eq!(
            first_difference(&json!({"s": {"kind": "A"}}), &json!({"s": {}})),
            None
        );
    }
}
