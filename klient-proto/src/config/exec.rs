//! The exec credential plugin protocol (`client.authentication.k8s.io`) as data: the
//! `KUBERNETES_EXEC_INFO` input the adapter passes to the plugin, and the plugin's stdout parsed
//! into a credential with its expiry. Running the plugin is the adapter's job.

use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::error::ParseErrorKind;
use super::fields::Object;
use super::kubeconfig::{ExecConfig, InteractiveMode};
use super::parse::parse_document;
use super::resolved::ClusterConfig;
use super::rfc3339::parse_rfc3339;
use super::secret::{SecretBytes, SecretString};

/// The environment variable that carries [`exec_info_json`] to the plugin.
pub const EXEC_INFO_ENV: &str = "KUBERNETES_EXEC_INFO";
/// The current exec credential API.
pub const EXEC_API_V1: &str = "client.authentication.k8s.io/v1";
/// The previous exec credential API, still written by many cloud tools.
pub const EXEC_API_V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
/// The largest plugin output accepted; real credentials are a few KiB.
pub const MAX_EXEC_OUTPUT_LEN: usize = 1024 * 1024;

/// A plugin could not be used. Errors name the plugin's command, never its output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecPluginError {
    /// The plugin's `command`.
    pub command: String,
    /// What went wrong.
    pub kind: ExecPluginErrorKind,
}

/// What went wrong with an exec plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecPluginErrorKind {
    /// The kubeconfig asks for an API version klient does not speak.
    UnsupportedApiVersion {
        /// The configured version.
        api_version: String,
    },
    /// The plugin must talk to the user (`interactiveMode: Always`) but there is no terminal.
    InteractiveRequired,
    /// The output is larger than [`MAX_EXEC_OUTPUT_LEN`].
    OutputTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The output is not a well-formed `ExecCredential`.
    InvalidOutput(ParseErrorKind),
    /// The output's `apiVersion` differs from the configured one.
    ApiVersionMismatch {
        /// The configured version.
        expected: String,
        /// The version the plugin printed (truncated).
        found: String,
    },
    /// The output's `kind` is not `ExecCredential`.
    WrongKind,
    /// The output has no `status`.
    MissingStatus,
    /// `status` has neither a token nor a certificate and key.
    NoCredential,
    /// `status` has only one of `clientCertificateData` and `clientKeyData`.
    IncompleteCertificate,
    /// `status.expirationTimestamp` is not an RFC 3339 time.
    InvalidExpiration,
}

impl fmt::Display for ExecPluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exec plugin {:?}: ", self.command)?;
        match &self.kind {
            ExecPluginErrorKind::UnsupportedApiVersion { api_version } => write!(
                f,
                "apiVersion {api_version:?} is not supported (use {EXEC_API_V1} or {EXEC_API_V1BETA1})"
            ),
            ExecPluginErrorKind::InteractiveRequired => {
                f.write_str("interactiveMode is Always but there is no terminal to interact with")
            }
            ExecPluginErrorKind::OutputTooLarge { len, max } => {
                write!(f, "output is {len} bytes, more than {max}")
            }
            ExecPluginErrorKind::InvalidOutput(kind) => write!(f, "invalid output: {kind}"),
            ExecPluginErrorKind::ApiVersionMismatch { expected, found } => {
                write!(f, "configured for {expected} but printed apiVersion {found:?}")
            }
            ExecPluginErrorKind::WrongKind => f.write_str("output kind is not ExecCredential"),
            ExecPluginErrorKind::MissingStatus => f.write_str("output has no status"),
            ExecPluginErrorKind::NoCredential => {
                f.write_str("output has neither status.token nor clientCertificateData and clientKeyData")
            }
            ExecPluginErrorKind::IncompleteCertificate => {
                f.write_str("output has only one of clientCertificateData and clientKeyData")
            }
            ExecPluginErrorKind::InvalidExpiration => {
                f.write_str("status.expirationTimestamp is not an RFC 3339 time")
            }
        }
    }
}

impl std::error::Error for ExecPluginError {}

/// What a plugin returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecCredential {
    /// `status.token`: a bearer token.
    pub token: Option<SecretString>,
    /// `status.clientCertificateData` (PEM).
    pub client_certificate: Option<Vec<u8>>,
    /// `status.clientKeyData` (PEM).
    pub client_key: Option<SecretBytes>,
    /// `status.expirationTimestamp`; `None` means valid until the server rejects it (401).
    pub expiration: Option<SystemTime>,
}

impl ExecCredential {
    /// Whether a cached credential can still be used at `now` (the adapter reads the clock).
    /// Run the plugin again when this is false, and on any 401.
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        self.expiration.is_none_or(|expiry| now < expiry)
    }
}

