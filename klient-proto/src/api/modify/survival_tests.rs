//! The property the diff exists for, over many generated cases: applied to the server's copy of
//! an object, which holds fields the client's copy lacks, the patch gives exactly the client's new
//! object plus every unknown field whose object is still there.
//!
//! Unknown fields are placed where an object keeps its identity across a change: under object
//! members and keyed list items. (An item of a list without keys has no identity but its value,
//! so a changed one is another item.) A small deterministic generator makes the cases, so a
//! failure names a seed that reproduces it.

use serde_json::{Map, Value, json};

use super::list_keys::Cursor;
use super::{ListKeys, apply_json_patch, json_patch_between};

/// SplitMix64: tiny, deterministic, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }
}

/// Cases: a document shaped like a Pod with keyed and unkeyed lists, and free-form parts.
struct Gen {
    rng: Rng,
    fresh: u64,
}

const NAMES: [&str; 6] = ["a", "b", "c", "d/e", "f~g", ""];

impl Gen {
    fn fresh(&mut self) -> u64 {
        self.fresh += 1;
        self.fresh
    }

    fn scalar(&mut self) -> Value {
        match self.rng.below(6) {
            0 => Value::Null,
            1 => Value::Bool(self.rng.percent(50)),
            2 => json!(self.rng.below(4)),
            3 => json!(self.rng.below(4) as f64 + 0.5),
            _ => json!(NAMES[self.rng.below(NAMES.len())]),
        }
    }

    fn value(&mut self, depth: usize) -> Value {
        if depth == 0 || self.rng.percent(40) {
            return self.scalar();
        }
        if self.rng.percent(50) {
            let mut m = Map::new();
            for _ in 0..self.rng.below(4) {
                m.insert(
                    NAMES[self.rng.below(NAMES.len())].to_owned(),
                    self.value(depth - 1),
                );
            }
            Value::Object(m)
        } else {
            Value::Array((0..self.rng.below(5)).map(|_| self.value(depth - 1)).collect())
        }
    }

    fn port(&mut self) -> Value {
        let mut port = json!({
            "containerPort": self.fresh(),
            "protocol": if self.rng.percent(50) { "TCP" } else { "UDP" },
        });
        if self.rng.percent(50) {
            port["name"] = self.value(1);
        }
        port
    }

    fn container(&mut self) -> Value {
        let ports = (0..self.rng.below(4)).map(|_| self.port()).collect::<Vec<_>>();
        let args = (0..self.rng.below(4)).map(|_| self.scalar()).collect::<Vec<_>>();
        let mut c = json!({"name": format!("c{}", self.fresh()), "image": self.scalar(), "ports": ports, "args": args});
        if self.rng.percent(50) {
            c["misc"] = self.value(3);
        }
        c
    }

    fn document(&mut self) -> Value {
        let containers = (0..self.rng.below(5))
            .map(|_| self.container())
            .collect::<Vec<_>>();
        let items = (0..self.rng.below(5)).map(|_| self.value(2)).collect::<Vec<_>>();
        json!({
            "metadata": {"name": "n", "labels": self.value(2)},
            "spec": {"containers": containers, "items": items, "misc": self.value(4)}
        })
    }

    /// A random change anywhere in a free-form value.
    fn mutate(&mut self, v: &mut Value, depth: usize) {
        if depth == 0 || self.rng.percent(10) {
            *v = self.value(2);
            return;
        }
        match v {
            Value::Object(m) => match self.rng.below(3) {
                0 => {
                    m.insert(NAMES[self.rng.below(NAMES.len())].to_owned(), self.value(2));
                }
                1 if !m.is_empty() => {
                    let k = m.keys().nth(self.rng.below(m.len())).cloned().unwrap_or_default();
                    m.remove(&k);
                }
                _ => {
                    let n = m.len();
                    if let Some(child) = m.values_mut().nth(self.rng.below(n)) {
                        self.mutate(child, depth - 1);
                    }
                }
            },
            Value::Array(items) => {
                self.mutate_list(items, depth, |g| g.value(2), |g, item, d| g.mutate(item, d))
            }
            _ => *v = self.value(2),
        }
    }

