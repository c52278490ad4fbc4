//! RFC 6901 JSON pointers: built token by token while the diff walks a document, and split back
//! into tokens by the applier.

use std::fmt::Write as _;

/// A pointer grown and shrunk as a walk descends and returns, so that each op's path costs one
/// copy of the buffer rather than a join of every level.
#[derive(Debug, Default)]
pub(crate) struct PointerBuf {
    buf: String,
    ends: Vec<usize>,
}

impl PointerBuf {
    /// Descends into an object member, escaping `~` and `/` in its name.
    pub(crate) fn push_key(&mut self, key: &str) {
        self.ends.push(self.buf.len());
        self.buf.push('/');
        for c in key.chars() {
            match c {
                '~' => self.buf.push_str("~0"),
                '/' => self.buf.push_str("~1"),
                c => self.buf.push(c),
            }
        }
    }

    /// Descends into a list item.
    pub(crate) fn push_index(&mut self, index: usize) {
        self.ends.push(self.buf.len());
        // Writing into a String cannot fail.
        let _ = write!(self.buf, "/{index}");
    }

    /// Returns to the parent.
    pub(crate) fn pop(&mut self) {
        if let Some(end) = self.ends.pop() {
            self.buf.truncate(end);
        }
    }

    /// The pointer to an item of the list this pointer names, without descending into it.
    pub(crate) fn item(&self, index: usize) -> String {
        format!("{}/{index}", self.buf)
    }

    /// The pointer as it stands.
    pub(crate) fn to_path(&self) -> String {
        self.buf.clone()
    }
}

/// Why a string is not a JSON pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PointerSyntax {
    /// Not empty and not starting with `/`.
    NoLeadingSlash,
    /// A `~` not followed by `0` or `1`.
    BadEscape,
}

/// Splits a pointer into unescaped reference tokens; `""` (the whole document) has none.
pub(crate) fn tokens(pointer: &str) -> Result<Vec<String>, PointerSyntax> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(PointerSyntax::NoLeadingSlash);
    };
    rest.split('/').map(unescape).collect()
}

fn unescape(token: &str) -> Result<String, PointerSyntax> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return Err(PointerSyntax::BadEscape),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// A list index token: `0`, or digits without a leading zero, that fits in `usize`.
pub(crate) fn index(token: &str) -> Option<usize> {
    let digits_only = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_escaped_and_unescaped() {
        let mut p = PointerBuf::default();
        p.push_key("metadata");
        p.push_key("labels");
        p.push_key("app.kubernetes.io/name~x");
        assert_eq!(p.to_path(), "/metadata/labels/app.kubernetes.io~1name~0x");
        assert_eq!(
            tokens(&p.to_path()).unwrap(),
            ["metadata", "labels", "app.kubernetes.io/name~x"]
        );
        p.pop();
        p.push_index(3);
        assert_eq!(p.to_path(), "/metadata/labels/3");
        assert_eq!(p.item(0), "/metadata/labels/3/0");
        p.pop();
        p.pop();
        p.pop();
        p.pop();
        assert_eq!(p.to_path(), "");
    }

    #[test]
    fn odd_pointers() {
        assert_eq!(tokens(""), Ok(vec![]));
        assert_eq!(tokens("/"), Ok(vec![String::new()]));
        assert_eq!(tokens("a"), Err(PointerSyntax::NoLeadingSlash));
        assert_eq!(tokens("/a~2"), Err(PointerSyntax::BadEscape));
        assert_eq!(tokens("/a~"), Err(PointerSyntax::BadEscape));
        // `~01` is `~1` unescaped once, not `/`.
        assert_eq!(tokens("/~01"), Ok(vec!["~1".to_owned()]));
    }

    #[test]
    fn indices() {
        assert_eq!(index("0"), Some(0));
        assert_eq!(index("17"), Some(17));
        assert_eq!(index("01"), None);
        assert_eq!(index("-"), None);
        assert_eq!(index("+1"), None);
        assert_eq!(index(""), None);
        assert_eq!(index("99999999999999999999999999"), None);
    }
}
