//! Which fields identify the items of each list in an object: the lookup the diff consults to
//! tell "this container changed" from "one container left and another came".

use std::collections::BTreeMap;

/// One step from a value to a value inside it, naming a place in a kind's schema rather than in
/// one object: list items are all the same step, and so are all members of a map.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LocationStep {
    /// The member with this name (`spec`, `containers`).
    Field(String),
    /// Any member of a map whose members all have one schema (`metadata.labels`, a
    /// `map[string]SomeStruct`); a named [`Field`](LocationStep::Field) wins over it.
    AnyField,
    /// Any item of a list.
    Item,
}

impl LocationStep {
    /// Reads a location written as dotted field names, `[]` after a name for the items of that
    /// list and `*` for any member of a map: `spec.template.spec.containers`,
    /// `spec.containers[].ports`, `data.*`. Every string reads as some location; names holding
    /// a `.`, or named `*`, need [`LocationStep::Field`] directly.
    ///
    /// ```
    /// use klient_proto::api::modify::LocationStep;
    /// assert_eq!(
    ///     LocationStep::parse_path("spec.containers[].ports"),
    ///     [
    ///         LocationStep::Field("spec".into()),
    ///         LocationStep::Field("containers".into()),
    ///         LocationStep::Item,
    ///         LocationStep::Field("ports".into()),
    ///     ]
    /// );
    /// ```
    pub fn parse_path(path: &str) -> Vec<LocationStep> {
        let mut steps = Vec::new();
        if path.is_empty() {
            return steps;
        }
        for segment in path.split('.') {
            let mut name = segment;
            let mut items = 0;
            while let Some(rest) = name.strip_suffix("[]") {
                name = rest;
                items += 1;
            }
            match name {
                // `[]` alone is the items of the list reached so far (a list of lists).
                "" if items > 0 => {}
                "*" => steps.push(LocationStep::AnyField),
                _ => steps.push(LocationStep::Field(name.to_owned())),
            }
            steps.extend(std::iter::repeat_n(LocationStep::Item, items));
        }
        steps
    }
}

/// Index of a node in a [`ListKeys`]' arena.
pub(crate) type NodeId = usize;

/// What the lookup knows about one location: the keys of the list found there, and where to go
/// from it. Named schemas are one node each, shared by every location that reaches them, so a
/// recursive schema is a cycle here rather than an endless tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) keys: Option<Box<[String]>>,
    pub(crate) fields: BTreeMap<String, NodeId>,
    pub(crate) any_field: Option<NodeId>,
    pub(crate) items: Option<NodeId>,
}

impl Node {
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_none() && self.fields.is_empty() && self.any_field.is_none() && self.items.is_none()
    }

    fn field(&self, name: &str) -> Option<NodeId> {
        self.fields.get(name).copied().or(self.any_field)
    }

    fn child(&self, step: &LocationStep) -> Option<NodeId> {
        match step {
            LocationStep::Field(name) => self.field(name),
            LocationStep::AnyField => self.any_field,
            LocationStep::Item => self.items,
        }
    }
}

/// The key fields of every list that has them, by where the list sits in an object of one kind.
///
/// The diff ([`json_patch_between`](super::json_patch_between)) matches the items of a list by
/// these keys (containers by `name`, container ports by `containerPort` and `protocol`); lists
/// without keys match items by equality. Build it from the API server's OpenAPI v3 document with
/// [`from_openapi_v3`](ListKeys::from_openapi_v3), or by hand:
///
/// ```
/// use klient_proto::api::modify::{ListKeys, LocationStep};
/// let mut keys = ListKeys::new();
/// keys.insert(&LocationStep::parse_path("spec.containers"), ["name"]);
/// keys.insert(&LocationStep::parse_path("spec.containers[].ports"), ["containerPort", "protocol"]);
/// let ports = LocationStep::parse_path("spec.containers[].ports");
/// assert_eq!(keys.keys_at(&ports), Some(&["containerPort".to_owned(), "protocol".to_owned()][..]));
/// assert_eq!(keys.keys_at(&LocationStep::parse_path("spec.volumes")), None);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ListKeys {
    pub(crate) nodes: Vec<Node>,
    pub(crate) root: Option<NodeId>,
}

impl ListKeys {
    /// A lookup that knows no keys: every list matches its items by equality.
    pub fn new() -> Self {
        ListKeys::default()
    }

    /// The key fields of the list at `location`, if it has any. A
    /// [`Field`](LocationStep::Field) step also finds what was set for any member of its map.
    pub fn keys_at(&self, location: &[LocationStep]) -> Option<&[String]> {
        let mut node = self.root?;
        for step in location {
            node = self.nodes.get(node)?.child(step)?;
        }
        self.nodes.get(node)?.keys.as_deref()
    }

