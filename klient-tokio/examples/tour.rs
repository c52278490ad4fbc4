//! The klient tour on tokio: what the async client does against a real cluster, step by step.
//!
//! Run it with `./dev tour` (which starts the local control plane and runs every adapter's
//! tour) or `cargo run -p klient-tokio --example tour` against the default kubeconfig chain.
//! Every step checks what it shows and fails the tour otherwise; everything it creates lives in
//! a namespace of its own, deleted at the end.

use std::error::Error;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node};
use klient_tokio::Client;
use klient_tokio::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use klient_tokio::runtime::{watcher, watcher::Event};
use serde_json::json;

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

/// Fails the step with a message unless `$condition` holds.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!($($message)+).into());
        }
    };
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result {
    let client = Client::try_default()?;
    println!("1. connected to {}", client.server());

    let nodes: Api<Node> = Api::all(client.clone());
    let listed = nodes.list(&ListParams::default()).await?;
    println!(
        "2. {} node(s): {:?}",
        listed.items.len(),
        listed
            .items
            .iter()
            .filter_map(|n| n.metadata.name.as_deref())
            .collect::<Vec<_>>()
    );

    let name = format!("klient-tokio-tour-{}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}}))?,
        )
        .await?;
    println!("3. created namespace {name}");
    let outcome = steps(&client, &name).await;
    namespaces.delete(&name, &DeleteParams::default()).await?;
    println!("8. deleted namespace {name}");
    outcome
}

async fn steps(client: &Client, namespace: &str) -> Result {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    // A watch from the namespace's beginning, and a watcher that keeps a view across reconnects.
    let mut watch = cms.watch(&WatchParams::default().labels("tour=yes")).await?;
    let mut view = watcher(cms.clone(), Default::default()).boxed();

    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "greeting", "labels": {"tour": "yes"}}, "data": {"hello": "world"}}),
    )?;
    let created = cms.create(&PostParams::default(), &cm).await?;
    ensure!(
        created.metadata.uid.is_some(),
        "the server gave the ConfigMap no uid"
    );
    println!("4. created ConfigMap greeting");

    let patch = json!({"data": {"hello": "tokio"}});
    let patched = cms
        .patch("greeting", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    ensure!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("hello"))
            .map(String::as_str)
            == Some("tokio"),
        "the patch did not land"
    );
    println!(
        "5. patched it: hello={}",
        patched.data.unwrap_or_default()["hello"]
    );

    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(10), watch.try_next()).await?? {
            Some(WatchEvent::Added(cm)) => {
                seen.push(format!("ADDED {}", cm.metadata.name.unwrap_or_default()))
            }
            Some(WatchEvent::Modified(cm)) => {
                seen.push(format!("MODIFIED {}", cm.metadata.name.unwrap_or_default()))
            }
            // The server may first mark the end of the (empty) initial state.
            Some(WatchEvent::Bookmark(_)) => {}
            Some(other) => seen.push(format!("{other:?}")),
            None => return Err("the watch ended early".into()),
        }
    }
    ensure!(
        seen == ["ADDED greeting", "MODIFIED greeting"],
        "the watch saw {seen:?}"
    );
    println!("6. the watch saw {seen:?}");

    let applied = loop {
        match tokio::time::timeout(Duration::from_secs(10), view.next()).await? {
            Some(Ok(Event::Apply(cm) | Event::InitApply(cm)))
                if cm.data.as_ref().and_then(|d| d.get("hello")).map(String::as_str) == Some("tokio") =>
            {
                break cm;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => return Err("the watcher ended".into()),
        }
    };
    println!(
        "7. the watcher holds {} at resourceVersion {}",
        applied.metadata.name.unwrap_or_default(),
        applied.metadata.resource_version.unwrap_or_default()
    );
    cms.delete("greeting", &DeleteParams::default()).await?;
    Ok(())
}