    /// Removes, inserts, moves or changes items; `new` makes an item, `change` changes one.
    fn mutate_list(
        &mut self,
        items: &mut Vec<Value>,
        depth: usize,
        new: impl Fn(&mut Gen) -> Value,
        change: impl Fn(&mut Gen, &mut Value, usize),
    ) {
        for _ in 0..1 + self.rng.below(3) {
            let len = items.len();
            match self.rng.below(4) {
                0 if len > 0 => {
                    items.remove(self.rng.below(len));
                }
                1 => {
                    let item = new(self);
                    items.insert(self.rng.below(len + 1), item);
                }
                2 if len > 1 => {
                    let item = items.remove(self.rng.below(len));
                    items.insert(self.rng.below(len), item);
                }
                _ if len > 0 => {
                    let i = self.rng.below(len);
                    change(self, &mut items[i], depth.saturating_sub(1));
                }
                _ => {}
            }
        }
    }

    fn mutate_container(&mut self, c: &mut Value) {
        match self.rng.below(5) {
            0 => c["image"] = self.scalar(),
            1 => {
                if let Some(ports) = c["ports"].as_array_mut() {
                    self.mutate_list(ports, 1, Gen::port, |g, p, _| match g.rng.below(3) {
                        0 => p["name"] = g.value(1),
                        1 => drop(p.as_object_mut().map(|m| m.remove("name"))),
                        // Changing a key field makes it another port.
                        _ => p["containerPort"] = json!(g.fresh()),
                    });
                }
            }
            2 => {
                if let Some(args) = c["args"].as_array_mut() {
                    self.mutate_list(args, 1, Gen::scalar, |g, a, _| *a = g.scalar());
                }
            }
            3 => {
                let mut misc = c.get("misc").cloned().unwrap_or_else(|| self.value(2));
                self.mutate(&mut misc, 3);
                c["misc"] = misc;
            }
            _ => drop(c.as_object_mut().map(|m| m.remove("misc"))),
        }
    }

    fn mutate_document(&mut self, doc: &Value) -> Value {
        let mut after = doc.clone();
        for _ in 0..1 + self.rng.below(4) {
            match self.rng.below(4) {
                0 => {
                    if let Some(cs) = after["spec"]["containers"].as_array_mut() {
                        self.mutate_list(cs, 1, Gen::container, |g, c, _| g.mutate_container(c));
                    }
                }
                1 => self.mutate(&mut after["spec"]["items"], 3),
                2 => self.mutate(&mut after["spec"]["misc"], 4),
                _ => self.mutate(&mut after["metadata"]["labels"], 2),
            }
        }
        after
    }
}

fn pod_like_keys() -> ListKeys {
    super::diff_tests::pod_keys()
}

/// One step to an object that keeps its identity: a member, or the keyed item with these values.
#[derive(Clone, Debug)]
enum Id {
    Member(String),
    Item(Vec<(String, Value)>),
}

/// An unknown field: the object that holds it, its name and its value.
type Unknown = (Vec<Id>, String, Value);

