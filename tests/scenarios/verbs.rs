//! Every verb and subresource of klient-blocking's `Api<K>` against the real API server, each test
//! in a namespace of its own.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::adapter::Api;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::{ConfigMap, EphemeralContainer, Pod};
use klient_e2e::{Cluster, TestNamespace, admin_client, api_error, kwok_pod, running_pod};
use klient_proto::api::{
    DeleteParams, Deleted, EvictParams, GetParams, JsonPatchOp, ListParams, LogParams, Patch, PatchParams,
    PostParams, Preconditions, StatusReason,
};
use serde_json::json;

fn config_map(name: &str, labels: serde_json::Value, data: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "data": data})).unwrap()
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "busybox"}]},
            },
        },
    }))
    .unwrap()
}

fn data(cm: &ConfigMap) -> BTreeMap<String, String> {
    cm.data.clone().unwrap_or_default()
}

fn names<K: k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>>(
    items: &[K],
) -> Vec<String> {
    let mut names: Vec<String> = items
        .iter()
        .map(|o| o.metadata().name.clone().unwrap_or_default())
        .collect();
    names.sort();
    names
}

#[test]
fn get_list_selectors_create_replace_and_stale_conflict() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "verbs-crud");
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);
        let pp = PostParams::default();
        for (name, tier) in [("a", "front"), ("b", "back"), ("c", "front")] {
            let created =
                w!(cms.create(&pp, &config_map(name, json!({"tier": tier}), json!({"k": name})))).unwrap();
            assert_eq!(created.metadata.namespace.as_deref(), Some(ns.name()));
            assert!(created.metadata.uid.is_some() && created.metadata.resource_version.is_some());
        }
        let b = w!(cms.get("b")).unwrap();
        assert_eq!(data(&b)["k"], "b");
        assert!(w!(cms.get_opt("missing")).unwrap().is_none());
        // A read from the server's cache (resourceVersion=0) sees the same object.
        let cached = w!(cms.get_with("b", &GetParams::any())).unwrap();
        assert_eq!(cached.metadata.uid, b.metadata.uid);

        let labelled = w!(cms.list(&ListParams::default().labels("tier=front"))).unwrap();
        assert_eq!(names(&labelled.items), ["a", "c"]);
        let not_front = w!(cms.list(&ListParams::default().labels("tier,tier!=front"))).unwrap();
        assert_eq!(names(&not_front.items), ["b"]);
        let by_field = w!(cms.list(&ListParams::default().fields("metadata.name=c"))).unwrap();
        assert_eq!(names(&by_field.items), ["c"]);
        let everything = w!(cms.list(&ListParams::default())).unwrap();
        // kube-root-ca.crt is published into every namespace by the controller manager (maybe not yet).
        let ours: Vec<_> = names(&everything.items)
            .into_iter()
            .filter(|n| n != "kube-root-ca.crt")
            .collect();
        assert_eq!(ours, ["a", "b", "c"]);
        assert!(everything.metadata.resource_version.is_some());

        let mut changed = b.clone();
        changed.data = Some(BTreeMap::from([("k".to_owned(), "b2".to_owned())]));
        let replaced = w!(cms.replace("b", &pp, &changed)).unwrap();
        assert_eq!(data(&replaced)["k"], "b2");
        assert_ne!(replaced.metadata.resource_version, b.metadata.resource_version);
        // `changed` still carries the old resourceVersion: the server refuses to overwrite.
        changed.data = Some(BTreeMap::from([("k".to_owned(), "stale".to_owned())]));
        assert_eq!(
            api_error(w!(cms.replace("b", &pp, &changed))),
            (StatusReason::Conflict, 409)
        );
        assert_eq!(data(&w!(cms.get("b")).unwrap())["k"], "b2");
    });
}

