//! Applying an RFC 6902 JSON patch locally: what the server will do with a patch, computed in
//! memory (to preview a change, or to check a diff).

use std::fmt;

use serde_json::Value;

use super::pointer::{self, PointerSyntax};
use crate::api::JsonPatchOp;

/// Applies `ops` to `document` in order, each to the result of the one before (RFC 6902).
///
/// All or nothing: when an op fails, `document` is left as it was and the error names the op.
/// (That costs one copy of the document.)
///
/// ```
/// use klient_proto::api::JsonPatchOp;
/// use klient_proto::api::modify::apply_json_patch;
/// use serde_json::json;
///
/// let mut doc = json!({"spec": {"args": ["a", "c"]}});
/// apply_json_patch(&mut doc, &[
///     JsonPatchOp::Add { path: "/spec/args/1".into(), value: json!("b") },
///     JsonPatchOp::Test { path: "/spec/args".into(), value: json!(["a", "b", "c"]) },
/// ]).unwrap();
/// assert_eq!(doc, json!({"spec": {"args": ["a", "b", "c"]}}));
/// ```
pub fn apply_json_patch(document: &mut Value, ops: &[JsonPatchOp]) -> Result<(), ApplyError> {
    let mut work = document.clone();
    for (index, op) in ops.iter().enumerate() {
        apply_op(&mut work, op).map_err(|failure| ApplyError { index, failure })?;
    }
    *document = work;
    Ok(())
}

/// Which op of a patch failed, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyError {
    /// The op's position in the patch, from 0.
    pub index: usize,
    /// What went wrong.
    pub failure: ApplyFailure,
}

/// Why a JSON patch op could not be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApplyFailure {
    /// A path or `from` that is not a JSON pointer.
    InvalidPointer {
        /// The string.
        pointer: String,
    },
    /// Nothing at the pointer (or at its parent, for `add`), or a list index past the end.
    NotFound {
        /// The pointer.
        pointer: String,
    },
    /// A list was addressed by a token that is not an index (`-` is one only for `add`).
    NotAnIndex {
        /// The pointer.
        pointer: String,
    },
    /// The pointer goes through a string, number, boolean or null.
    NotAContainer {
        /// The pointer.
        pointer: String,
    },
    /// `remove`, or `move` from, the whole document.
    RemoveRoot,
    /// A `move` into a member of the value it moves.
    MoveIntoItself {
        /// The source.
        from: String,
        /// The target, inside the source.
        path: String,
    },
    /// A `test` op found a different value.
    TestFailed {
        /// The pointer.
        pointer: String,
    },
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON patch op {}: ", self.index)?;
        match &self.failure {
            ApplyFailure::InvalidPointer { pointer } => write!(f, "{pointer:?} is not a JSON pointer"),
            ApplyFailure::NotFound { pointer } => write!(f, "nothing at {pointer:?}"),
            ApplyFailure::NotAnIndex { pointer } => write!(f, "{pointer:?} indexes a list with a non-index"),
            ApplyFailure::NotAContainer { pointer } => {
                write!(
                    f,
                    "{pointer:?} goes through a value that is neither object nor list"
                )
            }
            ApplyFailure::RemoveRoot => f.write_str("cannot remove the whole document"),
            ApplyFailure::MoveIntoItself { from, path } => {
                write!(f, "cannot move {from:?} into itself at {path:?}")
            }
            ApplyFailure::TestFailed { pointer } => write!(f, "test failed at {pointer:?}"),
        }
    }
}

impl std::error::Error for ApplyError {}

