//! Building [`ListKeys`] for one kind from the API server's OpenAPI v3 document of its
//! group-version (`GET /openapi/v3/api/v1`, `/openapi/v3/apis/apps/v1`, and likewise for custom
//! resources).
//!
//! The kind's schema is the one whose `x-kubernetes-group-version-kind` names it. The walk
//! follows `properties`, `additionalProperties`, `items`, `$ref` (to `#/components/schemas/…`)
//! and `allOf`/`anyOf`/`oneOf`. A list's keys are its `x-kubernetes-list-map-keys` when its
//! `x-kubernetes-list-type` is `map`, else its `x-kubernetes-patch-merge-key` (built-in kinds
//! only). Each named schema becomes one node of the lookup however many places reach it, so a
//! recursive schema is walked once; a document could still be deep or wide enough to cost much,
//! which [`OpenApiLimits`] bounds.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use super::list_keys::{ListKeys, Node, NodeId};
use crate::api::ApiResource;

/// Bounds on the work of reading an OpenAPI document; each has its own [`OpenApiError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenApiLimits {
    /// Most bytes in the document. Default 64 MiB (the whole core/v1 document is about 2 MiB).
    pub max_document_bytes: usize,
    /// Most schemas nested in one another on the way from the kind's root, counting every
    /// `$ref` and `allOf` member as a level. Default 256 (Pod needs 24, Deployment 27).
    pub max_depth: usize,
    /// Most nodes in the lookup: each named schema reached counts once, and each inline schema
    /// that leads to a list with keys. Default 100,000 (Pod needs 174).
    pub max_locations: usize,
}

impl Default for OpenApiLimits {
    fn default() -> Self {
        OpenApiLimits {
            max_document_bytes: 64 * 1024 * 1024,
            max_depth: 256,
            max_locations: 100_000,
        }
    }
}

/// Why list keys could not be read from an OpenAPI document.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenApiError {
    /// The document is longer than [`OpenApiLimits::max_document_bytes`].
    DocumentTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The document is not JSON.
    Parse(serde_json::Error),
    /// The document has no `components.schemas` object.
    NoSchemas,
    /// No schema in the document declares this kind in `x-kubernetes-group-version-kind`. An
    /// API server may publish a new CustomResourceDefinition's schema after it serves the
    /// definition's objects: clients wait for it as [`SchemaWait`](super::SchemaWait) decides,
    /// and the error is not cached.
    KindNotFound {
        /// The group, empty for the core group.
        group: String,
        /// The version.
        version: String,
        /// The kind.
        kind: String,
    },
    /// A `$ref` that is not a string naming a schema of the document.
    UnresolvedRef {
        /// The reference, as JSON.
        reference: String,
    },
    /// Schemas nest deeper than [`OpenApiLimits::max_depth`].
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// The lookup would need more than [`OpenApiLimits::max_locations`] nodes.
    TooManyLocations {
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for OpenApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenApiError::DocumentTooLarge { len, max } => {
                write!(
                    f,
                    "the OpenAPI document has {len} bytes, more than the limit of {max}"
                )
            }
            OpenApiError::Parse(e) => write!(f, "the OpenAPI document is not JSON: {e}"),
            OpenApiError::NoSchemas => f.write_str("the OpenAPI document has no components.schemas"),
            OpenApiError::KindNotFound { group, version, kind } => write!(
                f,
                "the OpenAPI document has no schema for group {group:?} version {version:?} kind {kind:?}"
            ),
            OpenApiError::UnresolvedRef { reference } => {
                write!(
                    f,
                    "the OpenAPI document refers to {reference}, which it does not define"
                )
            }
            OpenApiError::TooDeep { max } => {
                write!(f, "the OpenAPI schemas nest deeper than the limit of {max}")
            }
            OpenApiError::TooManyLocations { max } => {
                write!(
                    f,
                    "the OpenAPI schemas need more than the limit of {max} lookup nodes"
                )
            }
        }
    }
}

impl std::error::Error for OpenApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenApiError::Parse(e) => Some(e),
            _ => None,
        }
    }
}