#[test]
fn patch_json_merge_strategic_and_server_side_apply() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "verbs-patch");
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);
        w!(cms.create(
            &PostParams::default(),
            &config_map("p", json!({"keep": "yes"}), json!({"a": "1", "b": "2"})),
        ))
        .unwrap();

        // JSON patch: a test that holds, then a replace and a remove.
        let patched = w!(cms.patch(
            "p",
            &PatchParams::default(),
            &Patch::Json(vec![
                JsonPatchOp::Test {
                    path: "/data/a".into(),
                    value: json!("1"),
                },
                JsonPatchOp::Replace {
                    path: "/data/a".into(),
                    value: json!("10"),
                },
                JsonPatchOp::Remove {
                    path: "/data/b".into(),
                },
            ]),
        ))
        .unwrap();
        assert_eq!(data(&patched), BTreeMap::from([("a".into(), "10".into())]));
        // A failing test op makes the whole patch fail and change nothing.
        let failed = w!(cms.patch(
            "p",
            &PatchParams::default(),
            &Patch::Json(json!([{"op": "test", "path": "/data/a", "value": "nope"},
                             {"op": "remove", "path": "/data/a"}])),
        ));
        assert!(failed.is_err(), "{failed:?}");
        assert_eq!(data(&w!(cms.get("p")).unwrap())["a"], "10");

        // Merge patch: null removes, other keys stay.
        let merged = w!(cms.patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"c": "3", "a": null}})),
        ))
        .unwrap();
        assert_eq!(data(&merged), BTreeMap::from([("c".into(), "3".into())]));
        assert_eq!(merged.metadata.labels.unwrap()["keep"], "yes");

        // Strategic merge on a Deployment: the containers list merges by name, so the image stays.
        let deployments: Api<Deployment> = crate::adapter::api(&ns);
        w!(deployments.create(&PostParams::default(), &deployment("web", 0))).unwrap();
        let strategic = w!(deployments.patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "main", "env": [{"name": "MODE", "value": "strategic"}]}
            ]}}}})),
        ))
        .unwrap();
        let containers = strategic.spec.template.spec.unwrap().containers;
        assert_eq!(containers.len(), 1);
        assert_eq!(containers[0].image.as_deref(), Some("busybox"));
        assert_eq!(
            containers[0].env.as_ref().unwrap()[0].value.as_deref(),
            Some("strategic")
        );

        // Server-side apply: manager one owns data.owned; manager two changing it conflicts...
        let applied = w!(cms.patch(
            "ssa",
            &PatchParams::apply("klient-one"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "ssa"}, "data": {"owned": "one"}})),
        ))
        .unwrap();
        assert_eq!(data(&applied)["owned"], "one");
        let managers: Vec<_> = applied
            .metadata
            .managed_fields
            .unwrap()
            .into_iter()
            .filter_map(|m| m.manager)
            .collect();
        assert_eq!(managers, ["klient-one"]);
        let second = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "ssa"}, "data": {"owned": "two"}});
        let conflict = w!(cms.patch(
            "ssa",
            &PatchParams::apply("klient-two"),
            &Patch::Apply(second.clone()),
        ));
        let err = conflict.expect_err("a conflicting apply without force fails");
        let api = err.api().expect("an API error");
        assert_eq!((api.reason.clone(), api.code), (StatusReason::Conflict, 409));
        assert!(
            api.causes()
                .iter()
                .any(|c| c.field.as_deref() == Some(".data.owned")),
            "the conflict names the field: {api:?}"
        );
        // ... unless it forces, which takes the field over.
        let forced = w!(cms.patch(
            "ssa",
            &PatchParams::apply("klient-two").force(),
            &Patch::Apply(second),
        ))
        .unwrap();
        assert_eq!(data(&forced)["owned"], "two");
        let owners: Vec<_> = forced
            .metadata
            .managed_fields
            .unwrap()
            .into_iter()
            .filter(|m| m.operation.as_deref() == Some("Apply"))
            .filter_map(|m| m.manager)
            .collect();
        assert_eq!(owners, ["klient-two"], "klient-one lost its only field");
    });
}

