//! What the request builders need to know about a kind: where its URLs live and how to read an
//! object's identity.

use std::borrow::Cow;

use super::format::ProtobufCodec;

/// Whether objects of a kind live inside a namespace or directly under the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// URLs look like `.../namespaces/{namespace}/{plural}/{name}`.
    Namespaced,
    /// URLs look like `.../{plural}/{name}`.
    Cluster,
    /// Not a resource of its own but a subresource of another one (`Scale`, `Eviction`,
    /// `TokenRequest`): it has no collection URL and can only be reached through its parent.
    Subresource,
}

/// The scope of a kind as a type, for [`Resource::Scope`]: lets constructors such as
/// `klient_blocking::Api::namespaced` accept only the kinds they can address, at compile time.
///
/// Implemented by [`NamespaceResourceScope`], [`ClusterResourceScope`], [`SubResourceScope`] and
/// [`DynamicResourceScope`] only (the names and meaning are k8s-openapi's and kube's).
pub trait ResourceScope: sealed::Sealed {
    /// The scope the marker stands for; `None` for [`DynamicResourceScope`], whose kinds say it
    /// at run time.
    const SCOPE: Option<Scope>;
}

/// The scopes of kinds that have URLs of their own: namespaced and cluster-scoped, not
/// subresources. Any of these can be listed and watched across the cluster.
#[diagnostic::on_unimplemented(
    message = "kinds of scope `{Self}` have no URLs of their own",
    note = "subresources (Scale, Eviction...) are reached through an object of their parent kind"
)]
pub trait RootScope: ResourceScope {}

/// [`Resource::Scope`] of namespaced kinds (`Pod`, `Deployment`, `ConfigMap`...).
#[derive(Debug)]
pub enum NamespaceResourceScope {}

/// [`Resource::Scope`] of cluster-scoped kinds (`Node`, `Namespace`, `ClusterRole`...).
#[derive(Debug)]
pub enum ClusterResourceScope {}

/// [`Resource::Scope`] of subresource kinds (`Scale`, `Eviction`, `TokenRequest`), which are only
/// reached through an object of another kind.
#[derive(Debug)]
pub enum SubResourceScope {}

/// [`Resource::Scope`] of kinds whose scope is known only at run time, from their
/// `DynamicType` ([`DynamicObject`](super::DynamicObject) and its
/// [`ApiResource`](super::ApiResource)): constructors check it when they are called.
#[derive(Debug)]
pub enum DynamicResourceScope {}

impl ResourceScope for NamespaceResourceScope {
    const SCOPE: Option<Scope> = Some(Scope::Namespaced);
}
impl ResourceScope for ClusterResourceScope {
    const SCOPE: Option<Scope> = Some(Scope::Cluster);
}
impl ResourceScope for SubResourceScope {
    const SCOPE: Option<Scope> = Some(Scope::Subresource);
}
impl ResourceScope for DynamicResourceScope {
    const SCOPE: Option<Scope> = None;
}
impl RootScope for NamespaceResourceScope {}
impl RootScope for ClusterResourceScope {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::NamespaceResourceScope {}
    impl Sealed for super::ClusterResourceScope {}
    impl Sealed for super::SubResourceScope {}
    impl Sealed for super::DynamicResourceScope {}
}

/// A Kubernetes kind: its group, version, kind, plural and scope, plus read access to the identity
/// of one of its objects.
///
/// Kinds known at compile time (every k8s-openapi type, behind the `k8s-openapi` feature) use
/// `DynamicType = ()`. Kinds known only at run time ([`DynamicObject`](super::DynamicObject)) carry
/// that knowledge in an [`ApiResource`](super::ApiResource) passed as `DynamicType`.
///
/// The scope is there twice: as a type, [`Scope`](Self::Scope), so that APIs can require a
/// namespaced kind at compile time, and as a value, [`scope`](Self::scope), which is what URLs are
/// built from. For a kind known at compile time the two must agree.
pub trait Resource {
    /// Run-time information needed to describe the kind: `()` when everything is known statically.
    type DynamicType;
    /// The scope as a type: [`NamespaceResourceScope`], [`ClusterResourceScope`] or
    /// [`SubResourceScope`] for kinds known at compile time (k8s-openapi's markers map onto
    /// these), [`DynamicResourceScope`] for kinds whose `DynamicType` says it.
    type Scope: ResourceScope;

    /// The API group, empty for the core group (`""` for pods, `"apps"` for deployments).
    fn group(dt: &Self::DynamicType) -> Cow<'_, str>;
    /// The version inside the group (`"v1"`).
    fn version(dt: &Self::DynamicType) -> Cow<'_, str>;
    /// The kind as written in `kind:` (`"Pod"`).
    fn kind(dt: &Self::DynamicType) -> Cow<'_, str>;
    /// The lower-case plural used in URLs (`"pods"`).
    fn plural(dt: &Self::DynamicType) -> Cow<'_, str>;
    /// Namespaced, cluster-scoped or a subresource (for static kinds, what
    /// [`Scope`](Self::Scope) says).
    fn scope(dt: &Self::DynamicType) -> Scope;

