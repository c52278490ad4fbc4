//! `Api<K, R>`: the typed verbs for one kind in one namespace (or across all of them). Every request
//! is built and every response decoded by [`klient_proto::api`]; this file only sends them.

use std::fmt::Debug;
use std::marker::PhantomData;

use klient_proto::api::modify::ReadModifyWrite;
use klient_proto::api::{
    ApiResource, Decodable, DeleteParams, Deleted, DynamicObject, DynamicResourceScope, EvictParams, Format,
    GetParams, ListBody, ListMeta, ListParams, ListProgress, LogParams, NamespaceResourceScope, ObjectList,
    Patch, PatchParams, PostParams, Request, Resource, RootScope, Status, decode_delete_negotiated,
    decode_negotiated,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};

use crate::runtime::Runtime;
use crate::{BodyStream, Client, Error, Result};

/// The verbs of one kind, in one namespace or across all namespaces (or cluster-scoped).
///
///
/// # JSON or protobuf
///
/// The same k8s-openapi values travel as JSON (the default) or as Kubernetes protobuf, about half
/// the bytes and a fraction of the decoding work, which matters when listing and watching
/// thousands of objects. Choose per client ([`Config::format`](crate::Config::format)) or per
/// `Api` ([`protobuf`](Self::protobuf), [`json`](Self::json)). With protobuf, reads, lists,
/// watches and the bodies of `create`/`replace` are protobuf; patches stay JSON or YAML as the
/// API requires; every answer is decoded by its `Content-Type`, so kinds the server has no
/// protobuf for (custom resources, [`DynamicObject`]) simply stay on JSON.
///
///
/// # Scope
///
/// As in kube, the constructors follow the kind's scope, [`Resource::Scope`]:
/// [`namespaced`](Self::namespaced) and [`default_namespaced`](Self::default_namespaced) accept
/// only namespaced kinds and [`all`](Self::all) any kind with URLs of its own (a cluster-scoped
/// kind, or a namespaced kind across all namespaces, to list and watch), at compile time.
/// Kinds whose scope is known only at run time ([`DynamicObject`]) use
/// [`namespaced_with`](Self::namespaced_with) and [`all_with`](Self::all_with), which check the
/// [`ApiResource`]'s scope and return an error when it does not fit. No constructor panics: a
/// namespace that cannot be a path segment (`""`, `"a/b"`) makes every call of the `Api` return
/// [`Error::Request`](crate::Error::Request) (or [`try_namespaced`](Self::try_namespaced) says so
/// at once).
pub struct Api<K, R: Runtime> {
    client: Client<R>,
    request: Request,
    _kind: PhantomData<fn() -> K>,
}

impl<K, R: Runtime> Clone for Api<K, R> {
    fn clone(&self) -> Self {
        Api {
            client: self.client.clone(),
            request: self.request.clone(),
            _kind: PhantomData,
        }
    }
}

impl<K, R: Runtime> Debug for Api<K, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("kind", &self.request.kind())
            .field("namespace", &self.request.namespace())
            .finish()
    }
}

impl<K: Resource<DynamicType = ()>, R: Runtime> Api<K, R> {
    /// The kind in `namespace`. Only namespaced kinds compile:
    ///
    ///
    ///
    /// A `namespace` that cannot be a path segment does not panic: every call of the `Api`
    /// returns that error ([`try_namespaced`](Self::try_namespaced) returns it at once).
    pub fn namespaced(client: Client<R>, namespace: &str) -> Self
    where
        K: Resource<Scope = NamespaceResourceScope>,
    {
        Self::from_request(client, Request::new_deferred::<K>(&(), Some(namespace)))
    }

    /// The kind in `namespace`, or an error when `namespace` cannot be a path segment.
    pub fn try_namespaced(client: Client<R>, namespace: &str) -> Result<Self>
    where
        K: Resource<Scope = NamespaceResourceScope>,
    {
        Ok(Self::from_request(client, Request::namespaced::<K>(namespace)?))
    }

