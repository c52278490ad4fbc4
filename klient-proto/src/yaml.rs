//! YAML documents read into JSON trees: kubeconfig files, exec plugins' output, and manifests a
//! program wants as Kubernetes objects (`serde_json::from_value` takes it from there).
//!
//! granit-parser reads the YAML syntax and hands out events; this module builds the tree and
//! decides what each plain scalar means. It is written over the events rather than through a
//! serde YAML deserializer because every caller wants an untyped tree anyway (kubeconfig fields
//! are read from one, see `config/fields.rs`), and the deserializer crate cost a program's build
//! more than all of klient's configuration code.
//!
//! What a scalar means follows YAML 1.2's core schema, with the booleans of YAML 1.1 that
//! client-go's YAML reader also accepts:
//!
//! - quoted and block scalars are strings, and so is any scalar tagged `!!str`, `!`, or one of
//!   YAML 1.1's text types `!!binary` (base64) and `!!timestamp`;
//! - a plain `~`, `null`, `Null`, `NULL`, or nothing at all, is null;
//! - `true`, `yes`, `y`, `on` and `false`, `no`, `n`, `off` (each also capitalised or in
//!   capitals) are booleans;
//! - decimal integers, `0x` hexadecimal and `0o` octal are numbers, and so is float syntax;
//!   an integer too large for 64 bits becomes a float;
//! - anything else is a string, `.inf` and `.nan` included: JSON cannot hold them.
//!
//! An alias copies its anchor's tree; `<<` merge keys (plain, or tagged `!!merge`) merge
//! mappings in, keys written in the mapping itself winning; a key is the text of its scalar; a key
//! repeated in one mapping is an error. Limits bound the depth, the number of nodes and what
//! aliases may copy, so a hostile document fails fast. Errors give a position and the parser's
//! reason, never the input's text: a kubeconfig holds secrets.

use std::collections::HashMap;
use std::fmt;

use granit_parser::{ErrorKind, Event, Parser, ScalarStyle, ScanError, Tag};
use serde_json::{Map, Number, Value};

/// How much a document may hold. The defaults are far above any real kubeconfig or manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YamlLimits {
    /// The deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Nodes (scalars, sequences and mappings) in all documents, counting each copy an alias
    /// makes: this is what stops an alias bomb.
    pub max_nodes: usize,
}

impl Default for YamlLimits {
    fn default() -> Self {
        YamlLimits {
            max_depth: 128,
            max_nodes: 100_000,
        }
    }
}

/// Why a YAML document could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum YamlError {
    /// The bytes are neither UTF-8 nor UTF-16 with a byte-order mark.
    Encoding {
        /// The offset of the first byte that does not decode.
        offset: usize,
    },
    /// The YAML syntax is broken.
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's reason; it never quotes the input.
        message: String,
    },
    /// The document is well-formed but cannot be a JSON tree, or breaks a rule of YAML's data
    /// model (a repeated key, a `!!int` that is not an integer...).
    Content {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, never quoting the input.
        problem: &'static str,
    },
    /// The document nests deeper than [`YamlLimits::max_depth`].
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// The document holds, or its aliases copy, more than [`YamlLimits::max_nodes`] nodes.
    TooManyNodes {
        /// The limit.
        max: usize,
    },
    /// [`read_document`] found more than one document holding something.
    MoreThanOneDocument,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            YamlError::Encoding { offset } => {
                write!(
                    f,
                    "neither UTF-8 nor UTF-16: bytes at offset {offset} do not decode"
                )
            }
            YamlError::Syntax {
                line,
                column,
                message,
            } => {
                write!(f, "{message} at line {line} column {column}")
            }
            YamlError::Content {
                line,
                column,
                problem,
            } => {
                write!(f, "{problem} at line {line} column {column}")
            }
            YamlError::TooDeep { max } => write!(f, "nested deeper than {max} levels"),
            YamlError::TooManyNodes { max } => {
                write!(f, "more than {max} nodes, counting what aliases copy")
            }
            YamlError::MoreThanOneDocument => f.write_str("more than one YAML document"),
        }
    }
}

impl YamlError {
    /// Where in the input the error is (1-based line and column), when it has a place: syntax and
    /// content errors do, limits and encoding errors are about the whole input.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            YamlError::Syntax { line, column, .. } | YamlError::Content { line, column, .. } => {
                Some((*line, *column))
            }
            _ => None,
        }
    }

    /// The reason alone, without the position, for a caller that reports the position on its own.
    pub fn reason(&self) -> String {
        match self {
            YamlError::Syntax { message, .. } => message.clone(),
            YamlError::Content { problem, .. } => (*problem).to_owned(),
            other => other.to_string(),
        }
    }
}