    /// `group/version`, or just `version` for the core group: the value of `apiVersion:`.
    fn api_version(dt: &Self::DynamicType) -> Cow<'_, str> {
        let group = Self::group(dt);
        if group.is_empty() {
            Self::version(dt)
        } else {
            Cow::Owned(format!("{group}/{}", Self::version(dt)))
        }
    }

    /// `metadata.name` of this object, if set.
    fn name(&self) -> Option<&str>;
    /// `metadata.namespace` of this object, if set.
    fn namespace(&self) -> Option<&str>;
    /// `metadata.resourceVersion` of this object, if set (watchers resume from it).
    fn resource_version(&self) -> Option<&str>;
    /// `metadata.uid` of this object, if set.
    fn uid(&self) -> Option<&str>;
    /// One annotation of this object (watchers look for `k8s.io/initial-events-end`).
    fn annotation(&self, key: &str) -> Option<&str>;

    /// How objects of this kind are encoded in protobuf, when the API server speaks protobuf for
    /// the kind: every built-in kind (the k8s-openapi types), never a custom resource. `None`, the
    /// default, keeps the kind on JSON whatever format a client prefers.
    fn protobuf() -> Option<ProtobufCodec<Self>>
    where
        Self: Sized,
    {
        None
    }
}

#[cfg(feature = "k8s-openapi")]
mod openapi {
    //! The bridge to k8s-openapi: every generated type with `ObjectMeta` is a [`Resource`], with
    //! the protobuf codec generated for it (`protobuf/generated`).

    #[cfg(feature = "protobuf")]
    use super::ProtobufCodec;
    use super::{Resource, ResourceScope, Scope};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::borrow::Cow;

    /// Maps k8s-openapi's scope marker types onto [`Scope`] and onto klient's markers.
    pub trait OpenapiScope {
        /// The scope the marker stands for.
        const SCOPE: Scope;
        /// klient's marker of the same scope, the [`Resource::Scope`] of the kind.
        type Marker: ResourceScope;
    }
    impl OpenapiScope for k8s_openapi::NamespaceResourceScope {
        const SCOPE: Scope = Scope::Namespaced;
        type Marker = super::NamespaceResourceScope;
    }
    impl OpenapiScope for k8s_openapi::ClusterResourceScope {
        const SCOPE: Scope = Scope::Cluster;
        type Marker = super::ClusterResourceScope;
    }
    impl OpenapiScope for k8s_openapi::SubResourceScope {
        const SCOPE: Scope = Scope::Subresource;
        type Marker = super::SubResourceScope;
    }

    /// What a k8s-openapi type must also be to count as a [`Resource`]: with the `protobuf`
    /// feature, a protobuf [`Message`](crate::protobuf::Message) (the generated codecs make every
    /// type one); without it, nothing more.
    #[cfg(feature = "protobuf")]
    pub trait MaybeProtobuf: crate::protobuf::Message {}
    #[cfg(feature = "protobuf")]
    impl<K: crate::protobuf::Message> MaybeProtobuf for K {}
    /// What a k8s-openapi type must also be to count as a [`Resource`]: with the `protobuf`
    /// feature, a protobuf `Message`; without it (as now), nothing more.
    #[cfg(not(feature = "protobuf"))]
    pub trait MaybeProtobuf {}
    #[cfg(not(feature = "protobuf"))]
    impl<K> MaybeProtobuf for K {}

    impl<K> Resource for K
    where
        K: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta> + MaybeProtobuf,
        K::Scope: OpenapiScope,
    {
        type DynamicType = ();
        type Scope = <K::Scope as OpenapiScope>::Marker;

        fn group(_: &()) -> Cow<'_, str> {
            Cow::Borrowed(K::GROUP)
        }
        fn version(_: &()) -> Cow<'_, str> {
            Cow::Borrowed(K::VERSION)
        }
        fn kind(_: &()) -> Cow<'_, str> {
            Cow::Borrowed(K::KIND)
        }
        fn plural(_: &()) -> Cow<'_, str> {
            Cow::Borrowed(K::URL_PATH_SEGMENT)
        }
        fn scope(_: &()) -> Scope {
            <K::Scope as OpenapiScope>::SCOPE
        }
        fn api_version(_: &()) -> Cow<'_, str> {
            Cow::Borrowed(K::API_VERSION)
        }
        fn name(&self) -> Option<&str> {
            self.metadata().name.as_deref()
        }
        fn namespace(&self) -> Option<&str> {
            self.metadata().namespace.as_deref()
        }
        fn resource_version(&self) -> Option<&str> {
            self.metadata().resource_version.as_deref()
        }
        fn uid(&self) -> Option<&str> {
            self.metadata().uid.as_deref()
        }
        fn annotation(&self, key: &str) -> Option<&str> {
            self.metadata().annotations.as_ref()?.get(key).map(String::as_str)
        }
        #[cfg(feature = "protobuf")]
        fn protobuf() -> Option<ProtobufCodec<Self>> {
            Some(ProtobufCodec::new(K::API_VERSION, K::KIND))
        }
    }
}

