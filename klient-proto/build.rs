//! Tells the generated protobuf codecs which Kubernetes version k8s-openapi was built for.
//!
//! k8s-openapi declares `links = "k8s-openapi-<version>"` and publishes the selected Kubernetes
//! version as build metadata (`0x00_01_MM_00` for 1.MM), which cargo hands to the build scripts of
//! crates depending on it as `DEP_K8S_OPENAPI_<version>_VERSION`. The codecs of types whose fields
//! changed between versions are generated once per version and chosen with `cfg(klient_k8s = "1.MM")`.

fn main() {
    println!(
        "cargo::rustc-check-cfg=cfg(klient_k8s, values(\"1.33\", \"1.34\", \"1.35\", \"1.36\", \"1.37\"))"
    );
    let selected = std::env::vars().find_map(|(key, value)| {
        (key.starts_with("DEP_K8S_OPENAPI_") && key.ends_with("_VERSION")).then_some(value)
    });
    if let Some(value) = selected {
        let Ok(encoded) = value.parse::<u32>() else {
            panic!("k8s-openapi published an unreadable version {value:?}");
        };
        let minor = (encoded >> 8) & 0xff;
        println!("cargo::rustc-cfg=klient_k8s=\"1.{minor}\"");
    }
}
