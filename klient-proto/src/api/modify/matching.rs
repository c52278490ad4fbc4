//! Which item of the old list became which item of the new one.
//!
//! Items whose key fields are all present and unique on both sides match by key, so a container
//! whose image changed is still the same container. Every other item (in a list without keys,
//! lacking a key field, or sharing its key with another item) matches an equal item, the first
//! one not yet taken, so unchanged items are kept and only changed ones are removed and added.

use std::collections::HashMap;
use std::collections::hash_map::{DefaultHasher, Entry};
use std::hash::{Hash, Hasher};

use serde_json::Value;

/// A partial one-to-one map between old and new item indices.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Matching {
    /// For each old item, the index of the new item it became.
    pub(crate) old_to_new: Vec<Option<usize>>,
    /// For each new item, the index of the old item it was.
    pub(crate) new_to_old: Vec<Option<usize>>,
}

impl Matching {
    fn pair(&mut self, old: usize, new: usize) {
        self.old_to_new[old] = Some(new);
        self.new_to_old[new] = Some(old);
    }
}

/// Matches the items of two versions of one list, by `keys` where they identify items.
pub(crate) fn match_items(before: &[Value], after: &[Value], keys: Option<&[String]>) -> Matching {
    let mut matching = Matching {
        old_to_new: vec![None; before.len()],
        new_to_old: vec![None; after.len()],
    };
    if let Some(keys) = keys {
        match_by_keys(before, after, keys, &mut matching);
    }
    match_equal(before, after, &mut matching);
    matching
}

/// Where one key value was seen on one side: at one index, or more than once.
#[derive(Clone, Copy)]
enum Seen {
    Once(usize),
    Repeated,
}

fn match_by_keys(before: &[Value], after: &[Value], keys: &[String], matching: &mut Matching) {
    let old = index_by_key(before, keys);
    for (key, seen) in index_by_key(after, keys) {
        if let (Seen::Once(new), Some(Seen::Once(old))) = (seen, old.get(&key)) {
            matching.pair(*old, new);
        }
    }
}

fn index_by_key(items: &[Value], keys: &[String]) -> HashMap<String, Seen> {
    let mut seen = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(key) = key_of(item, keys) {
            match seen.entry(key) {
                Entry::Vacant(e) => {
                    e.insert(Seen::Once(i));
                }
                Entry::Occupied(mut e) => {
                    e.insert(Seen::Repeated);
                }
            }
        }
    }
    seen
}

/// The item's key values, written as one JSON array so that tuples of any JSON values compare
/// and hash as strings; `None` when the item is not an object or lacks a key field.
fn key_of(item: &Value, keys: &[String]) -> Option<String> {
    let object = item.as_object()?;
    let values = keys
        .iter()
        .map(|k| object.get(k))
        .collect::<Option<Vec<&Value>>>()?;
    serde_json::to_string(&values).ok()
}

fn match_equal(before: &[Value], after: &[Value], matching: &mut Matching) {
    let mut unmatched_old: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, item) in before.iter().enumerate() {
        if matching.old_to_new[i].is_none() {
            unmatched_old.entry(content_hash(item)).or_default().push(i);
        }
    }
    if unmatched_old.is_empty() {
        return;
    }
    for (j, item) in after.iter().enumerate() {
        if matching.new_to_old[j].is_some() {
            continue;
        }
        let Some(candidates) = unmatched_old.get_mut(&content_hash(item)) else {
            continue;
        };
        // Candidates are in index order, so equal duplicates pair up in order.
        if let Some(at) = candidates.iter().position(|&i| before[i] == *item) {
            let i = candidates.remove(at);
            matching.pair(i, j);
        }
    }
}

/// Hashes no deeper than this; below, equal and unequal values share a hash and the equality
/// check after the lookup tells them apart.
const HASH_DEPTH: usize = 32;

