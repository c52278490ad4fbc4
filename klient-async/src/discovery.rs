//! Discovery over an async [`Client`]: what the server serves, and names resolved to resources.

use http::header::CONTENT_TYPE;
use klient_proto::api::{
    ApiCatalog, ApiGroup, ApiResource, DiscoveryMode, DiscoveryRun, DynamicObject, FailedGroupVersion,
};

use crate::runtime::Runtime;
use crate::{Api, Client, Result};

/// The groups, versions and resources a server serves, and name resolution over them.
///
/// [`Discovery::run`] asks the server (aggregated discovery, two requests);
/// [`Discovery::resolve`] turns a kubectl-style name (`deploy`, `deployments.apps`) into an
/// [`ApiResource`], and [`Discovery::api`] into an `Api` of dynamic objects.
#[derive(Debug)]
pub struct Discovery {
    catalog: ApiCatalog,
}

impl Discovery {
    /// Discovers with aggregated discovery (two requests), falling back to the legacy protocol
    /// (one request per group-version) when the server does not offer it.
    pub async fn run<R: Runtime>(client: &Client<R>) -> Result<Discovery> {
        Discovery::run_with(client, DiscoveryMode::Aggregated).await
    }

    /// Discovers with the protocol asked for; [`DiscoveryMode::Legacy`] never asks for aggregated
    /// discovery.
    pub async fn run_with<R: Runtime>(client: &Client<R>, mode: DiscoveryMode) -> Result<Discovery> {
        let mut run = DiscoveryRun::new(mode);
        // One request at a time: with aggregated discovery there are only two.
        while let Some(next) = run.poll_request() {
            let response = client.send(next.request).await?;
            let content_type = response.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
            run.handle_response(
                &next.target,
                response.status.as_u16(),
                content_type,
                &response.body,
            )?;
        }
        Ok(Discovery {
            catalog: run.finish()?,
        })
    }

    /// The groups, the core group first.
    pub fn groups(&self) -> &[ApiGroup] {
        self.catalog.groups()
    }

    /// One group by name (`""` for the core group).
    pub fn group(&self, name: &str) -> Option<&ApiGroup> {
        self.catalog.group(name)
    }

    /// The group-versions that could not be discovered (an aggregated API server that is down).
    pub fn failures(&self) -> &[FailedGroupVersion] {
        self.catalog.failures()
    }

    /// Everything discovered, with the lookups [`ApiCatalog`] offers.
    pub fn catalog(&self) -> &ApiCatalog {
        &self.catalog
    }

    /// Resolves a plural, singular, short name or kind, optionally group-qualified
    /// (`deploy`, `Deployment`, `deployments.apps`); see [`ApiCatalog::resolve`].
    pub fn resolve(&self, name: &str) -> Result<ApiResource> {
        Ok(self.catalog.resolve(name)?)
    }

    /// An [`Api`] for the resource `name` resolves to, in `namespace` or (with `None`) across
    /// all namespaces or cluster-scoped.
    pub fn api<R: Runtime>(
        &self,
        client: Client<R>,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<Api<DynamicObject, R>> {
        Api::dynamic(client, &self.resolve(name)?, namespace)
    }
}