    /// Sets the key fields of the list at `location`, replacing any it had. Only this location
    /// changes, even where the lookup was built from a schema that other locations share.
    pub fn insert<K>(&mut self, location: &[LocationStep], keys: impl IntoIterator<Item = K>)
    where
        K: Into<String>,
    {
        let keys: Box<[String]> = keys.into_iter().map(Into::into).collect();
        // Copy the path's nodes before writing, so that a node shared with other locations (a
        // named schema such as Container) keeps its meaning there.
        let mut copy = self.root.map(|id| self.nodes[id].clone()).unwrap_or_default();
        let root = self.push(Node::default());
        self.root = Some(root);
        let mut at = root;
        for step in location {
            let next = match copy.child(step) {
                Some(id) => self.nodes[id].clone(),
                None => Node::default(),
            };
            let next_id = self.push(Node::default());
            set_child(&mut copy, step, next_id);
            self.nodes[at] = copy;
            copy = next;
            at = next_id;
        }
        copy.keys = Some(keys);
        self.nodes[at] = copy;
    }

    /// How many locations the lookup holds (named schemas count once however often they are
    /// reached); a cost measure, not a count of keyed lists.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Where the diff starts: the root object.
    pub(crate) fn cursor(&self) -> Cursor<'_> {
        Cursor {
            keys: self,
            node: self.root,
        }
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }
}

fn set_child(node: &mut Node, step: &LocationStep, id: NodeId) {
    match step {
        LocationStep::Field(name) => {
            node.fields.insert(name.clone(), id);
        }
        LocationStep::AnyField => node.any_field = Some(id),
        LocationStep::Item => node.items = Some(id),
    }
}

/// A position in a [`ListKeys`] that follows the diff's walk through a document.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor<'k> {
    keys: &'k ListKeys,
    node: Option<NodeId>,
}

impl<'k> Cursor<'k> {
    pub(crate) fn field(self, name: &str) -> Cursor<'k> {
        let node = self.get().and_then(|n| n.field(name));
        Cursor { node, ..self }
    }

    pub(crate) fn item(self) -> Cursor<'k> {
        let node = self.get().and_then(|n| n.items);
        Cursor { node, ..self }
    }

    /// The key fields of the list here, if it has any (an empty set counts as none).
    pub(crate) fn list_keys(self) -> Option<&'k [String]> {
        self.get()
            .and_then(|n| n.keys.as_deref())
            .filter(|k| !k.is_empty())
    }

    fn get(self) -> Option<&'k Node> {
        self.node.and_then(|id| self.keys.nodes.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    #[test]
    fn parses_dotted_locations() {
        use LocationStep::*;
        assert_eq!(LocationStep::parse_path(""), []);
        assert_eq!(
            LocationStep::parse_path("spec.template.spec.containers"),
            [
                Field("spec".into()),
                Field("template".into()),
                Field("spec".into()),
                Field("containers".into())
            ]
        );
        assert_eq!(
            LocationStep::parse_path("data.*.matrix[][]"),
            [Field("data".into()), AnyField, Field("matrix".into()), Item, Item]
        );
        assert_eq!(
            LocationStep::parse_path("a.[].b"),
            [Field("a".into()), Item, Field("b".into())]
        );
    }

    #[test]
    fn inserts_and_looks_up() {
        let mut keys = ListKeys::new();
        assert_eq!(keys.keys_at(&[]), None);
        keys.insert(&LocationStep::parse_path("spec.containers"), ["name"]);
        keys.insert(
            &LocationStep::parse_path("spec.containers[].ports"),
            ["containerPort", "protocol"],
        );
        keys.insert(&LocationStep::parse_path("spec.byName.*.list"), ["id"]);
        let at = |p: &str| keys.keys_at(&LocationStep::parse_path(p)).map(<[String]>::to_vec);
        assert_eq!(at("spec.containers"), Some(strings(&["name"])));
        assert_eq!(
            at("spec.containers[].ports"),
            Some(strings(&["containerPort", "protocol"]))
        );
        assert_eq!(at("spec.containers[]"), None);
        assert_eq!(at("spec.initContainers"), None);
        assert_eq!(at("spec.byName.anything.list"), Some(strings(&["id"])));
        assert_eq!(at("spec.byName.*.list"), Some(strings(&["id"])));

        let c = keys.cursor().field("spec").field("containers");
        assert_eq!(c.list_keys(), Some(&strings(&["name"])[..]));
        assert_eq!(
            c.item().field("ports").list_keys(),
            Some(&strings(&["containerPort", "protocol"])[..])
        );
        assert_eq!(c.field("ports").list_keys(), None);
    }

    #[test]
    fn insert_does_not_change_a_shared_node() {
        // spec.a and spec.b share one node, as two fields of one named schema type would.
        let mut keys = ListKeys::new();
        keys.insert(&LocationStep::parse_path("spec.a.list"), ["id"]);
        let spec = keys.nodes[keys.root.unwrap()].fields["spec"];
        let a = keys.nodes[spec].fields["a"];
        keys.nodes[spec].fields.insert("b".into(), a);
        assert_eq!(
            keys.keys_at(&LocationStep::parse_path("spec.b.list")),
            Some(&strings(&["id"])[..])
        );
        keys.insert(&LocationStep::parse_path("spec.b.list"), ["other"]);
        assert_eq!(
            keys.keys_at(&LocationStep::parse_path("spec.a.list")),
            Some(&strings(&["id"])[..])
        );
        assert_eq!(
            keys.keys_at(&LocationStep::parse_path("spec.b.list")),
            Some(&strings(&["other"])[..])
        );
    }
}
