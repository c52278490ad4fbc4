//! Fixtures that klient cannot pass for a reason outside klient, each named with its cause.
//! Any other failure fails the run, and so does a limit here that no fixture of the release
//! under test runs into any more (so the list cannot go stale).

use crate::check::{Failure, Step};

/// A known failure: a kind stops at one check, with one difference, in every folder where it meets
/// the cause.
#[derive(Debug)]
pub struct Limit {
    /// `<group>.<version>.<Kind>`.
    pub kind: &'static str,
    /// The check it stops at; the checks before it passed.
    pub step: Step,
    /// Text the failure's detail contains (the field that differs), so that another difference in
    /// the same kind is still a failure.
    pub detail: &'static str,
    /// The releases (`1.MM`) whose fixtures run into it.
    pub releases: &'static [&'static str],
    /// Why, in a sentence.
    pub cause: &'static str,
}

/// Every known limit. Each is a place where k8s-openapi's type cannot say what Go's says; the
/// protobuf checks (klient's own codecs) pass on every one of them.
pub static LIMITS: &[Limit] = &[
    Limit {
        kind: "policy.v1.PodDisruptionBudget",
        step: Step::JsonDecode,
        detail: "null",
        releases: &["1.33", "1.34", "1.35", "1.36", "1.37"],
        cause: "status.disruptedPods maps a pod to a zero time, which Go writes as null; \
                k8s-openapi's BTreeMap<String, Time> cannot hold a null",
    },
    Limit {
        kind: "resource.k8s.io.v1alpha3.DeviceTaintRule",
        step: Step::JsonReencode,
        detail: ".status: ours absent, fixture {}",
        releases: &["1.35", "1.36", "1.37"],
        cause: "status (added in 1.35) is a Go value struct, which Go's JSON writes as {} even when \
                empty; k8s-openapi holds it as an Option that stays None when older JSON lacks it",
    },
    Limit {
        kind: "storage.k8s.io.v1.CSINode",
        step: Step::JsonReencode,
        detail: ".status: ours absent, fixture {}",
        releases: &["1.37"],
        cause: "status (added in 1.37) is a Go value struct, which Go's JSON writes as {} even when \
                empty; k8s-openapi holds it as an Option that stays None when older JSON lacks it",
    },
    Limit {
        kind: "certificates.k8s.io.v1beta1.PodCertificateRequest",
        step: Step::JsonReencode,
        detail: ".spec.stubPKCS10Request: ours \"\", fixture null",
        releases: &["1.36", "1.37"],
        cause: "stubPKCS10Request (added in 1.36) is a Go []byte without omitempty, which Go's JSON \
                writes as null when nil; k8s-openapi holds it as a required ByteString, written as \"\"",
    },
];

/// The limit that explains `failure` of `kind` in `release`, if there is one.
pub fn known(kind: &str, failure: &Failure, release: &str) -> Option<&'static Limit> {
    LIMITS.iter().find(|limit| {
        limit.kind == kind
            && limit.step == failure.step
            && failure.detail.contains(limit.detail)
            && limit.releases.contains(&release)
    })
}
