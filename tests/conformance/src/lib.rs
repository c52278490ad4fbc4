//! The harness behind `tests/conformance.rs`: where the upstream fixtures come from
//! ([`fixtures`]), what is checked on each kind ([`check`]), how two JSON documents are compared
//! ([`document`]) and the failures whose cause is known and outside klient ([`limits`]).

pub mod check;
pub mod document;
pub mod fixtures;
pub mod limits;

/// The Kubernetes release k8s-openapi was built for (`1.MM`), set by the build script.
pub const RELEASE: &str = env!("KLIENT_K8S_RELEASE");