impl std::error::Error for YamlError {}

/// Reads a stream of YAML documents (separated by `---`) into one JSON tree each. An empty
/// document is `null`; a stream with no document at all gives an empty list.
pub fn read_documents(bytes: &[u8], limits: &YamlLimits) -> Result<Vec<Value>, YamlError> {
    let text = decode(bytes)?;
    let options = granit_parser::options! {
        flow_nesting_limit: limits.max_depth,
        block_nesting_limit: limits.max_depth,
        emit_comments: false,
    };
    let mut builder = Builder::new(limits);
    for next in Parser::new_from_str_with_options(&text, options) {
        let (event, span) = next.map_err(syntax_error)?;
        builder.at = (span.start.line(), span.start.col() + 1);
        builder.event(event)?;
    }
    Ok(builder.documents)
}

/// Reads one YAML document into a JSON tree: a stream with no document, or only an empty one, is
/// `null`; more than one document holding something is [`YamlError::MoreThanOneDocument`].
pub fn read_document(bytes: &[u8], limits: &YamlLimits) -> Result<Value, YamlError> {
    let mut documents = read_documents(bytes, limits)?
        .into_iter()
        .filter(|d| !d.is_null());
    let first = documents.next().unwrap_or(Value::Null);
    match documents.next() {
        None => Ok(first),
        Some(_) => Err(YamlError::MoreThanOneDocument),
    }
}

/// UTF-8, or UTF-16 when a byte-order mark says so (Windows PowerShell 5 writes redirected
/// output, such as `kubectl config view --raw > config`, as UTF-16).
fn decode(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, YamlError> {
    let big_endian = match bytes {
        [0xFE, 0xFF, ..] => true,
        [0xFF, 0xFE, ..] => false,
        _ => {
            return std::str::from_utf8(bytes)
                .map(std::borrow::Cow::Borrowed)
                .map_err(|e| YamlError::Encoding {
                    offset: e.valid_up_to(),
                });
        }
    };
    let body = &bytes[2..];
    if !body.len().is_multiple_of(2) {
        return Err(YamlError::Encoding {
            offset: bytes.len() - 1,
        });
    }
    let units = body.chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    let mut text = String::with_capacity(body.len() / 2);
    for (index, unit) in char::decode_utf16(units).enumerate() {
        match unit {
            Ok(c) => text.push(c),
            // Counted in units from the start of the text: an approximation only when a
            // surrogate pair came before, which is good enough to point at the place.
            Err(_) => {
                return Err(YamlError::Encoding {
                    offset: 2 + 2 * index,
                });
            }
        }
    }
    Ok(std::borrow::Cow::Owned(text))
}

fn syntax_error(e: ScanError) -> YamlError {
    let message = match e.kind() {
        // The only reason that names a piece of the input; one character of a secret is still
        // a piece of it.
        ErrorKind::UnexpectedCharacter { .. } => "unexpected character".to_owned(),
        kind => kind.to_string(),
    };
    YamlError::Syntax {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message,
    }
}

/// A node an anchor named, kept for the aliases that copy it.
struct Anchored {
    value: Value,
    /// How many nodes a copy adds.
    nodes: usize,
    /// The scalar's text, when the node is a scalar: what an alias used as a key stands for.
    key: Option<String>,
}

/// A finished node on its way into its parent.
struct Node {
    value: Value,
    /// The scalar's text, when the node is a scalar (a key is the text, not what it resolves to).
    key: Option<String>,
    /// A plain `<<`, untagged or tagged `!!merge`: in key position, a merge key.
    merge: bool,
    /// The nodes it holds, itself included: what an alias of an enclosing anchor copies.
    nodes: usize,
}

/// A sequence or mapping being filled.
enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
        nodes: usize,
    },
    Mapping {
        entries: Map<String, Value>,
        anchor: usize,
        nodes: usize,
        /// The key read, waiting for its value.
        key: Option<PendingKey>,
        /// The mappings `<<` named, in order: earlier ones win.
        merged: Vec<Map<String, Value>>,
    },
}

enum PendingKey {
    Key(String),
    Merge,
}

struct Builder<'l> {
    limits: &'l YamlLimits,
    documents: Vec<Value>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    /// The position of the event being handled, for errors.
    at: (usize, usize),
}

