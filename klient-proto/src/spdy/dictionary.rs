//! The preset zlib dictionary of SPDY/3 header blocks.
//!
//! Both directions of a session compress their header blocks against this dictionary, and the
//! zlib stream names it by its Adler-32 checksum. The draft specifies it as the length-prefixed
//! lowercase header names and values of HTTP followed by one run of common value fragments; it is
//! built here from those two parts.

use std::sync::OnceLock;

/// The Adler-32 checksum of the dictionary, as a zlib stream announces it.
pub const DICTIONARY_ADLER32: u32 = 0xE3C6_A7C2;

/// Words stored with a 32-bit big-endian length in front, as in a header block.
const PREFIXED: [&str; 65] = [
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

/// The fragments that follow the prefixed words, with no lengths between them.
const TAIL: [&str; 9] = [
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request",
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented",
    "503 Service Unavailable",
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ",
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,",
    "text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdch",
    "charset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
];

/// The dictionary's bytes.
pub fn dictionary() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut bytes = Vec::with_capacity(1423);
        for word in PREFIXED {
            bytes.extend_from_slice(&(word.len() as u32).to_be_bytes());
            bytes.extend_from_slice(word.as_bytes());
        }
        for fragment in TAIL {
            bytes.extend_from_slice(fragment.as_bytes());
        }
        bytes
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    #[test]
    fn is_the_dictionary_every_spdy3_peer_names() {
        assert_eq!(dictionary().len(), 1423);
        // A zlib stream started with a preset dictionary carries its Adler-32 after the two-byte
        // header: the value Go's spdy framer and every other SPDY/3 peer expect.
        let mut deflate = Compress::new(Compression::default(), true);
        assert_eq!(deflate.set_dictionary(dictionary()).unwrap(), DICTIONARY_ADLER32);
        let mut out = Vec::with_capacity(64);
        deflate.compress_vec(b"x", &mut out, FlushCompress::Sync).unwrap();
        assert_eq!(out[1] & 0x20, 0x20, "FDICT set");
        assert_eq!(
            u32::from_be_bytes(out[2..6].try_into().unwrap()),
            DICTIONARY_ADLER32
        );
    }
}