    /// The kind in the kubeconfig context's namespace (only namespaced kinds compile).
    pub fn default_namespaced(client: Client<R>) -> Self
    where
        K: Resource<Scope = NamespaceResourceScope>,
    {
        let namespace = client.default_namespace().to_owned();
        Self::namespaced(client, &namespace)
    }

    /// A cluster-scoped kind, or a namespaced kind across all namespaces (to list and watch:
    /// its objects are read, written and deleted through an [`Api::namespaced`]).
    ///
    ///
    /// Subresource kinds have no URLs of their own (use [`Api::evict`], [`Api::get_scale`]...)
    /// and do not compile:
    ///
    pub fn all(client: Client<R>) -> Self
    where
        K::Scope: RootScope,
    {
        Self::from_request(client, Request::new_deferred::<K>(&(), None))
    }
}

impl<K: Resource, R: Runtime> Api<K, R> {
    /// Any kind, described by `dyntype`, across the cluster: a cluster-scoped kind, or a
    /// namespaced kind across all namespaces (to list and watch). An error when the kind is a
    /// subresource or its URL segments are invalid.
    pub fn all_with(client: Client<R>, dyntype: &K::DynamicType) -> Result<Self> {
        Ok(Self::from_request(client, Request::new::<K>(dyntype, None)?))
    }

    /// A kind known only at run time ([`DynamicObject`]) in `namespace`: an error when its
    /// scope, as `dyntype` says it, is not namespaced
    /// ([`RequestError::NamespaceNotAllowed`](klient_proto::api::RequestError::NamespaceNotAllowed),
    /// [`NotARootResource`](klient_proto::api::RequestError::NotARootResource)) or `namespace`
    /// cannot be a path segment. Kinds known at compile time use [`Api::namespaced`].
    ///
    pub fn namespaced_with(client: Client<R>, namespace: &str, dyntype: &K::DynamicType) -> Result<Self>
    where
        K: Resource<Scope = DynamicResourceScope>,
    {
        Ok(Self::from_request(
            client,
            Request::new::<K>(dyntype, Some(namespace))?,
        ))
    }

    /// [`namespaced_with`](Self::namespaced_with) in the kubeconfig context's namespace.
    pub fn default_namespaced_with(client: Client<R>, dyntype: &K::DynamicType) -> Result<Self>
    where
        K: Resource<Scope = DynamicResourceScope>,
    {
        let namespace = client.default_namespace().to_owned();
        Self::namespaced_with(client, &namespace, dyntype)
    }

    fn from_request(client: Client<R>, request: Request) -> Self {
        Api {
            request: request.with_format(client.config().format),
            client,
            _kind: PhantomData,
        }
    }
}

impl<R: Runtime> Api<DynamicObject, R> {
    /// A kind known only at run time (a custom resource, say), in `namespace` or, with `None`, across
    /// all namespaces or cluster-scoped: [`namespaced_with`](Api::namespaced_with) or
    /// [`all_with`](Api::all_with).
    pub fn dynamic(client: Client<R>, resource: &ApiResource, namespace: Option<&str>) -> Result<Self> {
        match namespace {
            Some(namespace) => Self::namespaced_with(client, namespace, resource),
            None => Self::all_with(client, resource),
        }
    }
}

impl<K, R: Runtime> Api<K, R> {
    /// This API preferring `format` (see [JSON or protobuf](Api#json-or-protobuf)). Protobuf is
    /// honoured for kinds that have it; custom resources stay on JSON.
    pub fn with_format(mut self, format: Format) -> Self {
        self.request = self.request.with_format(format);
        self
    }

    /// This API preferring protobuf, for kinds that have it.
    pub fn protobuf(self) -> Self {
        self.with_format(Format::Protobuf)
    }

    /// This API speaking JSON.
    pub fn json(self) -> Self {
        self.with_format(Format::Json)
    }

    /// The format this API prefers (JSON for kinds without protobuf, whatever was asked).
    pub fn format(&self) -> Format {
        self.request.format()
    }

