//! Response bodies from the API server (or whatever sits in front of it) must never panic the
//! decoders, whatever the status code; request builders must never panic on any name.
#![no_main]

use klient_proto::api::{
    ApiResource, DynamicObject, GetParams, ListParams, ObjectList, Request, Scope, decode,
    decode_delete, decode_error,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let code = match selector % 4 {
        0 => 200,
        1 => 404,
        2 => 410,
        _ => 500 + u16::from(selector),
    };
    let err = decode_error(code, body);
    let _ = err.to_string();
    let _ = decode::<ObjectList<DynamicObject>>(code, body);
    let _ = decode_delete::<DynamicObject>(code, body);

    // The same bytes as a namespace, a name and a label selector.
    let text = String::from_utf8_lossy(body);
    let mut parts = text.splitn(3, '\n');
    let (ns, name, selector) = (parts.next(), parts.next(), parts.next());
    let ar = ApiResource::new("example.com", "v1", "Thing", "things", Scope::Namespaced);
    if let Ok(req) = Request::from_api_resource(&ar, ns) {
        let _ = req.get(name.unwrap_or(""), &GetParams::default());
        let _ = req.list(&ListParams::default().labels(selector.unwrap_or("")));
    }
});
