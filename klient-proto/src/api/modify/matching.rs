//! Which item of the old list became which item of the new one.
//!
//! Items equal at the start and at the end of both lists match in place. Among the rest, items
//! whose key fields are all present and unique on both sides match by key, so a container whose
//! image changed is still the same container. Every other item (in a list without keys, lacking
//! a key field, or sharing its key with another item) matches an equal item, the first one not
//! yet taken, so unchanged items are kept and only changed ones are removed and added.

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
    /// For each new item, whether it is known to equal the old item it was (nothing to walk).
    pub(crate) unchanged: Vec<bool>,
}

impl Matching {
    fn pair(&mut self, old: usize, new: usize, unchanged: bool) {
        self.old_to_new[old] = Some(new);
        self.new_to_old[new] = Some(old);
        self.unchanged[new] = unchanged;
    }
}

/// Matches the items of two versions of one list, by `keys` where they identify items; `None`
/// when the lists are equal.
pub(crate) fn match_items(before: &[Value], after: &[Value], keys: Option<&[String]>) -> Option<Matching> {
    // Most changes touch a few items: the common ends match without hashing anything.
    let prefix = before.iter().zip(after).take_while(|(b, a)| b == a).count();
    if prefix == before.len() && prefix == after.len() {
        return None;
    }
    let mut matching = Matching {
        old_to_new: vec![None; before.len()],
        new_to_old: vec![None; after.len()],
        unchanged: vec![false; after.len()],
    };
    let suffix = before[prefix..]
        .iter()
        .rev()
        .zip(after[prefix..].iter().rev())
        .take_while(|(b, a)| b == a)
        .count();
    for i in 0..prefix {
        matching.pair(i, i, true);
    }
    for k in 1..=suffix {
        matching.pair(before.len() - k, after.len() - k, true);
    }
    let old = prefix..before.len() - suffix;
    let new = prefix..after.len() - suffix;
    if let Some(keys) = keys {
        match_by_keys(before, after, (old.clone(), new.clone()), keys, &mut matching);
    }
    match_equal(before, after, (old, new), &mut matching);
    Some(matching)
}

type Middle = (std::ops::Range<usize>, std::ops::Range<usize>);

/// Where one key value was seen on one side: at one index, or more than once.
#[derive(Clone, Copy)]
enum Seen {
    Once(usize),
    Repeated,
}

fn match_by_keys(
    before: &[Value],
    after: &[Value],
    (old, new): Middle,
    keys: &[String],
    matching: &mut Matching,
) {
    let old = index_by_key(before, old, keys);
    for (key, seen) in index_by_key(after, new, keys) {
        if let (Seen::Once(new), Some(Seen::Once(old))) = (seen, old.get(&key)) {
            matching.pair(*old, new, false);
        }
    }
}

fn index_by_key(items: &[Value], range: std::ops::Range<usize>, keys: &[String]) -> HashMap<String, Seen> {
    let mut seen = HashMap::with_capacity(range.len());
    for i in range {
        let item = &items[i];
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

fn match_equal(before: &[Value], after: &[Value], (old, new): Middle, matching: &mut Matching) {
    // Unmatched old items by hash, each hash's items chained in index order through `next`, so
    // that equal duplicates pair up in order and no bucket needs an allocation of its own.
    const END: usize = usize::MAX;
    let mut first: HashMap<u64, usize> = HashMap::new();
    let mut next = vec![END; before.len()];
    for i in old.rev() {
        if matching.old_to_new[i].is_none() {
            let head = first.entry(content_hash(&before[i])).or_insert(END);
            next[i] = *head;
            *head = i;
        }
    }
    if first.is_empty() {
        return;
    }
    for j in new {
        if matching.new_to_old[j].is_some() {
            continue;
        }
        let item = &after[j];
        let Some(head) = first.get_mut(&content_hash(item)) else {
            continue;
        };
        // Unlink the first equal item of the chain.
        let (mut prev, mut at) = (END, *head);
        while at != END && before[at] != *item {
            (prev, at) = (at, next[at]);
        }
        if at == END {
            continue;
        }
        if prev == END {
            *head = next[at];
        } else {
            next[prev] = next[at];
        }
        matching.pair(at, j, true);
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
        let m = match_items(&before, &after, Some(&["name".to_owned()])).unwrap();
        assert_eq!(m.old_to_new, [Some(2), Some(1)]);
        assert_eq!(m.new_to_old, [None, Some(1), Some(0)]);
        assert_eq!(m.unchanged, [false, false, false]);
    }

    #[test]
    fn common_ends_match_in_place() {
        let before = items(json!([1, 2, 3, 2, 1]));
        let after = items(json!([1, 2, 9, 2, 1]));
        let m = match_items(&before, &after, None).unwrap();
        assert_eq!(m.new_to_old, [Some(0), Some(1), None, Some(3), Some(4)]);
        assert_eq!(m.unchanged, [true, true, false, true, true]);
        assert_eq!(match_items(&before, &before, None), None);
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
        let m = match_items(&before, &after, Some(&keys)).unwrap();
        assert_eq!(m.new_to_old, [Some(3), Some(2), Some(0), None]);
        assert_eq!(m.old_to_new, [Some(2), None, Some(1), Some(0)]);
    }

    #[test]
    fn equal_duplicates_pair_in_order() {
        let before = items(json!(["x", "y", "x", 1, 1.0]));
        let after = items(json!(["y", "x", "x", "x", 1.0]));
        let m = match_items(&before, &after, None).unwrap();
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
        let m = match_items(&[deep.clone()], &[deeper, deep], None).unwrap();
        assert_eq!(m.new_to_old, [None, Some(0)]);
    }
}