impl ListKeys {
    /// Reads the list keys of `kind` (its group, version and kind; plural and scope are not
    /// used) from the OpenAPI v3 document of its group-version.
    ///
    /// ```
    /// use klient_proto::api::modify::{ListKeys, LocationStep, OpenApiLimits};
    /// use klient_proto::api::{ApiResource, Scope};
    ///
    /// // A custom resource's document, as `/openapi/v3/apis/stable.example.com/v1` serves it
    /// // (cut down to one schema).
    /// let doc = br#"{"components": {"schemas": {"com.example.stable.v1.CronTab": {
    ///     "x-kubernetes-group-version-kind": [
    ///         {"group": "stable.example.com", "version": "v1", "kind": "CronTab"}],
    ///     "properties": {"spec": {"properties": {"targets": {
    ///         "type": "array",
    ///         "x-kubernetes-list-type": "map",
    ///         "x-kubernetes-list-map-keys": ["host", "port"],
    ///         "items": {"type": "object"}}}}}}}}}"#;
    /// let crontab = ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", Scope::Namespaced);
    /// let keys = ListKeys::from_openapi_v3(doc, &crontab, &OpenApiLimits::default()).unwrap();
    /// let targets = keys.keys_at(&LocationStep::parse_path("spec.targets")).unwrap();
    /// assert_eq!(targets, ["host", "port"]);
    /// ```
    pub fn from_openapi_v3(
        document: &[u8],
        kind: &ApiResource,
        limits: &OpenApiLimits,
    ) -> Result<ListKeys, OpenApiError> {
        if document.len() > limits.max_document_bytes {
            return Err(OpenApiError::DocumentTooLarge {
                len: document.len(),
                max: limits.max_document_bytes,
            });
        }
        let document: Value = serde_json::from_slice(document).map_err(OpenApiError::Parse)?;
        let schemas = document
            .get("components")
            .and_then(|c| c.get("schemas"))
            .and_then(Value::as_object)
            .ok_or(OpenApiError::NoSchemas)?;
        let root = schemas
            .iter()
            .find(|(_, schema)| declares(schema, kind))
            .map(|(name, _)| name.as_str())
            .ok_or_else(|| OpenApiError::KindNotFound {
                group: kind.group.clone(),
                version: kind.version.clone(),
                kind: kind.kind.clone(),
            })?;
        let mut walk = Walk {
            schemas,
            limits,
            nodes: Vec::new(),
            named: HashMap::new(),
        };
        let root = walk.named(root, 0)?;
        Ok(ListKeys {
            nodes: walk.nodes,
            root,
        })
    }
}

/// Whether `schema` is the root schema of `kind`.
fn declares(schema: &Value, kind: &ApiResource) -> bool {
    let Some(gvks) = schema
        .get("x-kubernetes-group-version-kind")
        .and_then(Value::as_array)
    else {
        return false;
    };
    gvks.iter().any(|gvk| {
        let field = |name| gvk.get(name).and_then(Value::as_str);
        field("group") == Some(&kind.group)
            && field("version") == Some(&kind.version)
            && field("kind") == Some(&kind.kind)
    })
}

const SCHEMA_REF_PREFIX: &str = "#/components/schemas/";

/// What the walk knows of a named schema.
#[derive(Clone, Copy)]
enum Named {
    /// Being walked: references to it from inside itself get this node, filled in later.
    InProgress(NodeId),
    /// Walked: its node, or none when no list with keys is below it.
    Done(Option<NodeId>),
}

/// What one schema contributes to the lookup.
enum Compiled {
    /// Nothing: no list with keys is below it.
    Empty,
    /// Exactly what another node holds (a schema that only refers to another).
    Same(NodeId),
    /// A node of its own.
    Own(Node),
}

struct Walk<'d> {
    schemas: &'d Map<String, Value>,
    limits: &'d OpenApiLimits,
    nodes: Vec<Node>,
    named: HashMap<&'d str, Named>,
}

