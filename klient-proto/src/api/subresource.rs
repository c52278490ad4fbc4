//! Requests on the subresources of one object: status, scale, eviction, ephemeral containers, logs.

use super::error::RequestError;
use super::params::{DeleteParams, GetParams, LogParams, Patch, PatchParams, PostParams, Query};
use super::request::{Body, Expect, Request, finish};
use super::resource::Resource;
use http::Method;
use serde::Serialize;

/// Options of a pod eviction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvictParams {
    /// Query options (dry run, field manager).
    pub post_options: PostParams,
    /// How the pod is deleted once the disruption budget allows it.
    pub delete_options: Option<DeleteParams>,
}

impl Request {
    fn pods_only(&self, subresource: &'static str) -> Result<(), RequestError> {
        // A request builder that cannot build anything says why first.
        self.usable()?;
        if self.is_core_pods() {
            Ok(())
        } else {
            Err(RequestError::UnsupportedSubresource {
                subresource,
                kind: self.kind().to_string(),
            })
        }
    }

    /// Reads a subresource of an object (`GET .../{name}/{subresource}`).
    pub fn get_subresource(
        &self,
        subresource: &str,
        name: &str,
        params: &GetParams,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        let path = self.object_path(name, Some(subresource))?;
        let mut q = Query::new();
        params.append(&mut q);
        finish(Method::GET, path, q, None, self.expect())
    }

    /// Posts to a subresource of an object (`POST .../{name}/{subresource}`).
    pub fn create_subresource<T: Serialize + ?Sized>(
        &self,
        subresource: &str,
        name: &str,
        params: &PostParams,
        body: &T,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        let path = self.object_path(name, Some(subresource))?;
        let mut q = Query::new();
        params.append(&mut q);
        finish(Method::POST, path, q, Some(Body::json(body)?), self.expect())
    }

    /// Replaces a subresource of an object (`PUT .../{name}/{subresource}`).
    pub fn replace_subresource<T: Serialize + ?Sized>(
        &self,
        subresource: &str,
        name: &str,
        params: &PostParams,
        body: &T,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.replace_with(name, Some(subresource), params, Body::json(body)?)
    }

    /// Replaces a subresource of an object whose body is a typed object (`status` takes the
    /// object itself, `scale` an `autoscaling/v1` Scale): in protobuf when these requests prefer
    /// it and `K` has it, else JSON.
    pub fn replace_subresource_object<K: Resource + Serialize>(
        &self,
        subresource: &str,
        name: &str,
        params: &PostParams,
        object: &K,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.replace_with(
            name,
            Some(subresource),
            params,
            Body::object(object, self.format())?,
        )
    }

    /// Patches a subresource of an object (`PATCH .../{name}/{subresource}`).
    pub fn patch_subresource<P: Serialize>(
        &self,
        subresource: &str,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        let path = self.object_path(name, Some(subresource))?;
        let mut q = Query::new();
        params.append(patch, &mut q)?;
        finish(Method::PATCH, path, q, Some(Body::patch(patch)?), self.expect())
    }