#[test]
fn delete_propagation_preconditions_grace_and_collection() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "verbs-delete");
        let deployments: Api<Deployment> = crate::adapter::api(&ns);
        let replica_sets: Api<ReplicaSet> = crate::adapter::api(&ns);
        let owned_set = async |deployment: &str| {
            let uid = w!(deployments.get(deployment)).unwrap().metadata.uid.unwrap();
            wait_until!(
                &format!("the ReplicaSet of {deployment}"),
                Duration::from_secs(30),
                {
                    w!(replica_sets.list(&ListParams::default().labels(&format!("app={deployment}"))))
                        .ok()?
                        .items
                        .into_iter()
                        .find(|rs| {
                            rs.metadata
                                .owner_references
                                .iter()
                                .flatten()
                                .any(|r| r.uid == uid)
                        })
                },
            )
        };
        for name in ["orphan", "background", "foreground"] {
            w!(deployments.create(&PostParams::default(), &deployment(name, 0))).unwrap();
        }

        // Orphan: the ReplicaSet stays, without its owner reference.
        let rs = owned_set("orphan").await;
        w!(deployments.delete("orphan", &DeleteParams::orphan())).unwrap();
        wait_until!("orphan deleted", Duration::from_secs(30), {
            w!(deployments.get_opt("orphan")).unwrap().is_none().then_some(())
        });
        let rs_name = rs.metadata.name.unwrap();
        wait_until!(
            "the orphaned ReplicaSet loses its owner",
            Duration::from_secs(30),
            {
                let rs = w!(replica_sets.get(&rs_name)).ok()?;
                rs.metadata
                    .owner_references
                    .unwrap_or_default()
                    .is_empty()
                    .then_some(())
            },
        );

        // Background: the owner goes at once, the garbage collector removes the ReplicaSet after.
        let rs_name = owned_set("background").await.metadata.name.unwrap();
        let deleted = w!(deployments.delete("background", &DeleteParams::background())).unwrap();
        // Nothing holds it (no finalizer): the server says so with a Success Status.
        assert!(
            matches!(&deleted, Deleted::Status(s) if s.is_success()),
            "{deleted:?}"
        );
        assert!(w!(deployments.get_opt("background")).unwrap().is_none());
        wait_until!(
            "the background ReplicaSet collected",
            Duration::from_secs(30),
            w!(replica_sets.get_opt(&rs_name))
                .unwrap()
                .is_none()
                .then_some(()),
        );

        // Foreground: the owner stays, marked and held by a finalizer, until its dependents are gone.
        let rs_name = owned_set("foreground").await.metadata.name.unwrap();
        let Deleted::Object(marked) =
            w!(deployments.delete("foreground", &DeleteParams::foreground())).unwrap()
        else {
            panic!("a foreground delete returns the object it marked");
        };
        assert!(marked.metadata.deletion_timestamp.is_some());
        assert!(
            marked
                .metadata
                .finalizers
                .unwrap_or_default()
                .contains(&"foregroundDeletion".to_owned()),
            "foreground deletion adds its finalizer"
        );
        wait_until!("foreground deletion completes", Duration::from_secs(30), {
            (w!(deployments.get_opt("foreground")).unwrap().is_none()
                && w!(replica_sets.get_opt(&rs_name)).unwrap().is_none())
            .then_some(())
        });

        // Preconditions: a wrong uid refuses the delete.
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);
        let cm = w!(cms.create(
            &PostParams::default(),
            &config_map("guarded", json!({}), json!({})),
        ))
        .unwrap();
        let wrong = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some("00000000-0000-0000-0000-000000000000".into()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        assert_eq!(
            api_error(w!(cms.delete("guarded", &wrong))),
            (StatusReason::Conflict, 409)
        );
        let right = DeleteParams {
            preconditions: Some(Preconditions {
                uid: cm.metadata.uid.clone(),
                resource_version: cm.metadata.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        w!(cms.delete("guarded", &right)).unwrap();
        assert!(w!(cms.get_opt("guarded")).unwrap().is_none());

        // Grace period: a running pod deleted with 30 s is marked with that period; with 0 it goes at once.
        let pods: Api<Pod> = crate::adapter::api(&ns);
        running_pod(&ns.api(), "graceful");
        let Deleted::Object(pod) =
            w!(pods.delete("graceful", &DeleteParams::default().grace_period(30))).unwrap()
        else {
            panic!("deleting a running pod gracefully returns the pod");
        };
        assert_eq!(pod.metadata.deletion_grace_period_seconds, Some(30));
        assert!(pod.metadata.deletion_timestamp.is_some());
        running_pod(&ns.api(), "now");
        w!(pods.delete("now", &DeleteParams::default().grace_period(0))).unwrap();
        assert!(
            w!(pods.get_opt("now")).unwrap().is_none(),
            "grace period 0 deletes at once"
        );

        // delete_collection removes exactly what the selector picks.
        for (name, doomed) in [("d1", "yes"), ("d2", "yes"), ("d3", "yes"), ("kept", "no")] {
            w!(cms.create(
                &PostParams::default(),
                &config_map(name, json!({"doomed": doomed}), json!({})),
            ))
            .unwrap();
        }
        let gone = w!(cms.delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("doomed=yes"),
        ))
        .unwrap();
        let Deleted::Object(list) = gone else {
            panic!("delete_collection returns the deleted list")
        };
        assert_eq!(names(&list.items), ["d1", "d2", "d3"]);
        let left = w!(cms.list(&ListParams::default().labels("doomed"))).unwrap();
        assert_eq!(names(&left.items), ["kept"]);
    });
}