fn apply_op(doc: &mut Value, op: &JsonPatchOp) -> Result<(), ApplyFailure> {
    match op {
        JsonPatchOp::Add { path, value } => add(doc, path, &parse(path)?, value.clone()),
        JsonPatchOp::Remove { path } => remove(doc, path, &parse(path)?).map(drop),
        JsonPatchOp::Replace { path, value } => {
            *get_mut(doc, path, &parse(path)?)? = value.clone();
            Ok(())
        }
        JsonPatchOp::Move { from, path } => {
            let (from_tokens, to_tokens) = (parse(from)?, parse(path)?);
            if from_tokens.len() < to_tokens.len() && to_tokens.starts_with(&from_tokens) {
                return Err(ApplyFailure::MoveIntoItself {
                    from: from.clone(),
                    path: path.clone(),
                });
            }
            if from_tokens == to_tokens {
                return get_mut(doc, from, &from_tokens).map(drop);
            }
            let value = remove(doc, from, &from_tokens)?;
            add(doc, path, &to_tokens, value)
        }
        JsonPatchOp::Copy { from, path } => {
            let value = get_mut(doc, from, &parse(from)?)?.clone();
            add(doc, path, &parse(path)?, value)
        }
        JsonPatchOp::Test { path, value } => {
            if get_mut(doc, path, &parse(path)?)? == value {
                Ok(())
            } else {
                Err(ApplyFailure::TestFailed {
                    pointer: path.clone(),
                })
            }
        }
    }
}

fn parse(pointer: &str) -> Result<Vec<String>, ApplyFailure> {
    pointer::tokens(pointer).map_err(|_: PointerSyntax| ApplyFailure::InvalidPointer {
        pointer: pointer.to_owned(),
    })
}

/// The value `tokens` names; `pointer` is their text, for errors.
fn get_mut<'v>(doc: &'v mut Value, pointer: &str, tokens: &[String]) -> Result<&'v mut Value, ApplyFailure> {
    let mut at = doc;
    for token in tokens {
        at = match at {
            Value::Object(members) => members.get_mut(token),
            Value::Array(items) => {
                let i = pointer::index(token).ok_or_else(|| ApplyFailure::NotAnIndex {
                    pointer: pointer.to_owned(),
                })?;
                items.get_mut(i)
            }
            _ => {
                return Err(ApplyFailure::NotAContainer {
                    pointer: pointer.to_owned(),
                });
            }
        }
        .ok_or_else(|| ApplyFailure::NotFound {
            pointer: pointer.to_owned(),
        })?;
    }
    Ok(at)
}