    /// The client this API uses.
    pub fn client(&self) -> &Client<R> {
        &self.client
    }

    /// The namespace, when this API addresses one.
    pub fn namespace(&self) -> Option<&str> {
        self.request.namespace()
    }

    /// The request builder of this kind and namespace, for calls this type does not wrap.
    pub fn request_builder(&self) -> &Request {
        &self.request
    }
}

impl<K: Resource + DeserializeOwned, R: Runtime> Api<K, R> {
    /// Sends a request and decodes the answer in the format the server chose.
    async fn call<T: Decodable>(&self, request: http::Request<Vec<u8>>) -> Result<T> {
        let response = self.client.send(request).await?;
        Ok(decode_negotiated(
            response.status.as_u16(),
            response.content_type(),
            &response.body,
        )?)
    }

    async fn call_delete<T: Decodable>(&self, request: http::Request<Vec<u8>>) -> Result<Deleted<T>> {
        let response = self.client.send(request).await?;
        Ok(decode_delete_negotiated(
            response.status.as_u16(),
            response.content_type(),
            &response.body,
        )?)
    }

    /// Reads one object.
    pub async fn get(&self, name: &str) -> Result<K> {
        self.call(self.request.get(name, &GetParams::default())?).await
    }

    /// Reads one object with options (e.g. a resourceVersion to read from the cache).
    pub async fn get_with(&self, name: &str, params: &GetParams) -> Result<K> {
        self.call(self.request.get(name, params)?).await
    }

