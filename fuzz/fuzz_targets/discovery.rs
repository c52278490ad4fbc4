//! Discovery documents from the server must never panic the decoders or the discovery run, and
//! whatever catalog they build must resolve any name without panicking.
#![no_main]

use klient_proto::api::{
    DiscoveryMode, DiscoveryRun, ResponseFormat, decode_aggregated, decode_api_versions,
    decode_group_list, decode_resource_list,
};
use libfuzzer_sys::fuzz_target;

const FORMATS: [&str; 4] = [
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    "application/json",
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
    "text/html",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let code = if selector & 0x80 == 0 { 200 } else { 404 };
    let _ = decode_aggregated(code, rest);
    let _ = decode_api_versions(code, rest);
    let _ = decode_group_list(code, rest);
    let _ = decode_resource_list(code, rest);
    let text = String::from_utf8_lossy(rest);
    let _ = ResponseFormat::of(Some(&text));

    // A whole run: the input, split at 0xff bytes, answers the requests in turn, with a format
    // chosen by the selector's bits. The run stops at the first root error.
    let mode = if selector & 1 == 0 {
        DiscoveryMode::Aggregated
    } else {
        DiscoveryMode::Legacy
    };
    let mut run = DiscoveryRun::new(mode).max_group_versions(64);
    let mut answers = rest.split(|&b| b == 0xff);
    let mut turn = 0usize;
    while let Some(next) = run.poll_request() {
        let body = answers.next().unwrap_or(b"");
        let format = FORMATS[(usize::from(selector >> 1) + turn) % FORMATS.len()];
        turn += 1;
        if let Err(e) = run.handle_response(&next.target, code, Some(format), body) {
            let _ = e.to_string();
            return;
        }
    }
    if let Ok(catalog) = run.finish() {
        for name in text.split(['\n', ' ']).take(16) {
            let _ = catalog.resolve(name);
        }
        let _ = catalog.preferred_resources();
        for f in catalog.failures() {
            let _ = f.error.to_string();
        }
    }
});