impl<'d> Walk<'d> {
    fn named(&mut self, name: &'d str, depth: usize) -> Result<Option<NodeId>, OpenApiError> {
        match self.named.get(name) {
            Some(Named::InProgress(id)) => return Ok(Some(*id)),
            Some(Named::Done(node)) => return Ok(*node),
            None => {}
        }
        let schema = self
            .schemas
            .get(name)
            .ok_or_else(|| OpenApiError::UnresolvedRef {
                reference: Value::String(format!("{SCHEMA_REF_PREFIX}{name}")).to_string(),
            })?;
        let id = self.push(Node::default())?;
        self.named.insert(name, Named::InProgress(id));
        let node = match self.compile(schema, depth)? {
            Compiled::Empty => None,
            Compiled::Same(other) => Some(self.nodes[other].clone()),
            Compiled::Own(node) => Some(node),
        };
        // The slot stays even when empty: references made while walking the schema point at it.
        let done = node.filter(|n| !n.is_empty()).map(|n| {
            self.nodes[id] = n;
            id
        });
        self.named.insert(name, Named::Done(done));
        Ok(done)
    }

    fn inline(&mut self, schema: &'d Value, depth: usize) -> Result<Option<NodeId>, OpenApiError> {
        match self.compile(schema, depth)? {
            Compiled::Empty => Ok(None),
            Compiled::Same(id) => Ok(Some(id)),
            Compiled::Own(node) => self.push(node).map(Some),
        }
    }

    fn compile(&mut self, schema: &'d Value, depth: usize) -> Result<Compiled, OpenApiError> {
        if depth >= self.limits.max_depth {
            return Err(OpenApiError::TooDeep {
                max: self.limits.max_depth,
            });
        }
        // `true`, `false` and other non-objects say nothing of lists.
        let Some(schema) = schema.as_object() else {
            return Ok(Compiled::Empty);
        };
        let next = depth + 1;
        let mut node = Node {
            keys: list_keys(schema),
            ..Node::default()
        };
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (name, property) in properties {
                if let Some(id) = self.inline(property, next)? {
                    node.fields.insert(name.clone(), id);
                }
            }
        }
        if let Some(values) = schema.get("additionalProperties") {
            node.any_field = self.inline(values, next)?;
        }
        if let Some(items) = schema.get("items") {
            node.items = self.inline(items, next)?;
        }

        let mut parts = Vec::new();
        if let Some(reference) = schema.get("$ref") {
            let name = reference
                .as_str()
                .and_then(|r| r.strip_prefix(SCHEMA_REF_PREFIX))
                .ok_or_else(|| OpenApiError::UnresolvedRef {
                    reference: reference.to_string(),
                })?;
            // Borrow the name from the document, which outlives the walk.
            let (name, _) = self
                .schemas
                .get_key_value(name)
                .ok_or_else(|| OpenApiError::UnresolvedRef {
                    reference: reference.to_string(),
                })?;
            parts.extend(self.named(name, next)?);
        }
        for combinator in ["allOf", "anyOf", "oneOf"] {
            if let Some(Value::Array(members)) = schema.get(combinator) {
                for member in members {
                    parts.extend(self.inline(member, next)?);
                }
            }
        }

        // The usual v3 shape `{"allOf": [{"$ref": ...}], "description": ...}` shares the target.
        if node.is_empty() && parts.len() == 1 {
            return Ok(Compiled::Same(parts[0]));
        }
        for part in parts {
            absorb(&mut node, &self.nodes[part]);
        }
        Ok(if node.is_empty() {
            Compiled::Empty
        } else {
            Compiled::Own(node)
        })
    }

    fn push(&mut self, node: Node) -> Result<NodeId, OpenApiError> {
        if self.nodes.len() >= self.limits.max_locations {
            return Err(OpenApiError::TooManyLocations {
                max: self.limits.max_locations,
            });
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }
}

/// Adds what `part` knows and `node` does not. A schema and the schemas it combines describe one
/// value, so they rarely disagree; where they do, the schema's own word wins. (A part still being
/// walked, inside a cycle, is empty at this point and adds nothing.)
fn absorb(node: &mut Node, part: &Node) {
    if node.keys.is_none() {
        node.keys.clone_from(&part.keys);
    }
    for (name, id) in &part.fields {
        node.fields.entry(name.clone()).or_insert(*id);
    }
    node.any_field = node.any_field.or(part.any_field);
    node.items = node.items.or(part.items);
}