/// Picks objects of `doc` to hold unknown fields, among those with an identity.
fn place_unknowns(doc: &Value, at: Cursor<'_>, path: &mut Vec<Id>, rng: &mut Rng, out: &mut Vec<Unknown>) {
    match doc {
        Value::Object(m) => {
            if rng.percent(30) {
                let n = out.len();
                out.push((path.clone(), format!("zz-unknown-{n}"), json!(n)));
            }
            for (k, v) in m {
                path.push(Id::Member(k.clone()));
                place_unknowns(v, at.field(k), path, rng, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            let Some(keys) = at.list_keys() else { return };
            for item in items {
                let key: Option<Vec<(String, Value)>> = keys
                    .iter()
                    .map(|k| Some((k.clone(), item.get(k)?.clone())))
                    .collect();
                if let Some(key) = key {
                    path.push(Id::Item(key));
                    place_unknowns(item, at.item(), path, rng, out);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// The object at `path`, when it is still there (keyed items must be unique to count).
fn find<'v>(doc: &'v mut Value, path: &[Id]) -> Option<&'v mut Map<String, Value>> {
    let mut at = doc;
    for step in path {
        at = match step {
            Id::Member(k) => at.as_object_mut()?.get_mut(k)?,
            Id::Item(key) => {
                let is_it = |v: &Value| key.iter().all(|(k, want)| v.get(k) == Some(want));
                let items = at.as_array_mut()?;
                if items.iter().filter(|v| is_it(v)).count() != 1 {
                    return None;
                }
                items.iter_mut().find(|v| is_it(v))?
            }
        };
    }
    at.as_object_mut()
}

fn with_unknowns(doc: &Value, unknowns: &[Unknown]) -> Value {
    let mut doc = doc.clone();
    for (path, name, value) in unknowns {
        if let Some(object) = find(&mut doc, path) {
            object.insert(name.clone(), value.clone());
        }
    }
    doc
}

/// Adds an unknown field to every object, identity or not.
fn unknowns_everywhere(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.values_mut().for_each(unknowns_everywhere);
            m.insert("zz-everywhere".into(), json!(true));
        }
        Value::Array(items) => items.iter_mut().for_each(unknowns_everywhere),
        _ => {}
    }
}

fn strip_unknowns(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with("zz-"));
            m.values_mut().for_each(strip_unknowns);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_unknowns),
        _ => {}
    }
}

#[test]
fn unknown_fields_survive_every_change() {
    let keys = pod_like_keys();
    let mut kept = 0;
    for seed in 0..3000u64 {
        let mut g = Gen {
            rng: Rng(seed),
            fresh: 0,
        };
        let before = g.document();
        let after = g.mutate_document(&before);
        let ops = json_patch_between(&before, &after, &keys).unwrap();

        let mut client = before.clone();
        apply_json_patch(&mut client, &ops).unwrap_or_else(|e| panic!("seed {seed}: {e}; ops {ops:?}"));
        assert_eq!(client, after, "seed {seed}: ops {ops:?}");

        let mut unknowns = Vec::new();
        place_unknowns(&before, keys.cursor(), &mut Vec::new(), &mut g.rng, &mut unknowns);
        let mut server = with_unknowns(&before, &unknowns);
        let expected = with_unknowns(&after, &unknowns);
        apply_json_patch(&mut server, &ops).unwrap_or_else(|e| panic!("seed {seed}: {e}; ops {ops:?}"));
        assert_eq!(server, expected, "seed {seed}: ops {ops:?}");
        kept += unknowns.iter().filter(|(p, _, _)| !p.is_empty()).count();

        // Unknown fields in items without identity may go with their item, but the patch still
        // applies and gives the new object.
        let mut everywhere = before.clone();
        unknowns_everywhere(&mut everywhere);
        apply_json_patch(&mut everywhere, &ops).unwrap_or_else(|e| panic!("seed {seed}: {e}; ops {ops:?}"));
        strip_unknowns(&mut everywhere);
        assert_eq!(everywhere, after, "seed {seed}: ops {ops:?}");
    }
    assert!(kept > 3000, "the cases place few unknown fields: {kept}");
}

#[test]
fn free_form_documents_round_trip() {
    let keys = ListKeys::new();
    for seed in 0..3000u64 {
        let mut g = Gen {
            rng: Rng(seed ^ 0xDEAD_BEEF),
            fresh: 0,
        };
        let mut before = json!({});
        g.mutate(&mut before, 5);
        if !before.is_object() {
            before = json!({ "v": before });
        }
        let mut after = before.clone();
        for _ in 0..3 {
            g.mutate(&mut after, 5);
        }
        if !after.is_object() {
            after = json!({ "w": after });
        }
        let ops = json_patch_between(&before, &after, &keys).unwrap();
        let mut applied = before.clone();
        apply_json_patch(&mut applied, &ops).unwrap_or_else(|e| panic!("seed {seed}: {e}; ops {ops:?}"));
        assert_eq!(applied, after, "seed {seed}: ops {ops:?}");
    }
}
