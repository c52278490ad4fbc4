//! Fixtures that klient cannot pass for a reason outside klient, each named with its cause.
//! Any other failure fails the run, and so does a limit here that no fixture of the release
//! under test runs into any more (so the list cannot go stale).

use crate::check::Step;

/// A known failure: a kind stops at one check, in every folder where it meets the cause.
#[derive(Debug)]
pub struct Limit {
    /// `<group>.<version>.<Kind>`.
    pub kind: &'static str,
    /// The check it stops at; the checks before it passed.
    pub step: Step,
    /// The releases (`1.MM`) whose fixtures run into it.
    pub releases: &'static [&'static str],
    /// Why, in a sentence.
    pub cause: &'static str,
}

/// Every known limit.
pub const LIMITS: &[Limit] = &[Limit {
    kind: "policy.v1.PodDisruptionBudget",
    step: Step::JsonDecode,
    releases: &["1.33", "1.34", "1.35", "1.36", "1.37"],
    cause: "status.disruptedPods maps a pod to a zero time, which Go writes as null; \
            k8s-openapi's BTreeMap<String, Time> cannot hold a null (the protobuf checks pass)",
}];

/// The limit that explains `step` failing on `kind` in `release`, if there is one.
pub fn known(kind: &str, step: Step, release: &str) -> Option<&'static Limit> {
    LIMITS
        .iter()
        .find(|limit| limit.kind == kind && limit.step == step && limit.releases.contains(&release))
}
