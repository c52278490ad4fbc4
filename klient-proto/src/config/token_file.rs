//! Bearer tokens kept in files that rotate (service account tokens, `tokenFile`).

use std::fmt;
use std::time::Duration;

use super::secret::SecretString;

/// How often the adapter reads a token file again: service account tokens rotate, and kubelet
/// refreshes them well before they expire, so a minute keeps a client current.
pub const TOKEN_FILE_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// The largest token file accepted; real tokens are a few KiB.
pub const MAX_TOKEN_FILE_LEN: usize = 1024 * 1024;

/// Why a token file's contents are unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFileError {
    /// The file is empty or only whitespace.
    Empty,
    /// The file is larger than [`MAX_TOKEN_FILE_LEN`].
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The token holds bytes that cannot go in an HTTP header (control characters, non-ASCII).
    InvalidCharacters,
}

impl fmt::Display for TokenFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the token file is empty"),
            Self::TooLarge { len, max } => write!(f, "the token file is {len} bytes, more than {max}"),
            Self::InvalidCharacters => f.write_str("the token file holds characters not allowed in a header"),
        }
    }
}

impl std::error::Error for TokenFileError {}

/// Turns the contents of a token file into a token: surrounding whitespace (the usual trailing
/// newline) is dropped, and what remains must be a non-empty, header-safe string.
///
/// ```
/// use klient_proto::config::token_from_file;
/// assert_eq!(token_from_file(b"eyJhbGciOi.x.y\n").unwrap().expose(), "eyJhbGciOi.x.y");
/// assert!(token_from_file(b" \n").is_err());
/// ```
pub fn token_from_file(contents: &[u8]) -> Result<SecretString, TokenFileError> {
    if contents.len() > MAX_TOKEN_FILE_LEN {
        return Err(TokenFileError::TooLarge {
            len: contents.len(),
            max: MAX_TOKEN_FILE_LEN,
        });
    }
    let token = contents.trim_ascii();
    if token.is_empty() {
        return Err(TokenFileError::Empty);
    }
    if !token.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return Err(TokenFileError::InvalidCharacters);
    }
    // All bytes are ASCII, so this conversion cannot fail; map rather than unwrap regardless.
    std::str::from_utf8(token)
        .map(SecretString::new)
        .map_err(|_| TokenFileError::InvalidCharacters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_validates() {
        assert_eq!(token_from_file(b"\t abc.def \r\n").unwrap().expose(), "abc.def");
        assert_eq!(token_from_file(b""), Err(TokenFileError::Empty));
        assert_eq!(token_from_file(b"ab\ncd"), Err(TokenFileError::InvalidCharacters));
        assert_eq!(
            token_from_file("tök".as_bytes()),
            Err(TokenFileError::InvalidCharacters)
        );
        let big = vec![b'a'; MAX_TOKEN_FILE_LEN + 1];
        assert!(matches!(
            token_from_file(&big),
            Err(TokenFileError::TooLarge { .. })
        ));
    }
}