/// A hash that equal values share whatever the order of their object members (which
/// serde_json's `preserve_order` feature would keep).
fn content_hash(value: &Value) -> u64 {
    let mut hasher = DefaultHasher::new();
    hash_into(value, &mut hasher, HASH_DEPTH);
    hasher.finish()
}

fn hash_into(value: &Value, state: &mut DefaultHasher, depth: usize) {
    std::mem::discriminant(value).hash(state);
    if depth == 0 {
        return;
    }
    match value {
        Value::Null => {}
        Value::Bool(b) => b.hash(state),
        Value::Number(n) => n.hash(state),
        Value::String(s) => s.hash(state),
        Value::Array(items) => {
            items.len().hash(state);
            for item in items {
                hash_into(item, state, depth - 1);
            }
        }
        Value::Object(members) => {
            // Members are hashed apart and summed, so their order does not count.
            let mut sum = 0u64;
            for (k, v) in members {
                let mut member = DefaultHasher::new();
                k.hash(&mut member);
                hash_into(v, &mut member, depth - 1);
                sum = sum.wrapping_add(member.finish());
            }
            members.len().hash(state);
            sum.hash(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(v: Value) -> Vec<Value> {
        match v {
            Value::Array(items) => items,
            _ => unreachable!("the tests pass arrays"),
        }
    }

    #[test]
    fn keyed_items_match_by_key_even_when_changed() {
        let before = items(json!([{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]));
        let after = items(json!([{"name": "c"}, {"name": "b", "image": "2"}, {"name": "a", "image": "1"}]));
        let m = match_items(&before, &after, Some(&["name".to_owned()]));
        assert_eq!(m.old_to_new, [Some(2), Some(1)]);
        assert_eq!(m.new_to_old, [None, Some(1), Some(0)]);
    }

    #[test]
    fn items_lacking_a_key_or_sharing_one_match_by_equality() {
        let keys = ["port".to_owned(), "protocol".to_owned()];
        let before = items(json!([
            {"port": 80},
            {"port": 81, "protocol": "TCP", "x": 1},
            {"port": 81, "protocol": "TCP", "x": 2},
            {"port": 82, "protocol": "TCP"}
        ]));
        let after = items(json!([
            {"port": 82, "protocol": "TCP", "y": 0},
            {"port": 81, "protocol": "TCP", "x": 2},
            {"port": 80},
            {"port": 81, "protocol": "TCP", "x": 3}
        ]));
        let m = match_items(&before, &after, Some(&keys));
        assert_eq!(m.new_to_old, [Some(3), Some(2), Some(0), None]);
        assert_eq!(m.old_to_new, [Some(2), None, Some(1), Some(0)]);
    }

    #[test]
    fn equal_duplicates_pair_in_order() {
        let before = items(json!(["x", "y", "x", 1, 1.0]));
        let after = items(json!(["y", "x", "x", "x", 1.0]));
        let m = match_items(&before, &after, None);
        assert_eq!(m.new_to_old, [Some(1), Some(0), Some(2), None, Some(4)]);
        assert_eq!(m.old_to_new, [Some(1), Some(0), Some(2), None, Some(4)]);
    }

    #[test]
    fn object_hash_ignores_member_order_and_depth_is_capped() {
        let mut a = serde_json::Map::new();
        a.insert("x".into(), json!(1));
        a.insert("y".into(), json!(2));
        let mut b = serde_json::Map::new();
        b.insert("y".into(), json!(2));
        b.insert("x".into(), json!(1));
        assert_eq!(content_hash(&Value::Object(a)), content_hash(&Value::Object(b)));

        let mut deep = json!(0);
        let mut deeper = json!(1);
        for _ in 0..HASH_DEPTH + 2 {
            deep = json!([deep]);
            deeper = json!([deeper]);
        }
        assert_eq!(content_hash(&deep), content_hash(&deeper));
        let m = match_items(&[deep.clone()], &[deeper, deep], None);
        assert_eq!(m.new_to_old, [None, Some(0)]);
    }
}