impl<'l> Builder<'l> {
    fn new(limits: &'l YamlLimits) -> Self {
        Builder {
            limits,
            documents: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            at: (0, 0),
        }
    }

    fn content(&self, problem: &'static str) -> YamlError {
        YamlError::Content {
            line: self.at.0,
            column: self.at.1,
            problem,
        }
    }

    fn count(&mut self, nodes: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > self.limits.max_nodes {
            return Err(YamlError::TooManyNodes {
                max: self.limits.max_nodes,
            });
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError::TooDeep {
                max: self.limits.max_depth,
            });
        }
        self.count(1)?;
        self.stack.push(frame);
        Ok(())
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), YamlError> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1)?;
                // A key is its text and a value its meaning; a copy of the text is made only when a
                // scalar is both (anchored, so an alias may use it either way).
                let key_position = matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }));
                let merge = key_position
                    && style == ScalarStyle::Plain
                    && text == "<<"
                    && tag.as_deref().is_none_or(|t| yaml_type_is(t, "merge"));
                let meaning = self.scalar(&text, style, tag.as_deref())?;
                let (value, key) = if anchor != 0 {
                    let key = text.to_string();
                    let value = meaning.unwrap_or_else(|| Value::String(text.into_owned()));
                    let kept = Anchored {
                        value: value.clone(),
                        nodes: 1,
                        key: Some(key.clone()),
                    };
                    self.anchors.insert(anchor, kept);
                    (value, Some(key))
                } else if key_position {
                    // Read for its errors only: the mapping keeps the key's text.
                    (Value::Null, Some(text.into_owned()))
                } else {
                    (meaning.unwrap_or_else(|| Value::String(text.into_owned())), None)
                };
                self.finish(Node {
                    value,
                    key,
                    merge,
                    nodes: 1,
                })
            }
            Event::Alias(anchor) => {
                let Some(nodes) = self.anchors.get(&anchor).map(|kept| kept.nodes) else {
                    // The parser refuses unknown anchors; what is left is an alias inside the
                    // node its anchor names, which has no finished tree yet.
                    return Err(self.content("an alias refers to a node that contains it"));
                };
                // Counted before copying, so that a bomb stops before it costs memory.
                self.count(nodes)?;
                let kept = &self.anchors[&anchor];
                let (value, key) = (kept.value.clone(), kept.key.clone());
                self.finish(Node {
                    value,
                    key,
                    merge: false,
                    nodes,
                })
            }
            Event::SequenceStart(_, anchor, _) => self.open(Frame::Sequence {
                items: Vec::new(),
                anchor,
                nodes: 1,
            }),
            Event::MappingStart(_, anchor, _) => self.open(Frame::Mapping {
                entries: Map::new(),
                anchor,
                nodes: 1,
                key: None,
                merged: Vec::new(),
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Err(self.content("a collection ends that never started"));
                };
                let (value, anchor, nodes) = match frame {
                    Frame::Sequence { items, anchor, nodes } => (Value::Array(items), anchor, nodes),
                    Frame::Mapping {
                        mut entries,
                        anchor,
                        nodes,
                        merged,
                        ..
                    } => {
                        for source in merged {
                            for (key, value) in source {
                                entries.entry(key).or_insert(value);
                            }
                        }
                        (Value::Object(entries), anchor, nodes)
                    }
                };
                if anchor != 0 {
                    let kept = Anchored {
                        value: value.clone(),
                        nodes,
                        key: None,
                    };
                    self.anchors.insert(anchor, kept);
                }
                self.finish(Node {
                    value,
                    key: None,
                    merge: false,
                    nodes,
                })
            }
            Event::DocumentStart(..) => {
                // Anchors are scoped to their document.
                self.anchors.clear();
                Ok(())
            }
            // StreamStart, StreamEnd and DocumentEnd carry nothing; comment and anchor-name
            // events are presentation only, and the options ask for neither.
            _ => Ok(()),
        }
    }

    /// Puts a finished node where it belongs: a document, an item, a key, or a value.
    fn finish(&mut self, node: Node) -> Result<(), YamlError> {
        let at = self.at;
        let problem = |problem| YamlError::Content {
            line: at.0,
            column: at.1,
            problem,
        };
        let Some(frame) = self.stack.last_mut() else {
            self.documents.push(node.value);
            return Ok(());
        };
        match frame {
            Frame::Sequence { items, nodes, .. } => {
                *nodes = nodes.saturating_add(node.nodes);
                items.push(node.value);
            }
            Frame::Mapping {
                entries,
                nodes,
                key,
                merged,
                ..
            } => {
                *nodes = nodes.saturating_add(node.nodes);
                match key.take() {
                    None if node.merge => *key = Some(PendingKey::Merge),
                    None => {
                        let Some(text) = node.key else {
                            return Err(problem("a mapping key is not a scalar, which JSON cannot hold"));
                        };
                        if entries.contains_key(&text) {
                            return Err(problem("duplicate mapping key"));
                        }
                        *key = Some(PendingKey::Key(text));
                    }
                    Some(PendingKey::Key(text)) => {
                        entries.insert(text, node.value);
                    }
                    Some(PendingKey::Merge) => match node.value {
                        Value::Object(map) => merged.push(map),
                        Value::Array(list) => {
                            for item in list {
                                let Value::Object(map) = item else {
                                    return Err(problem(
                                        "a merge key's list holds something other than mappings",
                                    ));
                                };
                                merged.push(map);
                            }
                        }
                        _ => return Err(problem("a merge key needs a mapping or a list of mappings")),
                    },
                }
            }
        }
        Ok(())
    }

    /// What a scalar means (see the module's documentation); `None` when it means its own text, which
    /// the caller then owns without a copy.
    fn scalar(&self, text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Option<Value>, YamlError> {
        let plain = style == ScalarStyle::Plain;
        // YAML 1.1's `!!binary` (base64) and `!!timestamp` name text JSON keeps as text.
        if tag.is_some_and(|t| yaml_type_is(t, "binary") || yaml_type_is(t, "timestamp")) {
            return Ok(None);
        }
        match tag.map(|t| (t.core_suffix(), t.parts())) {
            Some((Some("str"), _)) | Some((None, ("", "!"))) => Ok(None),
            Some((Some("null"), _)) => Ok(Some(Value::Null)),
            Some((Some("bool"), _)) => boolean(text)
                .map(|b| Some(Value::Bool(b)))
                .ok_or_else(|| self.content("a !!bool scalar is not a boolean")),
            Some((Some("int"), _)) => integer(text)
                .map(Some)
                .ok_or_else(|| self.content("an !!int scalar is not an integer")),
            Some((Some("float"), _)) => integer(text)
                .or_else(|| float(text))
                .map(Some)
                .ok_or_else(|| self.content("a !!float scalar is not a finite number")),
            Some((Some("map" | "seq"), _)) => Err(self.content("a scalar is tagged as a collection")),
            // Untagged, or a tag JSON has no meaning for: resolved by its text.
            _ if !plain => Ok(None),
            _ => Ok(resolve_plain(text)),
        }
    }
}