#[test]
fn dry_run_create_patch_delete_persist_nothing() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "verbs-dryrun");
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);
        let dry = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        let would_be = w!(cms.create(&dry, &config_map("dry", json!({}), json!({"x": "1"})))).unwrap();
        assert_eq!(data(&would_be)["x"], "1");
        assert!(
            would_be.metadata.uid.is_some(),
            "a dry run fills in what the server would"
        );
        assert!(
            w!(cms.get_opt("dry")).unwrap().is_none(),
            "a dry-run create persists nothing"
        );

        w!(cms.create(
            &PostParams::default(),
            &config_map("real", json!({}), json!({"x": "1"})),
        ))
        .unwrap();
        let patched = w!(cms.patch(
            "real",
            &PatchParams::default().dry_run(),
            &Patch::Merge(json!({"data": {"x": "2"}})),
        ))
        .unwrap();
        assert_eq!(data(&patched)["x"], "2");
        assert_eq!(
            data(&w!(cms.get("real")).unwrap())["x"],
            "1",
            "a dry-run patch changes nothing"
        );
        let applied = w!(cms.patch(
            "real",
            // `klient` (create's default manager) owns data.x: take it over, in a dry run only.
            &PatchParams::apply("klient-dry").force().dry_run(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "real"}, "data": {"x": "3"}})),
        ))
        .unwrap();
        assert_eq!(data(&applied)["x"], "3");
        assert_eq!(
            data(&w!(cms.get("real")).unwrap())["x"],
            "1",
            "a dry-run apply changes nothing"
        );

        w!(cms.delete("real", &DeleteParams::default().dry_run())).unwrap();
        assert!(
            w!(cms.get_opt("real")).unwrap().is_some(),
            "a dry-run delete deletes nothing"
        );
    });
}

