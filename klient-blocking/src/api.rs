//! `Api<K>`: the typed verbs for one kind in one namespace (or across all of them). Every request
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

use crate::client::BodyStream;
use crate::{Client, Error, Result};

/// The verbs of one kind, in one namespace or across all namespaces (or cluster-scoped).
///
/// ```no_run
/// use k8s_openapi::api::core::v1::Pod;
/// use klient_blocking::{Api, Client};
/// use klient_proto::api::ListParams;
///
/// let client = Client::try_default()?;
/// let pods: Api<Pod> = Api::namespaced(client, "kube-system");
/// for pod in pods.list(&ListParams::default())?.items {
///     println!("{}", pod.metadata.name.unwrap_or_default());
/// }
/// # Ok::<(), klient_blocking::Error>(())
/// ```
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
/// ```no_run
/// use k8s_openapi::api::core::v1::Pod;
/// use klient_blocking::{Api, Client, Config};
/// use klient_proto::api::{Format, ListParams};
///
/// // Every Api of this client prefers protobuf...
/// let mut config = Config::infer()?;
/// config.format = Format::Protobuf;
/// let client = Client::new(config)?;
/// let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
/// assert_eq!(pods.format(), Format::Protobuf);
/// let names: Vec<_> = pods.list(&ListParams::default())?.items.into_iter()
///     .filter_map(|pod| pod.metadata.name).collect();
///
/// // ... or just this one.
/// let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(Client::try_default()?).protobuf();
/// # Ok::<(), klient_blocking::Error>(())
/// ```
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
#[derive(Clone)]
pub struct Api<K> {
    client: Client,
    request: Request,
    _kind: PhantomData<fn() -> K>,
}

impl<K> Debug for Api<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("kind", &self.request.kind())
            .field("namespace", &self.request.namespace())
            .finish()
    }
}

impl<K: Resource<DynamicType = ()>> Api<K> {
    /// The kind in `namespace`. Only namespaced kinds compile:
    ///
    /// ```no_run
    /// # use klient_blocking::{Api, Client};
    /// use k8s_openapi::api::core::v1::Pod;
    /// # let client = Client::try_default()?;
    /// let pods: Api<Pod> = Api::namespaced(client, "default");
    /// # Ok::<(), klient_blocking::Error>(())
    /// ```
    ///
    /// ```compile_fail
    /// # use klient_blocking::{Api, Client};
    /// use k8s_openapi::api::core::v1::Node;
    /// # let client = Client::try_default()?;
    /// let nodes: Api<Node> = Api::namespaced(client, "default"); // Node is cluster-scoped
    /// # Ok::<(), klient_blocking::Error>(())
    /// ```
    ///
    /// A `namespace` that cannot be a path segment does not panic: every call of the `Api`
    /// returns that error ([`try_namespaced`](Self::try_namespaced) returns it at once).
    pub fn namespaced(client: Client, namespace: &str) -> Self
    where
        K: Resource<Scope = NamespaceResourceScope>,
    {
        Self::from_request(client, Request::new_deferred::<K>(&(), Some(namespace)))
    }

    /// The kind in `namespace`, or an error when `namespace` cannot be a path segment.
    pub fn try_namespaced(client: Client, namespace: &str) -> Result<Self>
    where
        K: Resource<Scope = NamespaceResourceScope>,
    {
        Ok(Self::from_request(client, Request::namespaced::<K>(namespace)?))
    }

    /// The kind in the kubeconfig context's namespace (only namespaced kinds compile).
    pub fn default_namespaced(client: Client) -> Self
    where
        K: Resource<Scope = NamespaceResourceScope>,
    {
        let namespace = client.default_namespace().to_owned();
        Self::namespaced(client, &namespace)
    }