    /// Reads the object through its `status` subresource.
    pub fn get_status(&self, name: &str) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.get_subresource("status", name, &GetParams::default())
    }

    /// Replaces the object's status (the rest of the body is ignored by the server).
    pub fn replace_status<T: Serialize + ?Sized>(
        &self,
        name: &str,
        params: &PostParams,
        object: &T,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.replace_subresource("status", name, params, object)
    }

    /// Patches the object's status.
    pub fn patch_status<P: Serialize>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.patch_subresource("status", name, params, patch)
    }

    /// Reads the `autoscaling/v1` `Scale` of a scalable object.
    pub fn get_scale(&self, name: &str) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.get_subresource("scale", name, &GetParams::default())
    }

    /// Replaces the `Scale` (an `autoscaling/v1` `Scale` object).
    pub fn replace_scale<T: Serialize + ?Sized>(
        &self,
        name: &str,
        params: &PostParams,
        scale: &T,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.replace_subresource("scale", name, params, scale)
    }

    /// Patches the `Scale`, e.g. `Patch::Merge(json!({"spec": {"replicas": 3}}))`.
    pub fn patch_scale<P: Serialize>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.patch_subresource("scale", name, params, patch)
    }

    /// Evicts a pod, honouring its disruption budgets: posts a `policy/v1` `Eviction`.
    ///
    /// The pod's namespace is the one these requests were made for.
    pub fn evict(&self, name: &str, params: &EvictParams) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.pods_only("eviction")?;
        let path = self.object_path(name, Some("eviction"))?;
        let mut eviction = serde_json::json!({
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": { "name": name, "namespace": self.namespace() },
        });
        if let (Some(opts), Some(obj)) = (&params.delete_options, eviction.as_object_mut()) {
            obj.insert("deleteOptions".into(), opts.to_json());
        }
        let mut q = Query::new();
        params.post_options.append(&mut q);
        finish(Method::POST, path, q, Some(Body::json(&eviction)?), self.expect())
    }

    /// Reads a pod through its `ephemeralcontainers` subresource.
    pub fn get_ephemeral_containers(&self, name: &str) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.pods_only("ephemeralcontainers")?;
        self.get_subresource("ephemeralcontainers", name, &GetParams::default())
    }

    /// Replaces a pod's ephemeral containers (the body is the whole Pod).
    pub fn replace_ephemeral_containers<T: Serialize + ?Sized>(
        &self,
        name: &str,
        params: &PostParams,
        pod: &T,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.pods_only("ephemeralcontainers")?;
        self.replace_subresource("ephemeralcontainers", name, params, pod)
    }

    /// Patches a pod's ephemeral containers (adding a debug container, typically).
    pub fn patch_ephemeral_containers<P: Serialize>(
        &self,
        name: &str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.pods_only("ephemeralcontainers")?;
        self.patch_subresource("ephemeralcontainers", name, params, patch)
    }

    /// Reads (or, with `follow`, streams) a container's log as plain text.
    pub fn logs(&self, name: &str, params: &LogParams) -> Result<http::Request<Vec<u8>>, RequestError> {
        self.pods_only("log")?;
        let path = self.object_path(name, Some("log"))?;
        let mut q = Query::new();
        params.append(&mut q)?;
        finish(Method::GET, path, q, None, Expect::Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::dynamic::ApiResource;
    use crate::api::error::Segment;
    use crate::api::request::tests::{body_json, header};
    use crate::api::resource::Scope;
    use serde_json::json;

    fn pods(ns: &str) -> Request {
        let ar = ApiResource::new("", "v1", "Pod", "pods", Scope::Namespaced);
        Request::from_api_resource(&ar, Some(ns)).unwrap()
    }

    fn deployments(ns: &str) -> Request {
        let ar = ApiResource::new("apps", "v1", "Deployment", "deployments", Scope::Namespaced);
        Request::from_api_resource(&ar, Some(ns)).unwrap()
    }

    #[test]
    fn status_subresource() {
        let d = deployments("prod");
        let req = d.get_status("web").unwrap();
        assert_eq!(req.uri(), "/apis/apps/v1/namespaces/prod/deployments/web/status");
        let req = d
            .replace_status("web", &PostParams::default(), &json!({"status": {}}))
            .unwrap();
        assert_eq!(req.method(), Method::PUT);
        assert_eq!(req.uri(), "/apis/apps/v1/namespaces/prod/deployments/web/status");
        let patch = Patch::Apply(json!({"status": {"replicas": 1}}));
        let req = d.patch_status("web", &PatchParams::apply("ctl"), &patch).unwrap();
        assert_eq!(req.method(), Method::PATCH);
        assert_eq!(
            req.uri(),
            "/apis/apps/v1/namespaces/prod/deployments/web/status?fieldManager=ctl"
        );
        assert_eq!(header(&req, "content-type"), Some("application/apply-patch+yaml"));
    }

    #[test]
    fn scale_subresource() {
        let d = deployments("prod");
        assert_eq!(
            d.get_scale("web").unwrap().uri(),
            "/apis/apps/v1/namespaces/prod/deployments/web/scale"
        );
        let scale = json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
                           "metadata": {"name": "web"}, "spec": {"replicas": 3}});
        let req = d.replace_scale("web", &PostParams::default(), &scale).unwrap();
        assert_eq!(req.method(), Method::PUT);
        assert_eq!(body_json(&req)["spec"]["replicas"], 3);
        let patch = Patch::Merge(json!({"spec": {"replicas": 0}}));
        let req = d.patch_scale("web", &PatchParams::default(), &patch).unwrap();
        assert_eq!(req.uri(), "/apis/apps/v1/namespaces/prod/deployments/web/scale");
        assert_eq!(header(&req, "content-type"), Some("application/merge-patch+json"));
    }

    #[test]
    fn eviction_posts_a_policy_v1_eviction() {
        let params = EvictParams {
            post_options: PostParams {
                dry_run: true,
                ..PostParams::default()
            },
            delete_options: Some(DeleteParams::default().grace_period(10)),
        };
        let req = pods("kube-system").evict("dns-0", &params).unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(
            req.uri(),
            "/api/v1/namespaces/kube-system/pods/dns-0/eviction?dryRun=All"
        );
        assert_eq!(header(&req, "content-type"), Some("application/json"));
        assert_eq!(
            body_json(&req),
            json!({"apiVersion": "policy/v1", "kind": "Eviction",
                   "metadata": {"name": "dns-0", "namespace": "kube-system"},
                   "deleteOptions": {"apiVersion": "v1", "kind": "DeleteOptions",
                                     "gracePeriodSeconds": 10}})
        );
        let req = pods("a").evict("p", &EvictParams::default()).unwrap();
        assert!(body_json(&req).get("deleteOptions").is_none());
    }

    #[test]
    fn ephemeral_containers() {
        let p = pods("dev");
        assert_eq!(
            p.get_ephemeral_containers("app").unwrap().uri(),
            "/api/v1/namespaces/dev/pods/app/ephemeralcontainers"
        );
        let patch = Patch::Strategic(json!({"spec": {"ephemeralContainers": [{"name": "dbg"}]}}));
        let req = p
            .patch_ephemeral_containers("app", &PatchParams::default(), &patch)
            .unwrap();
        assert_eq!(req.method(), Method::PATCH);
        assert_eq!(
            header(&req, "content-type"),
            Some("application/strategic-merge-patch+json")
        );
        let req = p
            .replace_ephemeral_containers("app", &PostParams::default(), &json!({}))
            .unwrap();
        assert_eq!(req.method(), Method::PUT);
    }

    #[test]
    fn logs_are_plain_text_with_params() {
        let params = LogParams {
            container: Some("sidecar".into()),
            follow: true,
            tail_lines: Some(10),
            ..LogParams::default()
        };
        let req = pods("dev").logs("app", &params).unwrap();
        assert_eq!(
            req.uri(),
            "/api/v1/namespaces/dev/pods/app/log?container=sidecar&tailLines=10&follow=true"
        );
        assert_eq!(header(&req, "accept"), None);
        assert!(req.body().is_empty());
    }

    #[test]
    fn pod_only_subresources_reject_other_kinds() {
        let d = deployments("prod");
        for err in [
            d.logs("web", &LogParams::default()).unwrap_err(),
            d.evict("web", &EvictParams::default()).unwrap_err(),
            d.get_ephemeral_containers("web").unwrap_err(),
        ] {
            assert!(
                matches!(&err, RequestError::UnsupportedSubresource { kind, .. } if kind == "Deployment"),
                "{err}"
            );
        }
    }

    #[test]
    fn subresource_names_are_validated() {
        let d = deployments("prod");
        let err = d
            .get_subresource("a/b", "web", &GetParams::default())
            .unwrap_err();
        assert!(matches!(
            err,
            RequestError::InvalidSegment {
                segment: Segment::Subresource,
                ..
            }
        ));
        let req = d
            .create_subresource("rollback", "web", &PostParams::default(), &json!({}))
            .unwrap();
        assert_eq!(
            req.uri(),
            "/apis/apps/v1/namespaces/prod/deployments/web/rollback"
        );
    }
}