#[test]
fn status_subresource_get_replace_patch() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "verbs-status");
        // A pod bound to no node: no kubelet or scheduler writes its status, so what we write stays.
        let pods: Api<Pod> = crate::adapter::api(&ns);
        let mut pod = kwok_pod("unbound", json!({}));
        pod.spec.as_mut().unwrap().node_name = None;
        w!(pods.create(&PostParams::default(), &pod)).unwrap();

        let mut current = w!(pods.get_status("unbound")).unwrap();
        assert_eq!(current.metadata.name.as_deref(), Some("unbound"));
        current.status.get_or_insert_with(Default::default).message = Some("from replace_status".into());
        // The status endpoint ignores spec changes.
        current.spec.as_mut().unwrap().active_deadline_seconds = Some(99);
        let replaced = w!(pods.replace_status("unbound", &PostParams::default(), &current)).unwrap();
        assert_eq!(
            replaced.status.unwrap().message.as_deref(),
            Some("from replace_status")
        );
        assert_eq!(replaced.spec.unwrap().active_deadline_seconds, None);

        let patched = w!(pods.patch_status(
            "unbound",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"reason": "KlientPatched", "message": "from patch_status"}})),
        ))
        .unwrap();
        let status = patched.status.unwrap();
        assert_eq!(status.reason.as_deref(), Some("KlientPatched"));
        let stored = w!(pods.get("unbound")).unwrap().status.unwrap();
        assert_eq!(stored.message.as_deref(), Some("from patch_status"));

        // A Deployment's status, written by the controller manager.
        let deployments: Api<Deployment> = crate::adapter::api(&ns);
        w!(deployments.create(&PostParams::default(), &deployment("d", 0))).unwrap();
        wait_until!("the deployment's observed generation", Duration::from_secs(30), {
            let status = w!(deployments.get_status("d")).ok()?.status?;
            (status.observed_generation == Some(1)).then_some(())
        },);
    });
}

#[test]
fn scale_subresource_changes_replicas() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "verbs-scale");
        let deployments: Api<Deployment> = crate::adapter::api(&ns);
        w!(deployments.create(&PostParams::default(), &deployment("web", 1))).unwrap();
        let scale: Scale = w!(deployments.get_scale("web")).unwrap();
        assert_eq!(scale.spec.unwrap().replicas, Some(1));
        assert_eq!(scale.metadata.name.as_deref(), Some("web"));

        let scaled: Scale = w!(deployments.patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        ))
        .unwrap();
        assert_eq!(scaled.spec.unwrap().replicas, Some(3));
        assert_eq!(w!(deployments.get("web")).unwrap().spec.replicas, Some(3));

        // The controller manager writes the deployment's status meanwhile, which moves its
        // resourceVersion on: read, modify, write, and again on Conflict, as any client must.
        let mut attempts = 0;
        let replaced: Scale = loop {
            let mut scale: Scale = w!(deployments.get_scale("web")).unwrap();
            scale.spec.as_mut().unwrap().replicas = Some(2);
            match w!(deployments.replace_scale("web", &PostParams::default(), &scale)) {
                Ok(replaced) => break replaced,
                Err(e) if e.api().is_some_and(|api| api.is_conflict()) && attempts < 10 => attempts += 1,
                Err(e) => panic!("replace_scale: {e}"),
            }
        };
        assert_eq!(replaced.spec.unwrap().replicas, Some(2));

        // The controller manager follows: a ReplicaSet with two replicas appears.
        let replica_sets: Api<ReplicaSet> = crate::adapter::api(&ns);
        wait_until!("a ReplicaSet scaled to 2", Duration::from_secs(30), {
            w!(replica_sets.list(&ListParams::default().labels("app=web")))
                .ok()?
                .items
                .into_iter()
                .find(|rs| rs.spec.replicas == Some(2))
        });
    });
}

#[test]
fn eviction_removes_a_running_pod() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "verbs-evict");
        let pods: Api<Pod> = crate::adapter::api(&ns);
        running_pod(&ns.api(), "victim");
        let status = w!(pods.evict("victim", &EvictParams::default())).unwrap();
        assert!(status.is_success(), "{status:?}");
        wait_until!("the evicted pod gone", Duration::from_secs(30), {
            w!(pods.get_opt("victim")).unwrap().is_none().then_some(())
        });
        assert_eq!(
            api_error(w!(pods.evict("victim", &EvictParams::default()))),
            (StatusReason::NotFound, 404)
        );
    });
}

