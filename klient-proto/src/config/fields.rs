//! Typed reads from a parsed YAML/JSON tree, each naming the field on failure.
//!
//! Documents are first parsed into an untyped tree and then read field by field here, rather than
//! through `serde::Deserialize`, because serde's type errors quote the offending value
//! (`invalid type: string "s3cr3t"`), and any kubeconfig value may be a secret.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::error::ParseErrorKind;

/// A JSON/YAML mapping and the path that leads to it, for error messages.
pub(crate) struct Object<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

/// A short description of a value's kind for error messages; never the value itself.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

pub(crate) fn wrong_type(field: String, expected: &'static str, found: &Value) -> ParseErrorKind {
    ParseErrorKind::WrongType {
        field,
        expected,
        found: kind_of(found),
    }
}

impl<'a> Object<'a> {
    /// Reads `value` as a mapping; `null` (an empty document or an absent section) is `None`.
    pub(crate) fn new(value: &'a Value, path: String) -> Result<Option<Self>, ParseErrorKind> {
        match value {
            Value::Null => Ok(None),
            Value::Object(map) => Ok(Some(Self { map, path })),
            other => Err(wrong_type(display_path(&path), "a mapping", other)),
        }
    }

    /// The dotted path of `key` in this mapping.
    pub(crate) fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value of `key`; `null` counts as absent, as it does for kubectl.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A string field; the empty string counts as absent.
    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, ParseErrorKind> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(wrong_type(self.path_of(key), "a string", other)),
        }
    }

    /// A string field that must be present and non-empty.
    pub(crate) fn required_string(&self, key: &str) -> Result<String, ParseErrorKind> {
        self.string(key)?.ok_or_else(|| ParseErrorKind::MissingField {
            field: self.path_of(key),
        })
    }

    /// A boolean field.
    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, ParseErrorKind> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(wrong_type(self.path_of(key), "a boolean", other)),
        }
    }

    /// A nested mapping.
    pub(crate) fn object(&self, key: &str) -> Result<Option<Object<'a>>, ParseErrorKind> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => Object::new(value, self.path_of(key)),
        }
    }

    /// A list, as (path of the item, item) pairs.
    pub(crate) fn list(&self, key: &str) -> Result<Vec<(String, &'a Value)>, ParseErrorKind> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let path = self.path_of(key);
                Ok(items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{path}[{i}]"), v))
                    .collect())
            }
            Some(other) => Err(wrong_type(self.path_of(key), "a list", other)),
        }
    }

    /// A list of strings.
    pub(crate) fn string_list(&self, key: &str) -> Result<Vec<String>, ParseErrorKind> {
        self.list(key)?
            .into_iter()
            .map(|(path, v)| expect_string(path, v))
            .collect()
    }

    /// A mapping of strings to strings.
    pub(crate) fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, ParseErrorKind> {
        let Some(map) = self.object(key)? else {
            return Ok(BTreeMap::new());
        };
        map.map
            .iter()
            .map(|(k, v)| Ok((k.clone(), expect_string(map.path_of(k), v)?)))
            .collect()
    }

    /// A mapping of strings to lists of strings.
    pub(crate) fn string_list_map(&self, key: &str) -> Result<BTreeMap<String, Vec<String>>, ParseErrorKind> {
        let Some(map) = self.object(key)? else {
            return Ok(BTreeMap::new());
        };
        let mut out = BTreeMap::new();
        for k in map.map.keys() {
            out.insert(k.clone(), map.string_list(k)?);
        }
        Ok(out)
    }

    /// A base64 string field, decoded. Line breaks are ignored, as Go's decoder ignores them.
    pub(crate) fn base64(&self, key: &str) -> Result<Option<Vec<u8>>, ParseErrorKind> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        let compact: Vec<u8> = text.bytes().filter(|b| !matches!(b, b'\r' | b'\n')).collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map(Some)
            .map_err(|_| ParseErrorKind::InvalidBase64 {
                field: self.path_of(key),
            })
    }
}

/// Reads a list item or map value as a string.
pub(crate) fn expect_string(path: String, value: &Value) -> Result<String, ParseErrorKind> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(wrong_type(path, "a string", other)),
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "the document".to_owned()
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_name_the_field_and_not_the_value() {
        let doc = json!({"token": 12345, "flag": "s3cr3t", "list": ["ok", 7]});
        let obj = Object::new(&doc, "users[\"a\"].user".into()).unwrap().unwrap();
        let err = obj.string("token").unwrap_err();
        assert_eq!(
            err,
            ParseErrorKind::WrongType {
                field: "users[\"a\"].user.token".into(),
                expected: "a string",
                found: "a number"
            }
        );
        let err = obj.bool("flag").unwrap_err().to_string();
        assert!(err.contains("flag") && !err.contains("s3cr3t"), "{err}");
        let err = obj.string_list("list").unwrap_err().to_string();
        assert!(err.contains("list[1]"), "{err}");
    }

    #[test]
    fn null_and_empty_count_as_absent() {
        let doc = json!({"a": null, "b": "", "c": null});
        let obj = Object::new(&doc, String::new()).unwrap().unwrap();
        assert_eq!(obj.string("a").unwrap(), None);
        assert_eq!(obj.string("b").unwrap(), None);
        assert!(obj.list("c").unwrap().is_empty());
        assert!(Object::new(&Value::Null, String::new()).unwrap().is_none());
        assert!(Object::new(&json!([1]), String::new()).is_err());
    }

    #[test]
    fn base64_ignores_line_breaks_and_names_bad_fields() {
        let doc = json!({"good": "aGVs\nbG8=", "bad": "not base64!"});
        let obj = Object::new(&doc, "x".into()).unwrap().unwrap();
        assert_eq!(obj.base64("good").unwrap().unwrap(), b"hello");
        assert_eq!(
            obj.base64("bad").unwrap_err(),
            ParseErrorKind::InvalidBase64 {
                field: "x.bad".into()
            }
        );
    }
}