/// The key fields a list schema declares, if any.
fn list_keys(schema: &Map<String, Value>) -> Option<Box<[String]>> {
    let is_map = schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map");
    let map_keys = schema
        .get("x-kubernetes-list-map-keys")
        .filter(|_| is_map)
        .and_then(Value::as_array)
        .filter(|keys| !keys.is_empty())
        .and_then(|keys| {
            keys.iter()
                .map(|k| k.as_str().map(str::to_owned))
                .collect::<Option<Box<[String]>>>()
        });
    map_keys.or_else(|| {
        let merge_key = schema.get("x-kubernetes-patch-merge-key")?.as_str()?;
        (!merge_key.is_empty()).then(|| Box::from([merge_key.to_owned()]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Scope;
    use crate::api::modify::LocationStep;
    use serde_json::json;

    pub(in crate::api::modify) const POD_DOC: &str = include_str!("testdata/core_v1_pod.json");
    pub(in crate::api::modify) const DEPLOYMENT_DOC: &str = include_str!("testdata/apps_v1_deployment.json");

    fn resource(group: &str, version: &str, kind: &str) -> ApiResource {
        ApiResource::new(group, version, kind, "things", Scope::Namespaced)
    }

    fn build(doc: &[u8], kind: &ApiResource, limits: &OpenApiLimits) -> Result<ListKeys, OpenApiError> {
        ListKeys::from_openapi_v3(doc, kind, limits)
    }

    fn keys_at(keys: &ListKeys, path: &str) -> Option<Vec<String>> {
        keys.keys_at(&LocationStep::parse_path(path))
            .map(<[String]>::to_vec)
    }

    fn owned(keys: &[&str]) -> Option<Vec<String>> {
        Some(keys.iter().map(|k| (*k).to_owned()).collect())
    }

    #[test]
    fn pod() {
        let keys = build(
            POD_DOC.as_bytes(),
            &resource("", "v1", "Pod"),
            &OpenApiLimits::default(),
        )
        .unwrap();
        assert_eq!(keys_at(&keys, "spec.containers"), owned(&["name"]));
        assert_eq!(
            keys_at(&keys, "spec.containers[].ports"),
            owned(&["containerPort", "protocol"])
        );
        assert_eq!(keys_at(&keys, "spec.initContainers[].env"), owned(&["name"]));
        assert_eq!(keys_at(&keys, "spec.volumes"), owned(&["name"]));
        assert_eq!(keys_at(&keys, "spec.ephemeralContainers"), owned(&["name"]));
        assert_eq!(keys_at(&keys, "metadata.ownerReferences"), owned(&["uid"]));
        assert_eq!(keys_at(&keys, "status.conditions"), owned(&["type"]));
        // Lists without keys, and places that are not lists.
        assert_eq!(keys_at(&keys, "spec.tolerations"), None);
        assert_eq!(keys_at(&keys, "spec.containers[].args"), None);
        assert_eq!(keys_at(&keys, "spec"), None);
        assert_eq!(keys_at(&keys, "spec.nosuchfield"), None);
        // Container is one node, shared by the three lists of it.
        let containers = |field: &str| {
            let root = &keys.nodes[keys.root.unwrap()];
            let spec = &keys.nodes[root.fields["spec"]];
            keys.nodes[spec.fields[field]].items
        };
        assert_eq!(containers("containers"), containers("initContainers"));
        assert!(keys.node_count() < 200, "{} nodes", keys.node_count());
    }

    #[test]
    fn deployment() {
        let keys = build(
            DEPLOYMENT_DOC.as_bytes(),
            &resource("apps", "v1", "Deployment"),
            &OpenApiLimits::default(),
        )
        .unwrap();
        assert_eq!(keys_at(&keys, "spec.template.spec.containers"), owned(&["name"]));
        assert_eq!(
            keys_at(&keys, "spec.template.spec.containers[].ports"),
            owned(&["containerPort", "protocol"])
        );
        assert_eq!(keys_at(&keys, "status.conditions"), owned(&["type"]));
        assert_eq!(keys_at(&keys, "spec.containers"), None);
        // The same document does not declare Pod.
        assert!(matches!(
            build(
                DEPLOYMENT_DOC.as_bytes(),
                &resource("", "v1", "Pod"),
                &OpenApiLimits::default()
            ),
            Err(OpenApiError::KindNotFound { .. })
        ));
    }

    #[test]
    fn limits_are_generous_enough_for_real_documents() {
        let tight = OpenApiLimits {
            max_depth: 60,
            max_locations: 200,
            ..OpenApiLimits::default()
        };
        build(POD_DOC.as_bytes(), &resource("", "v1", "Pod"), &tight).unwrap();
        build(
            DEPLOYMENT_DOC.as_bytes(),
            &resource("apps", "v1", "Deployment"),
            &tight,
        )
        .unwrap();
    }

    /// A custom resource's document: its schema inline, metadata by reference.
    fn crd_doc() -> Value {
        json!({
            "openapi": "3.0.0",
            "components": {"schemas": {
                "com.example.v1.Widget": {
                    "type": "object",
                    "x-kubernetes-group-version-kind": [
                        {"group": "example.com", "kind": "Widget", "version": "v1"}
                    ],
                    "properties": {
                        "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]},
                        "spec": {"type": "object", "properties": {
                            "routes": {
                                "type": "array",
                                "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["host", "port"],
                                "items": {"type": "object", "properties": {
                                    "host": {"type": "string"},
                                    "port": {"type": "integer"},
                                    "backends": {
                                        "type": "array",
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["name"],
                                        "items": {"type": "object"}
                                    }
                                }}
                            },
                            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                            "pools": {"type": "object", "additionalProperties": {
                                "type": "array",
                                "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["id"],
                                "items": {"type": "object"}
                            }},
                            "matrix": {"type": "array", "items": {
                                "type": "array",
                                "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["x"],
                                "items": {"type": "object"}
                            }},
                            "bad": {
                                "type": "array",
                                "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["ok", 3],
                                "items": {"type": "object"}
                            }
                        }}
                    }
                },
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
                    "type": "object",
                    "properties": {"ownerReferences": {
                        "type": "array",
                        "x-kubernetes-patch-merge-key": "uid",
                        "x-kubernetes-patch-strategy": "merge",
                        "items": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference"}
                    }}
                },
                "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference": {"type": "object"}
            }}
        })
    }

    #[test]
    fn custom_resource_with_inline_schema() {
        let doc = crd_doc().to_string();
        let keys = build(
            doc.as_bytes(),
            &resource("example.com", "v1", "Widget"),
            &OpenApiLimits::default(),
        )
        .unwrap();
        assert_eq!(keys_at(&keys, "spec.routes"), owned(&["host", "port"]));
        assert_eq!(keys_at(&keys, "spec.routes[].backends"), owned(&["name"]));
        assert_eq!(keys_at(&keys, "spec.pools.blue"), owned(&["id"]));
        assert_eq!(keys_at(&keys, "spec.matrix[]"), owned(&["x"]));
        assert_eq!(keys_at(&keys, "spec.matrix"), None);
        assert_eq!(keys_at(&keys, "spec.tags"), None);
        assert_eq!(keys_at(&keys, "spec.bad"), None);
        assert_eq!(keys_at(&keys, "metadata.ownerReferences"), owned(&["uid"]));
        assert!(matches!(
            build(
                doc.as_bytes(),
                &resource("example.com", "v2", "Widget"),
                &OpenApiLimits::default()
            ),
            Err(OpenApiError::KindNotFound { .. })
        ));
    }

    #[test]
    fn recursive_schemas_are_walked_once() {
        // A tree whose every node holds a keyed list and children of its own type, as
        // JSONSchemaProps-like schemas do; also a cycle of schemas that only refer on.
        let doc = json!({"components": {"schemas": {
            "Root": {
                "x-kubernetes-group-version-kind": [{"group": "g", "version": "v", "kind": "Root"}],
                "properties": {
                    "tree": {"$ref": "#/components/schemas/Tree"},
                    "loop": {"$ref": "#/components/schemas/A"}
                }
            },
            "Tree": {"properties": {
                "entries": {"type": "array", "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["k"], "items": {"type": "object"}},
                "children": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Tree"}]}},
                "byName": {"additionalProperties": {"$ref": "#/components/schemas/Tree"}}
            }},
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"allOf": [{"$ref": "#/components/schemas/A"}]}
        }}})
        .to_string();
        let keys = build(
            doc.as_bytes(),
            &resource("g", "v", "Root"),
            &OpenApiLimits::default(),
        )
        .unwrap();
        assert_eq!(keys_at(&keys, "tree.entries"), owned(&["k"]));
        assert_eq!(
            keys_at(&keys, "tree.children[].children[].byName.x.entries"),
            owned(&["k"])
        );
        assert_eq!(keys_at(&keys, "loop"), None);
        assert!(keys.node_count() < 10, "{} nodes", keys.node_count());
    }

    #[test]
    fn every_limit_and_malformed_document_has_its_error() {
        let widget = resource("example.com", "v1", "Widget");
        let doc = crd_doc().to_string();
        let limits = OpenApiLimits::default();

        let small = OpenApiLimits {
            max_document_bytes: 100,
            ..limits.clone()
        };
        assert!(matches!(
            build(doc.as_bytes(), &widget, &small),
            Err(OpenApiError::DocumentTooLarge { max: 100, .. })
        ));
        let shallow = OpenApiLimits {
            max_depth: 5,
            ..limits.clone()
        };
        assert!(matches!(
            build(doc.as_bytes(), &widget, &shallow),
            Err(OpenApiError::TooDeep { max: 5 })
        ));
        let narrow = OpenApiLimits {
            max_locations: 3,
            ..limits.clone()
        };
        assert!(matches!(
            build(doc.as_bytes(), &widget, &narrow),
            Err(OpenApiError::TooManyLocations { max: 3 })
        ));

        assert!(matches!(
            build(b"{", &widget, &limits),
            Err(OpenApiError::Parse(_))
        ));
        assert!(matches!(
            build(b"[]", &widget, &limits),
            Err(OpenApiError::NoSchemas)
        ));
        assert!(matches!(
            build(br#"{"components": {"schemas": []}}"#, &widget, &limits),
            Err(OpenApiError::NoSchemas)
        ));

        let mut dangling = crd_doc();
        let schemas = dangling["components"]["schemas"].as_object_mut().unwrap();
        schemas.remove("io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference");
        let error = build(dangling.to_string().as_bytes(), &widget, &limits).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the OpenAPI document refers to \"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference\", which it does not define"
        );
        let mut foreign = crd_doc();
        foreign["components"]["schemas"]["com.example.v1.Widget"]["properties"]["x"] =
            json!({"$ref": "https://example.com/schema.json"});
        assert!(matches!(
            build(foreign.to_string().as_bytes(), &widget, &limits),
            Err(OpenApiError::UnresolvedRef { .. })
        ));
        let mut numeric = crd_doc();
        numeric["components"]["schemas"]["com.example.v1.Widget"]["properties"]["x"] = json!({"$ref": 7});
        assert!(matches!(
            build(numeric.to_string().as_bytes(), &widget, &limits),
            Err(OpenApiError::UnresolvedRef { .. })
        ));

        // A chain of references, one schema each, is as deep as it is long.
        let mut chain = Map::new();
        chain.insert(
            "S0".into(),
            json!({"x-kubernetes-group-version-kind": [{"group": "g", "version": "v", "kind": "K"}],
                   "$ref": "#/components/schemas/S1"}),
        );
        for i in 1..1000 {
            chain.insert(
                format!("S{i}"),
                json!({"$ref": format!("#/components/schemas/S{}", i + 1)}),
            );
        }
        chain.insert("S1000".into(), json!({"type": "object"}));
        let chain = json!({"components": {"schemas": chain}}).to_string();
        assert!(matches!(
            build(chain.as_bytes(), &resource("g", "v", "K"), &limits),
            Err(OpenApiError::TooDeep { max: 256 })
        ));
    }
}