#[cfg(feature = "k8s-openapi")]
pub use openapi::OpenapiScope;

#[cfg(all(test, feature = "k8s-openapi"))]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
    use k8s_openapi::api::policy::v1::Eviction;

    #[test]
    fn openapi_types_describe_themselves() {
        assert_eq!(Pod::api_version(&()), "v1");
        assert_eq!(Pod::plural(&()), "pods");
        assert_eq!(Pod::scope(&()), Scope::Namespaced);
        assert_eq!(Deployment::group(&()), "apps");
        assert_eq!(Deployment::api_version(&()), "apps/v1");
        assert_eq!(Deployment::kind(&()), "Deployment");
        assert_eq!(Node::scope(&()), Scope::Cluster);
        assert_eq!(Namespace::plural(&()), "namespaces");
        assert_eq!(Eviction::scope(&()), Scope::Subresource);
    }

    /// The scope as a type says what the scope as a value says.
    fn scopes_agree<K: Resource<DynamicType = ()>>() {
        assert_eq!(<K::Scope as ResourceScope>::SCOPE, Some(K::scope(&())));
    }

    #[test]
    fn openapi_scopes_map_onto_klient_markers() {
        fn namespaced<K: Resource<Scope = NamespaceResourceScope>>() {}
        fn cluster<K: Resource<Scope = ClusterResourceScope>>() {}
        fn subresource<K: Resource<Scope = SubResourceScope>>() {}
        fn root<K: Resource>()
        where
            K::Scope: RootScope,
        {
        }
        namespaced::<Pod>();
        namespaced::<Deployment>();
        cluster::<Node>();
        cluster::<Namespace>();
        subresource::<Eviction>();
        root::<Pod>();
        root::<Node>();
        scopes_agree::<Pod>();
        scopes_agree::<Node>();
        scopes_agree::<Eviction>();
        assert_eq!(
            <<crate::api::DynamicObject as Resource>::Scope as ResourceScope>::SCOPE,
            None,
            "dynamic objects say their scope at run time"
        );
    }

    /// Without the `protobuf` feature, k8s-openapi types have no codec, and a client set to
    /// protobuf sends and reads them as JSON, as it does custom resources.
    #[cfg(not(feature = "protobuf"))]
    #[test]
    fn without_the_protobuf_feature_openapi_types_speak_json() {
        use crate::api::{Format, Request};
        assert!(Pod::protobuf().is_none());
        let pods = Request::namespaced::<Pod>("prod")
            .unwrap()
            .with_format(Format::Protobuf);
        assert_eq!(pods.format(), Format::Json);
    }

    #[cfg(feature = "protobuf")]
    #[test]
    fn openapi_types_have_their_protobuf_codec() {
        let codec = Pod::protobuf().expect("pods have protobuf");
        assert_eq!((codec.api_version(), codec.kind()), ("v1", "Pod"));
        let codec = Deployment::protobuf().expect("deployments have protobuf");
        assert_eq!((codec.api_version(), codec.kind()), ("apps/v1", "Deployment"));
        let mut pod = Pod::default();
        pod.metadata.name = Some("web-0".into());
        let body = Pod::protobuf().unwrap().encode(&pod);
        assert!(body.starts_with(b"k8s\0\x0a\x09\x0a\x02v1\x12\x03Pod"));
        assert_eq!(
            codec.decode(&body).map(|_| ()),
            Err(crate::protobuf::ProtobufError::UnexpectedKind {
                expected: "apps/v1 Deployment".into(),
                found: "v1 Pod".into(),
            })
        );
        let decoded = Pod::protobuf().unwrap().decode(&body).unwrap();
        assert_eq!(decoded.metadata, pod.metadata);
        // A kind without Go value fields besides its metadata round-trips whole.
        let mut cm = k8s_openapi::api::core::v1::ConfigMap::default();
        cm.metadata.name = Some("c".into());
        cm.data = Some([("k".to_owned(), "v".to_owned())].into());
        let codec = k8s_openapi::api::core::v1::ConfigMap::protobuf().unwrap();
        assert_eq!(codec.decode(&codec.encode(&cm)), Ok(cm));
    }

    #[test]
    fn openapi_objects_expose_identity() {
        let mut pod = Pod::default();
        pod.metadata.name = Some("web-0".into());
        pod.metadata.namespace = Some("prod".into());
        pod.metadata.resource_version = Some("42".into());
        pod.metadata.uid = Some("u-1".into());
        pod.metadata.annotations = Some([("a".to_string(), "b".to_string())].into());
        assert_eq!(Resource::name(&pod), Some("web-0"));
        assert_eq!(Resource::namespace(&pod), Some("prod"));
        assert_eq!(Resource::resource_version(&pod), Some("42"));
        assert_eq!(Resource::uid(&pod), Some("u-1"));
        assert_eq!(pod.annotation("a"), Some("b"));
        assert_eq!(pod.annotation("missing"), None);
    }
}
