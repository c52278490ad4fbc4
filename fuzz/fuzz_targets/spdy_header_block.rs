//! A SPDY header block, compressed or not, must never panic the parser or the inflater, nor make
//! it allocate past its limit. The bytes are inflated twice: as they are, and after the zlib
//! header naming SPDY/3's dictionary, so the fuzzer reaches the inflater's body.
#![no_main]

use klient_proto::spdy::{DICTIONARY_ADLER32, HeaderDecompressor, Headers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(headers) = Headers::parse(data) {
        let _ = (headers.get("port"), format!("{headers:?}"));
    }
    let mut plain = HeaderDecompressor::new(4096);
    let _ = plain.decompress(data);

    // 0x78 0xBB: deflate, 32 KiB window, FDICT set, a valid header checksum.
    let mut with_dictionary = vec![0x78, 0xBB];
    with_dictionary.extend_from_slice(&DICTIONARY_ADLER32.to_be_bytes());
    let mut inflater = HeaderDecompressor::new(4096);
    // Two blocks in a row share the stream, as they do in a session.
    let (first, second) = data.split_at(data.len() / 2);
    with_dictionary.extend_from_slice(first);
    if inflater.decompress(&with_dictionary).is_ok() {
        let _ = inflater.decompress(second);
    }
});
