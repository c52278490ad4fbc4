//! Tells the harness which Kubernetes release k8s-openapi was built for (chosen with one of the
//! crate's `v1_*` features), so it reads the fixtures of that release.
//!
//! k8s-openapi publishes the selected version as links metadata (`0x00_01_MM_00` for 1.MM), which
//! cargo hands to the build scripts of its direct dependents as `DEP_K8S_OPENAPI_<v>_VERSION`.

fn main() {
    let selected = std::env::vars().find_map(|(key, value)| {
        (key.starts_with("DEP_K8S_OPENAPI_") && key.ends_with("_VERSION")).then_some(value)
    });
    let Some(value) = selected else {
        panic!("k8s-openapi published no version: build with one of the features v1_33 ... v1_37");
    };
    let Ok(encoded) = value.parse::<u32>() else {
        panic!("k8s-openapi published an unreadable version {value:?}");
    };
    let (major, minor) = ((encoded >> 16) & 0xff, (encoded >> 8) & 0xff);
    println!("cargo::rustc-env=KLIENT_K8S_RELEASE={major}.{minor}");
}