    /// Reads one object, `None` when it does not exist.
    pub async fn get_opt(&self, name: &str) -> Result<Option<K>> {
        match self.get(name).await {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.api().is_some_and(|api| api.is_not_found()) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists one page of objects (set `limit` and `continue_token` to page by hand).
    pub async fn list(&self, params: &ListParams) -> Result<ObjectList<K>> {
        let mut page = self.list_reader(params).await?;
        let mut items = Vec::new();
        while let Some(item) = page.next_item().await? {
            items.push(item);
        }
        Ok(ObjectList {
            metadata: page.metadata.unwrap_or_default(),
            items,
        })
    }

    /// One list request, its body decoded item by item as it arrives.
    pub(crate) async fn list_reader(&self, params: &ListParams) -> Result<ListReader<K>> {
        let body = self.client.send_in_pieces(self.request.list(params)?).await?;
        Ok(ListReader {
            list: ListBody::new(body.status().as_u16(), body.content_type()),
            body,
            metadata: None,
        })
    }

    /// Every object, fetched page by page as the iterator is driven (`params.limit` is the page
    /// size; 500 when unset).
    pub fn list_pages(&self, params: &ListParams) -> BoxStream<'_, Result<K>>
    where
        K: Send,
    {
        let mut params = params.clone();
        params.limit.get_or_insert(500);
        // The state: the parameters of the next page (`None` after the last), and the page being
        // read.
        let pages = stream::unfold(
            (Some(params), None::<ListReader<K>>),
            move |(mut next, mut current)| async move {
                loop {
                    if let Some(page) = &mut current {
                        match page.next_item().await {
                            Ok(Some(object)) => return Some((Ok(object), (next, current))),
                            Ok(None) => {
                                let token = page.metadata.as_ref().and_then(ListMeta::next_page);
                                match (next.as_mut(), token) {
                                    (Some(params), Some(token)) => {
                                        params.continue_token = Some(token.to_owned())
                                    }
                                    _ => next = None,
                                }
                                current = None;
                            }
                            Err(e) => return Some((Err(e), (None, None))),
                        }
                        continue;
                    }
                    let params = next.as_ref()?;
                    match self.list_reader(params).await {
                        Ok(page) => current = Some(page),
                        Err(e) => return Some((Err(e), (None, None))),
                    }
                }
            },
        );
        Box::pin(pages)
    }

    /// Creates an object.
    pub async fn create(&self, params: &PostParams, object: &K) -> Result<K>
    where
        K: Serialize,
    {
        self.call(self.request.create_object(params, object)?).await
    }

    /// Replaces an object; its resourceVersion guards against overwriting a newer one (a
    /// Conflict error). The whole typed value is sent: fields the Rust type does not know (a
    /// newer server's) are erased on the server. [`modify`](Self::modify) sends only a change
    /// and keeps them.
    pub async fn replace(&self, name: &str, params: &PostParams, object: &K) -> Result<K>
    where
        K: Serialize,
    {
        self.call(self.request.replace_object(name, params, object)?)
            .await
    }

    /// Changes an object without losing what its Rust type does not know: reads `name`, lets
    /// `change` modify the typed value, and sends the server **only what `change` did**, as a
    /// JSON patch guarded by the resourceVersion read. The server applies it to the object it
    /// stores, so fields the type lacks (added by a newer server, a webhook, a controller) are
    /// kept, in lists too: list items are matched by the keys the server's OpenAPI document gives
    /// (read once per kind; for a CustomResourceDefinition created a moment ago, whose schema the
    /// server has not published yet, the read waits up to 6.3 s for it), so an inserted or
    /// removed item shifts no other. When someone else
    /// wrote in between (a Conflict), the object is read again and `change` runs again on it, up
    /// to five attempts. Returns the object as the server stored it (or as read, when `change`
    /// changed nothing and nothing was sent).
    ///
    /// [`replace`](Self::replace) sends the whole typed value instead, and so drops every field
    /// the type does not know.
    ///
    /// A change to a field whose meaning the server ties to one the type lacks (an older type's
    /// `clusterIP` without `clusterIPs`) can be refused as Invalid: loudly, never silently.
    pub async fn modify(&self, name: &str, change: impl FnMut(&mut K)) -> Result<K>
    where
        K: Serialize,
    {
        self.modify_with(name, &PatchParams::default(), change).await
    }

    /// [`modify`](Self::modify) with the patch's parameters: a field manager, a dry run (the
    /// server answers with what it would store, and stores nothing), field validation.
    pub async fn modify_with(
        &self,
        name: &str,
        params: &PatchParams,
        mut change: impl FnMut(&mut K),
    ) -> Result<K>
    where
        K: Serialize,
    {
        let keys = self.client.list_keys(&self.request).await?;
        let mut attempt = ReadModifyWrite::new();
        loop {
            let mut object = self.get(name).await?;
            let Some(patch) = attempt
                .patch_for(&mut object, &keys, &mut change)
                .map_err(Error::Modify)?
            else {
                return Ok(object);
            };
            match self.patch(name, params, &patch).await {
                Err(e) => match attempt.retry_after(&e) {
                    Some(pause) => {
                        self.client
                            .runtime()
                            .sleep_until(std::time::Instant::now() + pause)
                            .await
                    }
                    None => return Err(e),
                },
                written => return written,
            }
        }
    }

    /// Patches an object (JSON patch, merge, strategic merge or server-side apply).
    pub async fn patch<P: Serialize + Debug>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<K> {
        self.call(self.request.patch(name, params, patch)?).await
    }

    /// Deletes an object: the object while finalizers still hold it, or the server's Status.
    pub async fn delete(&self, name: &str, params: &DeleteParams) -> Result<Deleted<K>> {
        self.call_delete(self.request.delete(name, params)?).await
    }

    /// Deletes every object the list options select.
    pub async fn delete_collection(
        &self,
        params: &DeleteParams,
        selection: &ListParams,
    ) -> Result<Deleted<ObjectList<K>>> {
        self.call_delete(self.request.delete_collection(params, selection)?)
            .await
    }

    /// Reads the status subresource.
    pub async fn get_status(&self, name: &str) -> Result<K> {
        self.call(self.request.get_status(name)?).await
    }

    /// Replaces the status subresource.
    pub async fn replace_status(&self, name: &str, params: &PostParams, object: &K) -> Result<K>
    where
        K: Serialize,
    {
        self.call(
            self.request
                .replace_subresource_object("status", name, params, object)?,
        )
        .await
    }

    /// Patches the status subresource.
    pub async fn patch_status<P: Serialize + Debug>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<K> {
        self.call(self.request.patch_status(name, params, patch)?).await
    }

    /// Reads the scale subresource (an `autoscaling/v1` Scale, decoded into `S`: k8s-openapi's
    /// `Scale`, or a [`DynamicObject`]).
    pub async fn get_scale<S: Resource + DeserializeOwned>(&self, name: &str) -> Result<S> {
        self.call(self.request.get_scale(name)?).await
    }

    /// Replaces the scale subresource.
    pub async fn replace_scale<S: Resource + Serialize + DeserializeOwned>(
        &self,
        name: &str,
        params: &PostParams,
        scale: &S,
    ) -> Result<S> {
        self.call(
            self.request
                .replace_subresource_object("scale", name, params, scale)?,
        )
        .await
    }

    /// Patches the scale subresource, e.g. `Patch::Merge(json!({"spec": {"replicas": 3}}))`.
    pub async fn patch_scale<S: Resource + DeserializeOwned, P: Serialize + Debug>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<S> {
        self.call(self.request.patch_scale(name, params, patch)?).await
    }

    /// Evicts a pod, honouring its disruption budgets (a TooManyRequests error when they forbid it).
    pub async fn evict(&self, name: &str, params: &EvictParams) -> Result<Status> {
        self.call(self.request.evict(name, params)?).await
    }

    /// Reads a pod's ephemeral containers subresource.
    pub async fn get_ephemeral_containers(&self, name: &str) -> Result<K> {
        self.call(self.request.get_ephemeral_containers(name)?).await
    }

    /// Replaces a pod's ephemeral containers (adds a debug container).
    pub async fn replace_ephemeral_containers(&self, name: &str, params: &PostParams, pod: &K) -> Result<K>
    where
        K: Serialize,
    {
        self.call(self.request.replace_ephemeral_containers(name, params, pod)?)
            .await
    }

    /// Patches a pod's ephemeral containers.
    pub async fn patch_ephemeral_containers<P: Serialize + Debug>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<K> {
        self.call(self.request.patch_ephemeral_containers(name, params, patch)?)
            .await
    }

    /// A container's log, whole (`follow` must be off; use [`log_stream`](Self::log_stream) to follow).
    pub async fn logs(&self, name: &str, params: &LogParams) -> Result<String> {
        let response = self.client.send(self.request.logs(name, params)?).await?;
        Ok(klient_proto::api::decode_text(
            response.status.as_u16(),
            &response.body,
        )?)
    }

    /// A container's log as a stream: a [`std::io::Read`] (wrap it in a `BufReader` for
    /// `.lines()`); with `follow` it lasts as long as the container writes.
    pub async fn log_stream(&self, name: &str, params: &LogParams) -> Result<BodyStream> {
        self.client.send_streaming(self.request.logs(name, params)?).await
    }
}

/// One page of a list in flight: its body read and decoded one item at a time, so that neither
/// `Api::list` nor `Api::list_pages` ever holds a whole body (klient-proto's [`ListBody`]).
pub(crate) struct ListReader<K> {
    body: crate::BodyStream,
    list: ListBody<K>,
    /// The list's metadata, once its last item has been read.
    pub(crate) metadata: Option<ListMeta>,
}

impl<K: Resource + DeserializeOwned> ListReader<K> {
    /// The next object, `None` after the last (then `metadata` is set).
    pub(crate) async fn next_item(&mut self) -> Result<Option<K>> {
        loop {
            match self.list.poll_item()? {
                ListProgress::Item(object) => return Ok(Some(object)),
                ListProgress::End(metadata) => {
                    self.metadata = Some(metadata);
                    return Ok(None);
                }
                ListProgress::Finished => return Ok(None),
                ListProgress::NeedData => match self.body.next().await.transpose()? {
                    Some(piece) => self.list.handle_bytes(&piece),
                    None => self.list.handle_eof(),
                },
            }
        }
    }
}