#[test]
fn ephemeral_containers_are_added_through_the_subresource() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "verbs-ephemeral");
        let pods: Api<Pod> = crate::adapter::api(&ns);
        running_pod(&ns.api(), "target");
        let mut pod = w!(pods.get_ephemeral_containers("target")).unwrap();
        assert!(pod.spec.as_ref().unwrap().ephemeral_containers.is_none());
        let debugger: EphemeralContainer = serde_json::from_value(json!({
            "name": "debugger", "image": "busybox", "command": ["sh"], "stdin": true, "tty": true,
            "targetContainerName": "main",
        }))
        .unwrap();
        pod.spec.as_mut().unwrap().ephemeral_containers = Some(vec![debugger]);
        let updated = w!(pods.replace_ephemeral_containers("target", &PostParams::default(), &pod)).unwrap();
        let names: Vec<_> = updated
            .spec
            .unwrap()
            .ephemeral_containers
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["debugger"]);

        let patched = w!(pods.patch_ephemeral_containers(
            "target",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"ephemeralContainers": [
                {"name": "second", "image": "busybox", "targetContainerName": "main"}
            ]}})),
        ))
        .unwrap();
        let mut names: Vec<_> = patched
            .spec
            .unwrap()
            .ephemeral_containers
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        names.sort();
        assert_eq!(names, ["debugger", "second"]);
        let spec = w!(pods.get("target")).unwrap().spec.unwrap();
        assert_eq!(spec.ephemeral_containers.unwrap().len(), 2);
        assert_eq!(spec.containers.len(), 1, "the pod's own containers are untouched");
    });
}

#[test]
fn logs_with_every_option_and_a_followed_stream() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "verbs-logs");
        let pods: Api<Pod> = crate::adapter::api(&ns);
        running_pod(&ns.api(), "talker");
        let all = "klient log line 1\nklient log line 2\nklient log line 3\n";
        assert_eq!(w!(pods.logs("talker", &LogParams::default())).unwrap(), all);
        let main = LogParams {
            container: Some("main".into()),
            ..LogParams::default()
        };
        assert_eq!(w!(pods.logs("talker", &main)).unwrap(), all);
        let tail = LogParams {
            tail_lines: Some(1),
            ..main.clone()
        };
        assert_eq!(w!(pods.logs("talker", &tail)).unwrap(), "klient log line 3\n");
        // The lines were written on 2026-01-01: nothing is newer than a minute.
        let recent = LogParams {
            since_seconds: Some(60),
            ..main.clone()
        };
        assert_eq!(w!(pods.logs("talker", &recent)).unwrap(), "");
        let since_time = LogParams {
            since_time: Some("2026-01-01T00:00:01Z".into()),
            ..main.clone()
        };
        assert_eq!(
            w!(pods.logs("talker", &since_time)).unwrap(),
            "klient log line 2\nklient log line 3\n"
        );
        let stamped = LogParams {
            timestamps: true,
            ..main.clone()
        };
        assert_eq!(
            w!(pods.logs("talker", &stamped)).unwrap(),
            "2026-01-01T00:00:00.000000000Z klient log line 1\n\
         2026-01-01T00:00:01.000000000Z klient log line 2\n\
         2026-01-01T00:00:02.000000000Z klient log line 3\n"
        );
        let limited = LogParams {
            limit_bytes: Some(10),
            ..main.clone()
        };
        assert_eq!(w!(pods.logs("talker", &limited)).unwrap(), "klient log");
        let missing = LogParams {
            container: Some("nope".into()),
            ..LogParams::default()
        };
        assert_eq!(api_error(w!(pods.logs("talker", &missing))).1, 400);

        // Following: the stream stays open after the three lines; we read them and hang up.
        let follow = LogParams { follow: true, ..main };
        let mut stream = w!(pods.log_stream("talker", &follow)).unwrap();
        let mut text = Vec::new();
        while text.iter().filter(|&&b| b == b'\n').count() < 3 {
            let chunk = next!(stream).expect("more of the log").expect("readable");
            text.extend_from_slice(&chunk);
        }
        let lines: Vec<String> = String::from_utf8(text)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            lines,
            ["klient log line 1", "klient log line 2", "klient log line 3"]
        );
    });
}
