//! What kube-runtime users reach for on top of a watcher: its events as the objects they touch
//! ([`WatchStreamExt`]), and waiting until one object meets a condition ([`await_condition`]).

use futures_core::Stream;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use klient_proto::api::Resource;
use klient_proto::watch::Event;
use serde::de::DeserializeOwned;

use crate::runtime::Runtime;
use crate::watch::{WatchConfig, watcher};
use crate::{Api, Result};

/// Stream adapters for a [`watcher`]'s events, with kube-runtime's names. (The watcher backs
/// off between failed attempts by itself, as its [`WatchConfig`] says, so there is no
/// `default_backoff` to add.)
pub trait WatchStreamExt<K>: Stream<Item = Result<Event<K>>> + Sized + Send + 'static
where
    K: Send + 'static,
{
    /// The objects created or changed, the initial set's included; deletions are left out.
    fn applied_objects(self) -> BoxStream<'static, Result<K>> {
        self.filter_map(|event| async move {
            match event {
                Ok(Event::Apply(object) | Event::InitApply(object)) => Some(Ok(object)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            }
        })
        .boxed()
    }

    /// Runs `change` on every object the events carry before they go on (client-go's
    /// `SetTransform`, kube's `modify`): strip what the program never reads, so that a store fed
    /// from here keeps less — e.g. `.modify(|pod| pod.strip_managed_fields())`
    /// ([`ResourceExt::strip_managed_fields`](klient_proto::api::ResourceExt::strip_managed_fields)).
    fn modify(self, mut change: impl FnMut(&mut K) + Send + 'static) -> BoxStream<'static, Result<Event<K>>> {
        self.map(move |event| {
            event.map(|mut event| {
                event.modify(&mut change);
                event
            })
        })
        .boxed()
    }

    /// Every object the events touch: created, changed, in the initial set, or deleted (its
    /// last state).
    fn touched_objects(self) -> BoxStream<'static, Result<K>> {
        self.filter_map(|event| async move {
            match event {
                Ok(Event::Apply(object) | Event::InitApply(object) | Event::Delete(object)) => {
                    Some(Ok(object))
                }
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            }
        })
        .boxed()
    }
}

impl<K: Send + 'static, S> WatchStreamExt<K> for S where
    S: Stream<Item = Result<Event<K>>> + Sized + Send + 'static
{
}

/// Watches the object `name` until `condition` holds for it (`None` while it does not exist, or
/// once it is deleted) and returns it as it then was. A watcher under the hood, so it survives
/// expiries and reconnects; a failure of the watch is returned. Wrap it in the runtime's
/// timeout to bound the wait.
pub async fn await_condition<K, R>(
    api: Api<K, R>,
    name: &str,
    mut condition: impl FnMut(Option<&K>) -> bool,
) -> Result<Option<K>>
where
    K: Resource + DeserializeOwned + Clone + Send + Sync + 'static,
    R: Runtime,
{
    let config = WatchConfig::default().fields(&format!("metadata.name={name}"));
    let mut events = watcher(api, config);
    // The object as the watcher last saw it; the initial set is judged once it is complete.
    let mut current: Option<K> = None;
    let mut initial = true;
    while let Some(event) = events.next().await {
        match event? {
            Event::Init => current = None,
            Event::InitApply(object) => current = Some(object),
            Event::InitDone => initial = false,
            Event::Apply(object) => current = Some(object),
            Event::Delete(_) => current = None,
            // An event kind a later klient adds: nothing to judge.
            _ => continue,
        }
        if !initial && condition(current.as_ref()) {
            return Ok(current);
        }
    }
    // The watcher never ends by itself.
    Ok(current)
}
