//! The `Authorization` header for each request, from the kubeconfig's credentials.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use base64::Engine;
use http::HeaderValue;
use klient_proto::config::{
    Auth, ClusterConfig, EXEC_INFO_ENV, ExecConfig, ExecCredential, MAX_EXEC_OUTPUT_LEN, SecretBytes,
    SecretString, TOKEN_FILE_REFRESH_INTERVAL, exec_info_json, exec_interactive, parse_exec_output,
    token_from_file,
};

use crate::{Error, Result};

/// Produces the `Authorization` value; token files are re-read as they rotate.
pub(crate) enum Authorizer {
    None,
    Fixed(HeaderValue),
    TokenFile {
        path: PathBuf,
        cached: Mutex<Option<(SecretString, Instant)>>,
    },
    Exec(Box<ExecPlugin>),
}

impl Authorizer {
    pub(crate) fn new(auth: &Auth, cluster: &ClusterConfig, ca_pem: &[u8]) -> Result<Authorizer> {
        Ok(match auth {
            Auth::None => Authorizer::None,
            Auth::BearerToken(token) => Authorizer::Fixed(bearer(token)?),
            Auth::TokenFile { path, initial } => Authorizer::TokenFile {
                path: path.clone(),
                cached: Mutex::new(initial.clone().map(|t| (t, Instant::now()))),
            },
            Auth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                Authorizer::Fixed(sensitive(format!("Basic {encoded}"))?)
            }
            Auth::Exec(exec) => Authorizer::Exec(Box::new(ExecPlugin {
                exec: exec.clone(),
                cluster: cluster.clone(),
                ca_pem: ca_pem.to_vec(),
                cached: Mutex::new(None),
            })),
            Auth::AuthProvider(provider) => {
                return Err(Error::Unsupported(format!(
                    "auth-provider {:?}: removed from kubectl in 1.26; use an exec plugin",
                    provider.name
                )));
            }
        })
    }

    /// The header value for a request made now.
    pub(crate) fn header(&self) -> Result<Option<HeaderValue>> {
        match self {
            Authorizer::None => Ok(None),
            Authorizer::Fixed(value) => Ok(Some(value.clone())),
            Authorizer::TokenFile { path, cached } => {
                let mut cached = cached.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let fresh =
                    matches!(&*cached, Some((_, read)) if read.elapsed() < TOKEN_FILE_REFRESH_INTERVAL);
                if !fresh {
                    let bytes = std::fs::read(path).map_err(|source| Error::ReadFile {
                        path: path.clone(),
                        source,
                    })?;
                    let token = token_from_file(&bytes)
                        .map_err(|e| Error::Auth(format!("token file {}: {e}", path.display())))?;
                    *cached = Some((token, Instant::now()));
                }
                let (token, _) = cached
                    .as_ref()
                    .ok_or_else(|| Error::Auth("token file not read".into()))?;
                Ok(Some(bearer(token)?))
            }
            Authorizer::Exec(plugin) => match plugin.credential()?.token {
                Some(token) => Ok(Some(bearer(&token)?)),
                None => Ok(None),
            },
        }
    }

    /// The client certificate and key an exec plugin returned, if it returned one.
    pub(crate) fn identity(&self) -> Result<Option<(Vec<u8>, SecretBytes)>> {
        match self {
            Authorizer::Exec(plugin) => {
                let credential = plugin.credential()?;
                Ok(credential.client_certificate.zip(credential.client_key))
            }
            _ => Ok(None),
        }
    }

    /// Whether a 401 may be cured by fetching the credential again.
    pub(crate) fn can_refresh(&self) -> bool {
        matches!(self, Authorizer::TokenFile { .. } | Authorizer::Exec(_))
    }

    /// Forgets a cached token so the next request reads the file again (after a 401).
    pub(crate) fn invalidate(&self) {
        match self {
            Authorizer::TokenFile { cached, .. } => *cached.lock().unwrap_or_else(|p| p.into_inner()) = None,
            Authorizer::Exec(plugin) => *plugin.cached.lock().unwrap_or_else(|p| p.into_inner()) = None,
            _ => {}
        }
    }
}

fn bearer(token: &SecretString) -> Result<HeaderValue> {
    sensitive(format!("Bearer {}", token.expose()))
}

fn sensitive(value: String) -> Result<HeaderValue> {
    // The error names no part of the value: it is a secret.
    let mut value = HeaderValue::try_from(value)
        .map_err(|_| Error::Auth("the credential holds characters not allowed in a header".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// An exec credential plugin (`client.authentication.k8s.io`): run when no unexpired credential
/// is cached, and again after a 401.
pub(crate) struct ExecPlugin {
    exec: ExecConfig,
    cluster: ClusterConfig,
    ca_pem: Vec<u8>,
    cached: Mutex<Option<ExecCredential>>,
}

/// How much of a failing plugin's stderr an error quotes.
const MAX_STDERR_IN_ERROR: usize = 4096;

impl ExecPlugin {
    fn credential(&self) -> Result<ExecCredential> {
        // Held while the plugin runs, so concurrent requests wait for one run instead of starting many.
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(credential) = cached.as_ref().filter(|c| c.is_valid_at(SystemTime::now())) {
            return Ok(credential.clone());
        }
        let credential = self.run()?;
        *cached = Some(credential.clone());
        Ok(credential)
    }

    fn run(&self) -> Result<ExecCredential> {
        let exec = &self.exec;
        let failed = |what: String| Error::Auth(format!("exec plugin {:?}: {what}", exec.command));
        let interactive =
            exec_interactive(exec, std::io::stdin().is_terminal()).map_err(|e| Error::Auth(e.to_string()))?;
        let info = exec_info_json(exec, &self.cluster, Some(&self.ca_pem), interactive)
            .map_err(|e| Error::Auth(e.to_string()))?;
        let mut command = Command::new(&exec.command);
        command.args(&exec.args).env(EXEC_INFO_ENV, info);
        for var in &exec.env {
            command.env(&var.name, var.value.expose());
        }
        command
            .stdin(if interactive {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(if interactive {
                Stdio::inherit()
            } else {
                Stdio::piped()
            });
        let mut child = command.spawn().map_err(|e| {
            let hint = exec
                .install_hint
                .as_deref()
                .map(|h| format!("\n{h}"))
                .unwrap_or_default();
            failed(format!("cannot start: {e}{hint}"))
        })?;
        // stderr is drained on its own thread so a chatty plugin cannot block on a full pipe.
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                let _ = pipe.read_to_end(&mut text);
                text
            })
        });
        let mut stdout = Vec::new();
        let mut pipe = child.stdout.take().ok_or_else(|| failed("no stdout".into()))?;
        // One byte over the limit is enough to report that the output is too large.
        pipe.by_ref()
            .take(MAX_EXEC_OUTPUT_LEN as u64 + 1)
            .read_to_end(&mut stdout)
            .map_err(|e| failed(e.to_string()))?;
        drop(pipe);
        let status = child.wait().map_err(|e| failed(e.to_string()))?;
        let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
        if !status.success() {
            let quoted = String::from_utf8_lossy(&stderr[..stderr.len().min(MAX_STDERR_IN_ERROR)])
                .trim()
                .to_owned();
            return Err(failed(format!("{status}; stderr: {quoted:?}")));
        }
        // The plugin's stdout holds the secret: errors from parsing it name only what is wrong.
        parse_exec_output(exec, &stdout).map_err(|e| Error::Auth(e.to_string()))
    }
}
