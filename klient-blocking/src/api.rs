//! `Api<K>`: the typed verbs for one kind in one namespace (or across all of them). Every request
//! is built and every response decoded by [`klient_proto::api`]; this file only sends them.

use std::fmt::Debug;
use std::marker::PhantomData;

use klient_proto::api::{
    ApiResource, Decodable, DeleteParams, Deleted, DynamicObject, EvictParams, Format, GetParams, ListParams,
    LogParams, ObjectList, Patch, PatchParams, PostParams, Request, Resource, Status,
    decode_delete_negotiated, decode_negotiated,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::BodyStream;
use crate::{Client, Result};

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
    /// The kind in `namespace`.
    ///
    /// # Panics
    /// When `namespace` is not a valid namespace name or `K` is cluster-scoped: both are
    /// programming errors, like kube-rs's. [`Api::try_namespaced`] returns them as errors instead.
    pub fn namespaced(client: Client, namespace: &str) -> Self {
        match Self::try_namespaced(client, namespace) {
            Ok(api) => api,
            Err(e) => panic!("Api::namespaced({namespace:?}): {e}"),
        }
    }

    /// The kind in `namespace`, or an error when that cannot address it.
    pub fn try_namespaced(client: Client, namespace: &str) -> Result<Self> {
        Ok(Api {
            request: Request::namespaced::<K>(namespace)?.with_format(client.config().format),
            client,
            _kind: PhantomData,
        })
    }

    /// The kind in the kubeconfig context's namespace.
    pub fn default_namespaced(client: Client) -> Self {
        let namespace = client.default_namespace().to_owned();
        Self::namespaced(client, &namespace)
    }

    /// A cluster-scoped kind, or a namespaced kind across all namespaces (list and watch).
    pub fn all(client: Client) -> Self {
        let request = Request::all::<K>()
            .unwrap_or_else(|e| panic!("Api::all: {e}"))
            .with_format(client.config().format);
        Api {
            request,
            client,
            _kind: PhantomData,
        }
    }
}

impl Api<DynamicObject> {
    /// A kind known only at run time (a custom resource, say), in `namespace` or, with `None`, across
    /// all namespaces or cluster-scoped.
    pub fn dynamic(client: Client, resource: &ApiResource, namespace: Option<&str>) -> Result<Self> {
        Ok(Api {
            request: Request::from_api_resource(resource, namespace)?,
            client,
            _kind: PhantomData,
        })
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
        self.call(self.request.list(params)?)
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
            current: Vec::new().into_iter(),
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
    /// Conflict error).
    pub fn replace(&self, name: &str, params: &PostParams, object: &K) -> Result<K>
    where
        K: Serialize,
    {
        self.call(self.request.replace_object(name, params, object)?)
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
        if !response.status.is_success() {
            return Err(klient_proto::api::decode_error(response.status.as_u16(), &response.body).into());
        }
        Ok(String::from_utf8_lossy(&response.body).into_owned())
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
    current: std::vec::IntoIter<K>,
}

impl<K: Resource + DeserializeOwned> Iterator for Pages<'_, K> {
    type Item = Result<K>;

    fn next(&mut self) -> Option<Result<K>> {
        loop {
            if let Some(object) = self.current.next() {
                return Some(Ok(object));
            }
            if self.done {
                return None;
            }
            match self.api.list(&self.params) {
                Ok(page) => {
                    match page.next_page() {
                        Some(token) => self.params.continue_token = Some(token.to_owned()),
                        None => self.done = true,
                    }
                    self.current = page.items.into_iter();
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
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
}
