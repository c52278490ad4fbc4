//! Wrappers that keep credentials out of logs: their `Debug` prints `<redacted>` and they have no
//! `Display`, so a token can only reach output through an explicit [`SecretString::expose`].

use std::fmt;

/// A secret text value: a bearer token, a password, an auth-provider setting.
///
/// `Debug` prints `<redacted>`; read the value with [`expose`](Self::expose).
///
/// ```
/// use klient_proto::config::SecretString;
/// let token = SecretString::new("abc123");
/// assert_eq!(format!("{token:?}"), "<redacted>");
/// assert_eq!(token.expose(), "abc123");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; the caller takes responsibility for not logging it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Unwraps the secret.
    pub fn into_inner(self) -> String {
        self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Secret bytes: a client private key, or credential bytes from an exec plugin.
///
/// `Debug` prints `<redacted>`; read the bytes with [`expose`](Self::expose).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps secret bytes.
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Self(value.into())
    }

    /// The bytes themselves; the caller takes responsibility for not logging them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Unwraps the bytes.
    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(value: Vec<u8>) -> Self {
        Self(value)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let s = SecretString::new("hunter2");
        let b = SecretBytes::new(b"PRIVATE KEY".to_vec());
        let both = format!("{s:?} {b:?} {:?}", Some(&s));
        assert!(!both.contains("hunter2"));
        assert!(!both.contains("PRIVATE"));
        assert_eq!(both, "<redacted> <redacted> Some(<redacted>)");
    }

    #[test]
    fn expose_returns_the_value() {
        assert_eq!(SecretString::from("t").expose(), "t");
        assert_eq!(SecretBytes::from(vec![1, 2]).expose(), &[1, 2]);
        assert!(SecretString::default().is_empty());
        assert!(SecretBytes::default().is_empty());
    }
}