fn error(exec: &ExecConfig, kind: ExecPluginErrorKind) -> ExecPluginError {
    ExecPluginError {
        command: exec.command.clone(),
        kind,
    }
}

/// Whether to give the plugin the terminal, from its `interactiveMode` and whether stdin is a
/// terminal. `interactiveMode: Always` without a terminal is an error.
pub fn exec_interactive(exec: &ExecConfig, stdin_is_terminal: bool) -> Result<bool, ExecPluginError> {
    match exec.interactive_mode.unwrap_or(InteractiveMode::IfAvailable) {
        InteractiveMode::Never => Ok(false),
        InteractiveMode::IfAvailable => Ok(stdin_is_terminal),
        InteractiveMode::Always if stdin_is_terminal => Ok(true),
        InteractiveMode::Always => Err(error(exec, ExecPluginErrorKind::InteractiveRequired)),
    }
}

fn checked_api_version(exec: &ExecConfig) -> Result<&'static str, ExecPluginError> {
    match exec.api_version.as_deref() {
        Some(EXEC_API_V1) => Ok(EXEC_API_V1),
        Some(EXEC_API_V1BETA1) => Ok(EXEC_API_V1BETA1),
        other => Err(error(
            exec,
            ExecPluginErrorKind::UnsupportedApiVersion {
                api_version: other.unwrap_or("").chars().take(64).collect(),
            },
        )),
    }
}

/// The `KUBERNETES_EXEC_INFO` value for a plugin: an `ExecCredential` with `spec.interactive`,
/// and `spec.cluster` when the plugin sets `provideClusterInfo`.
///
/// `ca_data` is the cluster's CA bundle when it is set: the adapter passes the bytes it read
/// for [`ClusterConfig::certificate_authority`]. The adapter then runs `exec.command` with
/// `exec.args`, its own environment plus `exec.env` plus this variable, and stdin only when
/// `interactive`.
///
/// ```
/// use klient_proto::config::{exec_info_json, ExecConfig, InteractiveMode, ServerUrl, ClusterConfig};
/// let exec = ExecConfig {
///     command: "gke-gcloud-auth-plugin".into(),
///     api_version: Some("client.authentication.k8s.io/v1".into()),
///     interactive_mode: Some(InteractiveMode::Never),
///     ..ExecConfig::default()
/// };
/// let cluster = ClusterConfig {
///     server: ServerUrl::parse("https://10.0.0.1").unwrap(),
///     certificate_authority: None,
///     tls_server_name: None,
///     insecure_skip_tls_verify: false,
///     proxy_url: None,
///     disable_compression: false,
///     exec_extension: None,
/// };
/// let info = exec_info_json(&exec, &cluster, None, false).unwrap();
/// assert!(info.contains(r#""interactive":false"#));
/// ```
pub fn exec_info_json(
    exec: &ExecConfig,
    cluster: &ClusterConfig,
    ca_data: Option<&[u8]>,
    interactive: bool,
) -> Result<String, ExecPluginError> {
    let api_version = checked_api_version(exec)?;
    let mut spec = Map::new();
    spec.insert("interactive".into(), Value::Bool(interactive));
    if exec.provide_cluster_info {
        let mut c = Map::new();
        c.insert("server".into(), Value::String(cluster.server.to_string()));
        if let Some(name) = &cluster.tls_server_name {
            c.insert("tls-server-name".into(), Value::String(name.clone()));
        }
        if cluster.insecure_skip_tls_verify {
            c.insert("insecure-skip-tls-verify".into(), Value::Bool(true));
        }
        if let Some(ca) = ca_data.filter(|ca| !ca.is_empty()) {
            let encoded = base64::engine::general_purpose::STANDARD.encode(ca);
            c.insert("certificate-authority-data".into(), Value::String(encoded));
        }
        if let Some(proxy) = &cluster.proxy_url {
            c.insert("proxy-url".into(), Value::String(proxy.clone()));
        }
        if cluster.disable_compression {
            c.insert("disable-compression".into(), Value::Bool(true));
        }
        if let Some(config) = cluster.exec_extension.as_ref().filter(|v| !v.is_null()) {
            c.insert("config".into(), config.clone());
        }
        spec.insert("cluster".into(), Value::Object(c));
    }
    let info = json!({ "apiVersion": api_version, "kind": "ExecCredential", "spec": spec });
    Ok(info.to_string())
}