fn add(doc: &mut Value, pointer: &str, tokens: &[String], value: Value) -> Result<(), ApplyFailure> {
    let Some((last, parent)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    match get_mut(doc, pointer, parent)? {
        Value::Object(members) => {
            members.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) => {
            let i = if last == "-" {
                items.len()
            } else {
                pointer::index(last).ok_or_else(|| ApplyFailure::NotAnIndex {
                    pointer: pointer.to_owned(),
                })?
            };
            if i > items.len() {
                return Err(ApplyFailure::NotFound {
                    pointer: pointer.to_owned(),
                });
            }
            items.insert(i, value);
            Ok(())
        }
        _ => Err(ApplyFailure::NotAContainer {
            pointer: pointer.to_owned(),
        }),
    }
}

fn remove(doc: &mut Value, pointer: &str, tokens: &[String]) -> Result<Value, ApplyFailure> {
    let Some((last, parent)) = tokens.split_last() else {
        return Err(ApplyFailure::RemoveRoot);
    };
    let not_found = || ApplyFailure::NotFound {
        pointer: pointer.to_owned(),
    };
    match get_mut(doc, pointer, parent)? {
        Value::Object(members) => members.remove(last).ok_or_else(not_found),
        Value::Array(items) => {
            let i = pointer::index(last).ok_or_else(|| ApplyFailure::NotAnIndex {
                pointer: pointer.to_owned(),
            })?;
            if i < items.len() {
                Ok(items.remove(i))
            } else {
                Err(not_found())
            }
        }
        _ => Err(ApplyFailure::NotAContainer {
            pointer: pointer.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add(path: &str, value: Value) -> JsonPatchOp {
        JsonPatchOp::Add {
            path: path.into(),
            value,
        }
    }

    fn failure(doc: &Value, op: JsonPatchOp) -> ApplyFailure {
        let mut copy = doc.clone();
        let error = apply_json_patch(&mut copy, &[op]).unwrap_err();
        assert_eq!(&copy, doc, "a failed patch leaves the document alone");
        error.failure
    }

    #[test]
    fn every_op() {
        let mut doc = json!({"a": {"b": [1, 2, 3]}, "c": "x", "d~/": null});
        let ops = [
            add("/a/b/-", json!(4)),
            add("/a/b/0", json!(0)),
            JsonPatchOp::Remove {
                path: "/a/b/2".into(),
            },
            JsonPatchOp::Replace {
                path: "/c".into(),
                value: json!({"y": 1}),
            },
            JsonPatchOp::Move {
                from: "/a/b/0".into(),
                path: "/a/b/3".into(),
            },
            JsonPatchOp::Copy {
                from: "/c".into(),
                path: "/e".into(),
            },
            JsonPatchOp::Move {
                from: "/e/y".into(),
                path: "/d~0~1".into(),
            },
            JsonPatchOp::Test {
                path: "/a/b".into(),
                value: json!([1, 3, 4, 0]),
            },
            JsonPatchOp::Move {
                from: "/a".into(),
                path: "/a".into(),
            },
        ];
        apply_json_patch(&mut doc, &ops).unwrap();
        assert_eq!(
            doc,
            json!({"a": {"b": [1, 3, 4, 0]}, "c": {"y": 1}, "d~/": 1, "e": {}})
        );

        let mut whole = json!({"x": 1});
        apply_json_patch(&mut whole, &[add("", json!({"y": 2}))]).unwrap();
        assert_eq!(whole, json!({"y": 2}));
    }

    #[test]
    fn failures_name_the_op_and_leave_the_document_alone() {
        let doc = json!({"a": {"b": [1, 2]}, "s": "str"});
        let mut copy = doc.clone();
        let error = apply_json_patch(
            &mut copy,
            &[
                add("/new", json!(1)),
                JsonPatchOp::Remove {
                    path: "/missing".into(),
                },
            ],
        )
        .unwrap_err();
        assert_eq!(error.index, 1);
        assert_eq!(copy, doc);
        assert_eq!(error.to_string(), "JSON patch op 1: nothing at \"/missing\"");

        let pointer = |p: &str| p.to_owned();
        assert_eq!(
            failure(&doc, add("a", json!(1))),
            ApplyFailure::InvalidPointer {
                pointer: pointer("a")
            }
        );
        assert_eq!(
            failure(&doc, add("/a/b/3", json!(1))),
            ApplyFailure::NotFound {
                pointer: pointer("/a/b/3")
            }
        );
        assert_eq!(
            failure(&doc, add("/a/b/01", json!(1))),
            ApplyFailure::NotAnIndex {
                pointer: pointer("/a/b/01")
            }
        );
        assert_eq!(
            failure(
                &doc,
                JsonPatchOp::Remove {
                    path: "/a/b/-".into()
                }
            ),
            ApplyFailure::NotAnIndex {
                pointer: pointer("/a/b/-")
            }
        );
        assert_eq!(
            failure(&doc, add("/s/x", json!(1))),
            ApplyFailure::NotAContainer {
                pointer: pointer("/s/x")
            }
        );
        assert_eq!(
            failure(
                &doc,
                JsonPatchOp::Replace {
                    path: "/s/x/y".into(),
                    value: json!(1)
                }
            ),
            ApplyFailure::NotAContainer {
                pointer: pointer("/s/x/y")
            }
        );
        assert_eq!(
            failure(
                &doc,
                JsonPatchOp::Replace {
                    path: "/nope".into(),
                    value: json!(1)
                }
            ),
            ApplyFailure::NotFound {
                pointer: pointer("/nope")
            }
        );
        assert_eq!(
            failure(&doc, JsonPatchOp::Remove { path: "".into() }),
            ApplyFailure::RemoveRoot
        );
        assert_eq!(
            failure(
                &doc,
                JsonPatchOp::Move {
                    from: "/a".into(),
                    path: "/a/b/0".into()
                }
            ),
            ApplyFailure::MoveIntoItself {
                from: pointer("/a"),
                path: pointer("/a/b/0")
            }
        );
        assert_eq!(
            failure(
                &doc,
                JsonPatchOp::Test {
                    path: "/s".into(),
                    value: json!("other")
                }
            ),
            ApplyFailure::TestFailed {
                pointer: pointer("/s")
            }
        );
    }
}