    /// A cluster-scoped kind, or a namespaced kind across all namespaces (to list and watch:
    /// its objects are read, written and deleted through an [`Api::namespaced`]).
    ///
    /// ```no_run
    /// # use klient_blocking::{Api, Client};
    /// use k8s_openapi::api::core::v1::{Node, Pod};
    /// # let client = Client::try_default()?;
    /// let nodes: Api<Node> = Api::all(client.clone());
    /// let pods_everywhere: Api<Pod> = Api::all(client);
    /// # Ok::<(), klient_blocking::Error>(())
    /// ```
    ///
    /// Subresource kinds have no URLs of their own (use [`Api::evict`], [`Api::get_scale`]...)
    /// and do not compile:
    ///
    /// ```compile_fail
    /// # use klient_blocking::{Api, Client};
    /// use k8s_openapi::api::policy::v1::Eviction;
    /// # let client = Client::try_default()?;
    /// let evictions: Api<Eviction> = Api::all(client);
    /// # Ok::<(), klient_blocking::Error>(())
    /// ```
    pub fn all(client: Client) -> Self
    where
        K::Scope: RootScope,
    {
        Self::from_request(client, Request::new_deferred::<K>(&(), None))
    }
}

impl<K: Resource> Api<K> {
    /// Any kind, described by `dyntype`, across the cluster: a cluster-scoped kind, or a
    /// namespaced kind across all namespaces (to list and watch). An error when the kind is a
    /// subresource or its URL segments are invalid.
    pub fn all_with(client: Client, dyntype: &K::DynamicType) -> Result<Self> {
        Ok(Self::from_request(client, Request::new::<K>(dyntype, None)?))
    }

    /// A kind known only at run time ([`DynamicObject`]) in `namespace`: an error when its
    /// scope, as `dyntype` says it, is not namespaced
    /// ([`RequestError::NamespaceNotAllowed`](klient_proto::api::RequestError::NamespaceNotAllowed),
    /// [`NotARootResource`](klient_proto::api::RequestError::NotARootResource)) or `namespace`
    /// cannot be a path segment. Kinds known at compile time use [`Api::namespaced`].
    ///
    /// ```no_run
    /// use klient_blocking::{Api, Client};
    /// use klient_proto::api::{ApiResource, DynamicObject, Scope};
    ///
    /// let client = Client::try_default()?;
    /// let crontabs = ApiResource::new("stable.example.com", "v1", "CronTab", "crontabs", Scope::Namespaced);
    /// let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "ops", &crontabs)?;
    ///
    /// let nodes = ApiResource::new("", "v1", "Node", "nodes", Scope::Cluster);
    /// assert!(Api::<DynamicObject>::namespaced_with(client, "ops", &nodes).is_err());
    /// # Ok::<(), klient_blocking::Error>(())
    /// ```
    pub fn namespaced_with(client: Client, namespace: &str, dyntype: &K::DynamicType) -> Result<Self>
    where
        K: Resource<Scope = DynamicResourceScope>,
    {
        Ok(Self::from_request(
            client,
            Request::new::<K>(dyntype, Some(namespace))?,
        ))
    }

    /// [`namespaced_with`](Self::namespaced_with) in the kubeconfig context's namespace.
    pub fn default_namespaced_with(client: Client, dyntype: &K::DynamicType) -> Result<Self>
    where
        K: Resource<Scope = DynamicResourceScope>,
    {
        let namespace = client.default_namespace().to_owned();
        Self::namespaced_with(client, &namespace, dyntype)
    }

    fn from_request(client: Client, request: Request) -> Self {
        Api {
            request: request.with_format(client.config().format),
            client,
            _kind: PhantomData,
        }
    }
}

impl Api<DynamicObject> {
    /// A kind known only at run time (a custom resource, say), in `namespace` or, with `None`, across
    /// all namespaces or cluster-scoped: [`namespaced_with`](Api::namespaced_with) or
    /// [`all_with`](Api::all_with).
    pub fn dynamic(client: Client, resource: &ApiResource, namespace: Option<&str>) -> Result<Self> {
        match namespace {
            Some(namespace) => Self::namespaced_with(client, namespace, resource),
            None => Self::all_with(client, resource),
        }
    }
}