/// Parses a plugin's stdout into a credential, checking it against the configured plugin.
pub fn parse_exec_output(exec: &ExecConfig, stdout: &[u8]) -> Result<ExecCredential, ExecPluginError> {
    let expected = checked_api_version(exec)?;
    if stdout.len() > MAX_EXEC_OUTPUT_LEN {
        let kind = ExecPluginErrorKind::OutputTooLarge {
            len: stdout.len(),
            max: MAX_EXEC_OUTPUT_LEN,
        };
        return Err(error(exec, kind));
    }
    let invalid = |kind| error(exec, ExecPluginErrorKind::InvalidOutput(kind));
    let doc = parse_document(stdout, MAX_EXEC_OUTPUT_LEN).map_err(invalid)?;
    let root = Object::new(&doc, String::new())
        .map_err(invalid)?
        .ok_or_else(|| error(exec, ExecPluginErrorKind::MissingStatus))?;
    let found = root.string("apiVersion").map_err(invalid)?.unwrap_or_default();
    if found != expected {
        let found = found.chars().take(64).collect();
        return Err(error(
            exec,
            ExecPluginErrorKind::ApiVersionMismatch {
                expected: expected.to_owned(),
                found,
            },
        ));
    }
    if root.string("kind").map_err(invalid)?.as_deref() != Some("ExecCredential") {
        return Err(error(exec, ExecPluginErrorKind::WrongKind));
    }
    let status = root
        .object("status")
        .map_err(invalid)?
        .ok_or_else(|| error(exec, ExecPluginErrorKind::MissingStatus))?;
    let token = status.string("token").map_err(invalid)?.map(SecretString::from);
    let certificate = status.string("clientCertificateData").map_err(invalid)?;
    let key = status.string("clientKeyData").map_err(invalid)?;
    let (client_certificate, client_key) = match (certificate, key) {
        (Some(cert), Some(key)) => (Some(cert.into_bytes()), Some(SecretBytes::from(key.into_bytes()))),
        (None, None) => (None, None),
        _ => return Err(error(exec, ExecPluginErrorKind::IncompleteCertificate)),
    };
    if token.is_none() && client_certificate.is_none() {
        return Err(error(exec, ExecPluginErrorKind::NoCredential));
    }
    let expiration = match status.string("expirationTimestamp").map_err(invalid)? {
        None => None,
        Some(text) => {
            Some(parse_rfc3339(&text).ok_or_else(|| error(exec, ExecPluginErrorKind::InvalidExpiration))?)
        }
    };
    Ok(ExecCredential {
        token,
        client_certificate,
        client_key,
        expiration,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::ServerUrl;

    fn plugin(version: &str) -> ExecConfig {
        ExecConfig {
            command: "/usr/bin/cred-helper".into(),
            api_version: Some(version.into()),
            interactive_mode: Some(InteractiveMode::IfAvailable),
            provide_cluster_info: true,
            ..ExecConfig::default()
        }
    }

    fn cluster() -> ClusterConfig {
        ClusterConfig {
            server: ServerUrl::parse("https://[fd00::1]:6443/base").unwrap(),
            certificate_authority: None,
            tls_server_name: Some("kube.internal".into()),
            insecure_skip_tls_verify: false,
            proxy_url: Some("http://proxy:3128".into()),
            disable_compression: true,
            exec_extension: Some(json!({"audience": "x"})),
        }
    }

    #[test]
    fn exec_info_carries_cluster_only_when_asked() {
        for version in [EXEC_API_V1, EXEC_API_V1BETA1] {
            let info: Value = serde_json::from_str(
                &exec_info_json(&plugin(version), &cluster(), Some(b"CA"), true).unwrap(),
            )
            .unwrap();
            assert_eq!(info["apiVersion"], version);
            assert_eq!(info["kind"], "ExecCredential");
            assert_eq!(info["spec"]["interactive"], true);
            let c = &info["spec"]["cluster"];
            assert_eq!(c["server"], "https://[fd00::1]:6443/base");
            assert_eq!(c["tls-server-name"], "kube.internal");
            assert_eq!(c["certificate-authority-data"], "Q0E=");
            assert_eq!(c["proxy-url"], "http://proxy:3128");
            assert_eq!(c["disable-compression"], true);
            assert_eq!(c["config"]["audience"], "x");
            assert!(c.get("insecure-skip-tls-verify").is_none());
        }
        let quiet = ExecConfig {
            provide_cluster_info: false,
            ..plugin(EXEC_API_V1)
        };
        let info: Value =
            serde_json::from_str(&exec_info_json(&quiet, &cluster(), None, false).unwrap()).unwrap();
        assert_eq!(info["spec"], json!({"interactive": false}));
        let old = plugin("client.authentication.k8s.io/v1alpha1");
        let err = exec_info_json(&old, &cluster(), None, false).unwrap_err();
        assert!(matches!(
            err.kind,
            ExecPluginErrorKind::UnsupportedApiVersion { .. }
        ));
        assert!(err.to_string().contains("/usr/bin/cred-helper"));
    }

    #[test]
    fn interactive_follows_the_mode() {
        let mode = |m| ExecConfig {
            interactive_mode: Some(m),
            ..plugin(EXEC_API_V1)
        };
        assert!(!exec_interactive(&mode(InteractiveMode::Never), true).unwrap());
        assert!(exec_interactive(&mode(InteractiveMode::IfAvailable), true).unwrap());
        assert!(!exec_interactive(&mode(InteractiveMode::IfAvailable), false).unwrap());
        assert!(exec_interactive(&mode(InteractiveMode::Always), true).unwrap());
        let err = exec_interactive(&mode(InteractiveMode::Always), false).unwrap_err();
        assert_eq!(err.kind, ExecPluginErrorKind::InteractiveRequired);
    }

    #[test]
    fn token_output_with_expiry() {
        let out = br#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",
            "status":{"token":"k8s-aws-v1.s3cret","expirationTimestamp":"2026-11-25T23:15:00Z"}}"#;
        let cred = parse_exec_output(&plugin(EXEC_API_V1BETA1), out).unwrap();
        assert_eq!(cred.token.as_ref().unwrap().expose(), "k8s-aws-v1.s3cret");
        let expiry = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_648_500);
        assert_eq!(cred.expiration, Some(expiry));
        assert!(cred.is_valid_at(expiry - Duration::from_secs(1)));
        assert!(!cred.is_valid_at(expiry));
        assert!(!format!("{cred:?}").contains("s3cret"));
    }

    #[test]
    fn certificate_output_without_expiry() {
        let out = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
            "status":{"clientCertificateData":"-----BEGIN CERTIFICATE-----\n","clientKeyData":"-----BEGIN KEY s3cret"}}"#;
        let cred = parse_exec_output(&plugin(EXEC_API_V1), out).unwrap();
        assert_eq!(
            cred.client_certificate.as_deref(),
            Some(&b"-----BEGIN CERTIFICATE-----\n"[..])
        );
        assert_eq!(
            cred.client_key.as_ref().unwrap().expose(),
            b"-----BEGIN KEY s3cret"
        );
        assert!(cred.token.is_none() && cred.expiration.is_none());
        assert!(cred.is_valid_at(SystemTime::UNIX_EPOCH + Duration::from_secs(u32::MAX.into())));
    }

    #[test]
    fn bad_outputs_name_the_plugin_and_hide_the_secrets() {
        let v1 = plugin(EXEC_API_V1);
        let cases: &[(&[u8], ExecPluginErrorKind)] = &[
            (b"", ExecPluginErrorKind::MissingStatus),
            (b"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\"}", ExecPluginErrorKind::MissingStatus),
            (
                b"{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"s3cret\"}}",
                ExecPluginErrorKind::ApiVersionMismatch { expected: EXEC_API_V1.into(), found: EXEC_API_V1BETA1.into() },
            ),
            (b"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"Secret\",\"status\":{\"token\":\"s3cret\"}}", ExecPluginErrorKind::WrongKind),
            (b"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{}}", ExecPluginErrorKind::NoCredential),
            (
                b"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"clientKeyData\":\"s3cret\"}}",
                ExecPluginErrorKind::IncompleteCertificate,
            ),
            (
                b"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"s3cret\",\"expirationTimestamp\":\"soon\"}}",
                ExecPluginErrorKind::InvalidExpiration,
            ),
        ];
        for (out, kind) in cases {
            let err = parse_exec_output(&v1, out).unwrap_err();
            assert_eq!(&err.kind, kind, "{}", String::from_utf8_lossy(out));
            let text = format!("{err} {err:?}");
            assert!(
                text.contains("/usr/bin/cred-helper") && !text.contains("s3cret"),
                "{text}"
            );
        }
        for out in [
            &b"{\"status\": {\"token\": s3cret"[..],
            b"{\"apiVersion\": 1, \"x\": \"s3cret\"}",
            b"s3cret: [\n",
        ] {
            let err = parse_exec_output(&v1, out).unwrap_err();
            assert!(matches!(err.kind, ExecPluginErrorKind::InvalidOutput(_)), "{err}");
            assert!(!format!("{err} {err:?}").contains("s3cret"));
        }
        let big = vec![b' '; MAX_EXEC_OUTPUT_LEN + 1];
        let err = parse_exec_output(&v1, &big).unwrap_err();
        assert_eq!(
            err.kind,
            ExecPluginErrorKind::OutputTooLarge {
                len: MAX_EXEC_OUTPUT_LEN + 1,
                max: MAX_EXEC_OUTPUT_LEN
            }
        );
    }
}