/// Whether `tag` is the YAML type `name` (`!!name`, however it is spelled).
fn yaml_type_is(tag: &Tag, name: &str) -> bool {
    tag.suffix_in_namespace("tag:yaml.org,2002:")
        .is_some_and(|suffix| suffix == name)
}

/// A plain scalar's meaning by its text alone; `None` when it is that text.
fn resolve_plain(text: &str) -> Option<Value> {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    if let Some(b) = boolean(text) {
        return Some(Value::Bool(b));
    }
    integer(text).or_else(|| float(text))
}

fn boolean(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "y" | "Y" | "on" | "On" | "ON" => Some(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "n" | "N" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// `[-+]?[0-9]+`, `0x[0-9a-fA-F]+` or `0o[0-7]+`; too large for 64 bits, a decimal one is a float.
fn integer(text: &str) -> Option<Value> {
    let radix_digits = |prefix: &str, radix: u32| {
        let digits = text.strip_prefix(prefix)?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        u64::from_str_radix(digits, radix).ok().map(Value::from)
    };
    if text.starts_with("0x") {
        return radix_digits("0x", 16);
    }
    if text.starts_with("0o") {
        return radix_digits("0o", 8);
    }
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let exact = if negative {
        text.parse::<i64>().ok().map(Value::from)
    } else {
        digits.parse::<u64>().ok().map(Value::from)
    };
    exact.or_else(|| float(text))
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, and finite.
fn float(text: &str) -> Option<Value> {
    let bytes = text.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let whole = digits(&mut i);
    let fraction = if bytes.get(i) == Some(&b'.') {
        i += 1;
        Some(digits(&mut i))
    } else {
        None
    };
    let mantissa = whole > 0 || fraction.is_some_and(|n| n > 0);
    if !mantissa {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    Number::from_f64(value).map(Value::Number)
}

#[cfg(test)]
#[path = "yaml_tests.rs"]
pub(crate) mod tests;