impl<K> Api<K> {
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
    pub fn client(&self) -> &Client {
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

impl<K: Resource + DeserializeOwned> Api<K> {
    /// Sends a request and decodes the answer in the format the server chose.
    fn call<T: Decodable>(&self, request: http::Request<Vec<u8>>) -> Result<T> {
        let response = self.client.send(request)?;
        Ok(decode_negotiated(
            response.status.as_u16(),
            response.content_type(),
            &response.body,
        )?)
    }

    fn call_delete<T: Decodable>(&self, request: http::Request<Vec<u8>>) -> Result<Deleted<T>> {
        let response = self.client.send(request)?;
        Ok(decode_delete_negotiated(
            response.status.as_u16(),
            response.content_type(),
            &response.body,
        )?)
    }

    /// Reads one object.
    pub fn get(&self, name: &str) -> Result<K> {
        self.call(self.request.get(name, &GetParams::default())?)
    }

    /// Reads one object with options (e.g. a resourceVersion to read from the cache).
    pub fn get_with(&self, name: &str, params: &GetParams) -> Result<K> {
        self.call(self.request.get(name, params)?)
    }

    /// Reads one object, `None` when it does not exist.
    pub fn get_opt(&self, name: &str) -> Result<Option<K>> {
        match self.get(name) {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.api().is_some_and(|api| api.is_not_found()) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists one page of objects (set `limit` and `continue_token` to page by hand).
    pub fn list(&self, params: &ListParams) -> Result<ObjectList<K>> {
        let mut page = self.list_reader(params)?;
        let mut items = Vec::new();
        while let Some(item) = page.next_item()? {
            items.push(item);
        }
        Ok(ObjectList {
            metadata: page.metadata.unwrap_or_default(),
            items,
        })
    }

    /// One list request, its body decoded item by item as it arrives.
    pub(crate) fn list_reader(&self, params: &ListParams) -> Result<ListReader<K>> {
        let body = self.client.send_in_pieces(self.request.list(params)?)?;
        Ok(ListReader {
            list: ListBody::new(body.status().as_u16(), body.content_type()),
            body,
            metadata: None,
        })
    }

    /// Every object, fetched page by page as the iterator is driven (`params.limit` is the page
    /// size; 500 when unset).
    pub fn list_pages(&self, params: &ListParams) -> Pages<'_, K> {
        let mut params = params.clone();
        params.limit.get_or_insert(500);
        Pages {
            api: self,
            params,
            done: false,
            current: None,
        }
    }

    /// Creates an object.
    pub fn create(&self, params: &PostParams, object: &K) -> Result<K>
    where
        K: Serialize,
    {
        self.call(self.request.create_object(params, object)?)
    }

    /// Replaces an object; its resourceVersion guards against overwriting a newer one (a
    /// Conflict error). The whole typed value is sent: fields the Rust type does not know (a
    /// newer server's) are erased on the server. [`modify`](Self::modify) sends only a change
    /// and keeps them.
    pub fn replace(&self, name: &str, params: &PostParams, object: &K) -> Result<K>
    where
        K: Serialize,
    {
        self.call(self.request.replace_object(name, params, object)?)
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
    ///
    /// ```no_run
    /// use k8s_openapi::api::core::v1::ConfigMap;
    /// use klient_blocking::{Api, Client};
    ///
    /// let maps: Api<ConfigMap> = Api::default_namespaced(Client::try_default()?);
    /// let map = maps.modify("settings", |map| {
    ///     map.data.get_or_insert_default().insert("mode".into(), "fast".into());
    /// })?;
    /// # Ok::<(), klient_blocking::Error>(())
    /// ```
    pub fn modify(&self, name: &str, change: impl FnMut(&mut K)) -> Result<K>
    where
        K: Serialize,
    {
        self.modify_with(name, &PatchParams::default(), change)
    }

    /// [`modify`](Self::modify) with the patch's parameters: a field manager, a dry run (the
    /// server answers with what it would store, and stores nothing), field validation.
    pub fn modify_with(&self, name: &str, params: &PatchParams, mut change: impl FnMut(&mut K)) -> Result<K>
    where
        K: Serialize,
    {
        let keys = self.client.list_keys(&self.request)?;
        let mut attempt = ReadModifyWrite::new();
        loop {
            let mut object = self.get(name)?;
            let Some(patch) = attempt
                .patch_for(&mut object, &keys, &mut change)
                .map_err(Error::Modify)?
            else {
                return Ok(object);
            };
            match self.patch(name, params, &patch) {
                Err(e) => match attempt.retry_after(&e) {
                    Some(pause) => std::thread::sleep(pause),
                    None => return Err(e),
                },
                written => return written,
            }
        }
    }

    /// Patches an object (JSON patch, merge, strategic merge or server-side apply).
    pub fn patch<P: Serialize + Debug>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<K> {
        self.call(self.request.patch(name, params, patch)?)
    }

    /// Deletes an object: the object while finalizers still hold it, or the server's Status.
    pub fn delete(&self, name: &str, params: &DeleteParams) -> Result<Deleted<K>> {
        self.call_delete(self.request.delete(name, params)?)
    }

    /// Deletes every object the list options select.
    pub fn delete_collection(
        &self,
        params: &DeleteParams,
        selection: &ListParams,
    ) -> Result<Deleted<ObjectList<K>>> {
        self.call_delete(self.request.delete_collection(params, selection)?)
    }

    /// Reads the status subresource.
    pub fn get_status(&self, name: &str) -> Result<K> {
        self.call(self.request.get_status(name)?)
    }

    /// Replaces the status subresource.
    pub fn replace_status(&self, name: &str, params: &PostParams, object: &K) -> Result<K>
    where
        K: Serialize,
    {
        self.call(
            self.request
                .replace_subresource_object("status", name, params, object)?,
        )
    }

    /// Patches the status subresource.
    pub fn patch_status<P: Serialize + Debug>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<K> {
        self.call(self.request.patch_status(name, params, patch)?)
    }

    /// Reads the scale subresource (an `autoscaling/v1` Scale, decoded into `S`: k8s-openapi's
    /// `Scale`, or a [`DynamicObject`]).
    pub fn get_scale<S: Resource + DeserializeOwned>(&self, name: &str) -> Result<S> {
        self.call(self.request.get_scale(name)?)
    }

    /// Replaces the scale subresource.
    pub fn replace_scale<S: Resource + Serialize + DeserializeOwned>(
        &self,
        name: &str,
        params: &PostParams,
        scale: &S,
    ) -> Result<S> {
        self.call(
            self.request
                .replace_subresource_object("scale", name, params, scale)?,
        )
    }

    /// Patches the scale subresource, e.g. `Patch::Merge(json!({"spec": {"replicas": 3}}))`.
    pub fn patch_scale<S: Resource + DeserializeOwned, P: Serialize + Debug>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<S> {
        self.call(self.request.patch_scale(name, params, patch)?)
    }

    /// Evicts a pod, honouring its disruption budgets (a TooManyRequests error when they forbid it).
    pub fn evict(&self, name: &str, params: &EvictParams) -> Result<Status> {
        self.call(self.request.evict(name, params)?)
    }

    /// Reads a pod's ephemeral containers subresource.
    pub fn get_ephemeral_containers(&self, name: &str) -> Result<K> {
        self.call(self.request.get_ephemeral_containers(name)?)
    }

    /// Replaces a pod's ephemeral containers (adds a debug container).
    pub fn replace_ephemeral_containers(&self, name: &str, params: &PostParams, pod: &K) -> Result<K>
    where
        K: Serialize,
    {
        self.call(self.request.replace_ephemeral_containers(name, params, pod)?)
    }

    /// Patches a pod's ephemeral containers.
    pub fn patch_ephemeral_containers<P: Serialize + Debug>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<K> {
        self.call(self.request.patch_ephemeral_containers(name, params, patch)?)
    }

    /// A container's log, whole (`follow` must be off; use [`log_stream`](Self::log_stream) to follow).
    pub fn logs(&self, name: &str, params: &LogParams) -> Result<String> {
        let response = self.client.send(self.request.logs(name, params)?)?;
        Ok(klient_proto::api::decode_text(
            response.status.as_u16(),
            &response.body,
        )?)
    }

    /// A container's log as a stream: a [`std::io::Read`] (wrap it in a `BufReader` for
    /// `.lines()`); with `follow` it lasts as long as the container writes.
    pub fn log_stream(&self, name: &str, params: &LogParams) -> Result<BodyStream> {
        self.client.send_streaming(self.request.logs(name, params)?)
    }
}

/// The pages of a list, as an iterator of objects (see [`Api::list_pages`]).
pub struct Pages<'a, K> {
    api: &'a Api<K>,
    params: ListParams,
    done: bool,
    current: Option<ListReader<K>>,
}

impl<K: Resource + DeserializeOwned> Iterator for Pages<'_, K> {
    type Item = Result<K>;

    fn next(&mut self) -> Option<Result<K>> {
        loop {
            if let Some(page) = &mut self.current {
                match page.next_item() {
                    Ok(Some(object)) => return Some(Ok(object)),
                    Ok(None) => {
                        match page.metadata.as_ref().and_then(ListMeta::next_page) {
                            Some(token) => self.params.continue_token = Some(token.to_owned()),
                            None => self.done = true,
                        }
                        self.current = None;
                    }
                    Err(e) => {
                        self.done = true;
                        self.current = None;
                        return Some(Err(e));
                    }
                }
                continue;
            }
            if self.done {
                return None;
            }
            match self.api.list_reader(&self.params) {
                Ok(page) => self.current = Some(page),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// One page of a list in flight: its body read and decoded one item at a time, so that neither
/// `Api::list` nor `Api::list_pages` ever holds a whole body (klient-proto's [`ListBody`]).
pub(crate) struct ListReader<K> {
    body: BodyStream,
    list: ListBody<K>,
    /// The list's metadata, once its last item has been read.
    pub(crate) metadata: Option<ListMeta>,
}

impl<K: Resource + DeserializeOwned> ListReader<K> {
    /// The next object, `None` after the last (then `metadata` is set).
    pub(crate) fn next_item(&mut self) -> Result<Option<K>> {
        loop {
            match self.list.poll_item()? {
                ListProgress::Item(object) => return Ok(Some(object)),
                ListProgress::End(metadata) => {
                    self.metadata = Some(metadata);
                    return Ok(None);
                }
                ListProgress::Finished => return Ok(None),
                ListProgress::NeedData => match self.body.next_chunk()? {
                    Some(piece) => self.list.handle_bytes(&piece),
                    None => self.list.handle_eof(),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use klient_proto::config::Kubeconfig;

    fn client(format: Format) -> Client {
        let kubeconfig = b"apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:1'}\n\
            users:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
        let resolved = Kubeconfig::from_bytes(kubeconfig, None)
            .unwrap()
            .resolve(&Default::default())
            .unwrap();
        let mut config = crate::Config::new(resolved);
        assert_eq!(config.format, Format::Json, "JSON is the default");
        config.format = format;
        Client::new(config).unwrap()
    }

    fn accept(api: &Api<impl Resource>) -> String {
        let request = api.request_builder().list(&ListParams::default()).unwrap();
        request.headers()["accept"].to_str().unwrap().to_owned()
    }

    #[test]
    fn the_client_sets_the_default_and_each_api_can_switch() {
        let protobuf = "application/vnd.kubernetes.protobuf, application/json";
        let pods: Api<Pod> = Api::namespaced(client(Format::Protobuf), "ns");
        assert_eq!(pods.format(), Format::Protobuf);
        assert_eq!(accept(&pods), protobuf);
        let pods = pods.json();
        assert_eq!(
            (pods.format(), accept(&pods).as_str()),
            (Format::Json, "application/json")
        );

        let pods: Api<Pod> = Api::all(client(Format::Json));
        assert_eq!(pods.format(), Format::Json);
        let pods = pods.protobuf();
        assert_eq!(
            (pods.format(), accept(&pods).as_str()),
            (Format::Protobuf, protobuf)
        );
    }

    #[test]
    fn dynamic_objects_stay_on_json() {
        let resource = ApiResource::new(
            "example.com",
            "v1",
            "Widget",
            "widgets",
            klient_proto::api::Scope::Namespaced,
        );
        let widgets = Api::dynamic(client(Format::Protobuf), &resource, Some("ns")).unwrap();
        assert_eq!(widgets.format(), Format::Json);
        let widgets = widgets.protobuf();
        assert_eq!(
            (widgets.format(), accept(&widgets).as_str()),
            (Format::Json, "application/json")
        );
    }

    use crate::Error;
    use k8s_openapi::api::core::v1::Node;
    use k8s_openapi::api::policy::v1::Eviction;
    use klient_proto::api::{BadSegment, RequestError, Scope, Segment};

    /// A client whose kubeconfig context names `namespace` (none: `default`).
    fn client_in(namespace: Option<&str>) -> Client {
        let namespace = namespace.map_or(String::new(), |ns| format!(", namespace: '{ns}'"));
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'http://127.0.0.1:1'}}\n\
             users:\n- name: u\n  user: {{}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u{namespace}}}\n\
             current-context: x\n"
        );
        let resolved = Kubeconfig::from_bytes(kubeconfig.as_bytes(), None)
            .unwrap()
            .resolve(&Default::default())
            .unwrap();
        Client::new(crate::Config::new(resolved)).unwrap()
    }

    fn uri<K>(
        api: &Api<K>,
        request: impl FnOnce(&Request) -> std::result::Result<http::Request<Vec<u8>>, RequestError>,
    ) -> String {
        request(api.request_builder()).unwrap().uri().to_string()
    }

    #[test]
    fn typed_kinds_get_the_constructors_of_their_scope() {
        let client = client_in(None);
        let get = |api: &Request| api.get("a", &Default::default());
        let list = |api: &Request| api.list(&ListParams::default());
        let pods: Api<Pod> = Api::namespaced(client.clone(), "ns");
        assert_eq!(uri(&pods, get), "/api/v1/namespaces/ns/pods/a");
        let pods: Api<Pod> = Api::default_namespaced(client.clone());
        assert_eq!(pods.namespace(), Some("default"));
        // Api::all: a namespaced kind across all namespaces lists, but has no single objects...
        let pods: Api<Pod> = Api::all(client.clone());
        assert_eq!(
            (pods.namespace(), uri(&pods, list).as_str()),
            (None, "/api/v1/pods")
        );
        let err = pods.get("a").unwrap_err();
        assert!(
            matches!(err, Error::Request(RequestError::NamespaceRequired { .. })),
            "{err}"
        );
        // ... a cluster-scoped kind has both.
        let nodes: Api<Node> = Api::all(client.clone());
        assert_eq!(uri(&nodes, get), "/api/v1/nodes/a");
        // all_with takes any kind and checks its scope when called.
        let pods = Api::<Pod>::all_with(client.clone(), &()).unwrap();
        assert_eq!(uri(&pods, list), "/api/v1/pods");
        let err = Api::<Eviction>::all_with(client, &()).unwrap_err();
        assert!(
            matches!(err, Error::Request(RequestError::NotARootResource { .. })),
            "{err}"
        );
    }

    #[test]
    fn a_namespace_that_is_no_path_segment_fails_the_calls_not_the_constructor() {
        let client = client_in(None);
        for (namespace, problem) in [
            ("", BadSegment::Empty),
            ("a/b", BadSegment::ContainsSlash),
            ("50%", BadSegment::ContainsPercent),
            ("..", BadSegment::DotSegment),
        ] {
            let is_bad_namespace = |e: &Error| matches!(e, Error::Request(RequestError::InvalidSegment { segment: Segment::Namespace, problem: p, .. }) if *p == problem);
            let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
            assert_eq!(pods.namespace(), Some(namespace));
            // Each fails before any I/O (the server, 127.0.0.1:1, would refuse the connection).
            for err in [
                pods.get("web").unwrap_err(),
                pods.list(&ListParams::default()).unwrap_err(),
                pods.create(&PostParams::default(), &Pod::default()).unwrap_err(),
                pods.delete("web", &DeleteParams::default()).unwrap_err(),
                pods.logs("web", &LogParams::default()).unwrap_err(),
            ] {
                assert!(is_bad_namespace(&err), "{namespace:?}: {err}");
            }
            let err = Api::<Pod>::try_namespaced(client.clone(), namespace).unwrap_err();
            assert!(is_bad_namespace(&err), "{namespace:?}: {err}");
            let resource = ApiResource::erase::<Pod>(&());
            let err =
                Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &resource).unwrap_err();
            assert!(is_bad_namespace(&err), "{namespace:?}: {err}");
        }
        // The kubeconfig's namespace goes the same way.
        let pods: Api<Pod> = Api::default_namespaced(client_in(Some("a/b")));
        assert_eq!(pods.namespace(), Some("a/b"));
        let err = pods.get("web").unwrap_err();
        assert!(
            matches!(err, Error::Request(RequestError::InvalidSegment { .. })),
            "{err}"
        );
    }

    #[test]
    fn dynamic_kinds_check_their_scope_when_the_api_is_made() {
        let client = client_in(Some("team"));
        let resource =
            |kind: &str, plural: &str, scope| ApiResource::new("example.com", "v1", kind, plural, scope);
        let widgets = resource("Widget", "widgets", Scope::Namespaced);
        let gadgets = resource("Gadget", "gadgets", Scope::Cluster);
        let scales = resource("Scale", "scale", Scope::Subresource);
        let get = |api: &Request| api.get("a", &Default::default());

        let api = Api::<DynamicObject>::namespaced_with(client.clone(), "ns", &widgets).unwrap();
        assert_eq!(uri(&api, get), "/apis/example.com/v1/namespaces/ns/widgets/a");
        let api = Api::<DynamicObject>::default_namespaced_with(client.clone(), &widgets).unwrap();
        assert_eq!(api.namespace(), Some("team"));
        let api = Api::<DynamicObject>::all_with(client.clone(), &widgets).unwrap();
        assert_eq!(
            api.request_builder().collection_path(),
            "/apis/example.com/v1/widgets"
        );
        let api = Api::<DynamicObject>::all_with(client.clone(), &gadgets).unwrap();
        assert_eq!(uri(&api, get), "/apis/example.com/v1/gadgets/a");

        let err = Api::<DynamicObject>::namespaced_with(client.clone(), "ns", &gadgets).unwrap_err();
        assert!(
            matches!(&err, Error::Request(RequestError::NamespaceNotAllowed { kind }) if kind == "Gadget"),
            "{err}"
        );
        let err = Api::<DynamicObject>::default_namespaced_with(client.clone(), &gadgets).unwrap_err();
        assert!(
            matches!(err, Error::Request(RequestError::NamespaceNotAllowed { .. })),
            "{err}"
        );
        for err in [
            Api::<DynamicObject>::namespaced_with(client.clone(), "ns", &scales).unwrap_err(),
            Api::<DynamicObject>::all_with(client.clone(), &scales).unwrap_err(),
            Api::dynamic(client, &scales, None).unwrap_err(),
        ] {
            assert!(
                matches!(&err, Error::Request(RequestError::NotARootResource { kind }) if kind == "Scale"),
                "{err}"
            );
        }
    }
}
