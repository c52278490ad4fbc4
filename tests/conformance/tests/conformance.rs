//! klient's codecs on k8s-openapi's types against the upstream k8s.io/api round-trip fixtures of
//! the release selected with a `v1_*` feature: `testdata/HEAD` (written by that
//! release) and every older release's folder in the same module (read forward by that release's
//! types). For each kind with a type, the checks of `klient_conformance::check`; kinds without a
//! type are counted and listed, never skipped silently. Run every release with `./dev conformance`.

use std::collections::BTreeSet;
use std::fmt::Debug;

use klient_conformance::RELEASE;
use klient_conformance::check::check_kind;
use klient_conformance::fixtures::{self, Folder};
use klient_conformance::limits::{self, LIMITS, Limit};
use klient_proto::protobuf::{Message, ResourceVisitor, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What one folder's fixtures gave.
struct FolderReport<'a> {
    folder: &'a Folder,
    passed: Vec<String>,
    limited: Vec<(String, &'static Limit, String)>,
    failed: Vec<String>,
    /// Resource types of this release with no fixture in the folder.
    types_without_fixture: Vec<String>,
    /// Fixture names that met a type.
    typed: BTreeSet<String>,
}

impl ResourceVisitor for FolderReport<'_> {
    fn visit<K>(&mut self)
    where
        K: Message
            + Value
            + k8s_openapi::Resource
            + Serialize
            + DeserializeOwned
            + Clone
            + PartialEq
            + Debug
            + 'static,
    {
        let group = if K::GROUP.is_empty() { "core" } else { K::GROUP };
        let name = format!("{group}.{}.{}", K::VERSION, K::KIND);
        let Some(fixture) = self.folder.fixtures.get(&name) else {
            self.types_without_fixture.push(name);
            return;
        };
        self.typed.insert(name.clone());
        match check_kind::<K>(fixture) {
            Ok(()) => self.passed.push(name),
            Err(failure) => match limits::known(&name, &failure, RELEASE) {
                Some(limit) => self.limited.push((name, limit, failure.detail)),
                None => self
                    .failed
                    .push(format!("{name} ({}): {failure}", self.folder.name)),
            },
        }
    }
}

impl FolderReport<'_> {
    fn untyped(&self) -> Vec<&String> {
        self.folder
            .fixtures
            .keys()
            .filter(|name| !self.typed.contains(*name))
            .collect()
    }
}

fn main() {
    let testdata =
        fixtures::testdata_dir(RELEASE).unwrap_or_else(|error| panic!("fixtures for {RELEASE}: {error}"));
    let folders = fixtures::folders(&testdata).unwrap_or_else(|error| panic!("{error}"));
    println!(
        "conformance of Kubernetes {RELEASE} (k8s-openapi v1_{}), fixtures in {}",
        &RELEASE[2..],
        testdata.display()
    );

    let mut reports = Vec::new();
    for folder in &folders {
        let mut report = FolderReport {
            folder,
            passed: Vec::new(),
            limited: Vec::new(),
            failed: Vec::new(),
            types_without_fixture: Vec::new(),
            typed: BTreeSet::new(),
        };
        klient_proto::protobuf::visit_resources(&mut report);
        reports.push(report);
    }

    let mut failures = Vec::new();
    for report in &reports {
        let name = &report.folder.name;
        let untyped = report.untyped();
        println!(
            "  {name}: {} fixture kinds, {} with a type: {} passed every check, {} stop at a known limit, {} failed; {} without a type",
            report.folder.fixtures.len(),
            report.typed.len(),
            report.passed.len(),
            report.limited.len(),
            report.failed.len(),
            untyped.len(),
        );
        for (kind, limit, detail) in &report.limited {
            let first_line = detail.lines().next().unwrap_or_default();
            println!(
                "    known limit: {kind} stops at {:?} ({first_line}): {}",
                limit.step, limit.cause
            );
        }
        // HEAD names every kind without a type; an older folder only those HEAD does not have.
        let listed: Vec<&String> = if name == "HEAD" {
            untyped
        } else {
            let head = &reports[0].folder.fixtures;
            untyped
                .into_iter()
                .filter(|kind| !head.contains_key(*kind))
                .collect()
        };
        if !listed.is_empty() {
            let what = if name == "HEAD" {
                "without a type"
            } else {
                "without a type, not in HEAD"
            };
            println!(
                "    {what}: {}",
                listed.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        if name == "HEAD" && !report.types_without_fixture.is_empty() {
            println!(
                "    resource types without a fixture: {}",
                report.types_without_fixture.join(", ")
            );
        }
        failures.extend(report.failed.iter().cloned());
    }

    let unused: Vec<&Limit> = LIMITS
        .iter()
        .filter(|limit| limit.releases.contains(&RELEASE))
        .filter(|limit| {
            !reports
                .iter()
                .any(|r| r.limited.iter().any(|(_, used, _)| std::ptr::eq(*used, *limit)))
        })
        .collect();
    for limit in &unused {
        failures.push(format!(
            "the known limit of {} no longer occurs in {RELEASE}: remove it",
            limit.kind
        ));
    }
    for failure in &failures {
        println!("FAILED {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} conformance failures in Kubernetes {RELEASE}",
        failures.len()
    );
    assert!(!reports[0].passed.is_empty(), "no kind of HEAD was checked");
}
