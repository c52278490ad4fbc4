//! The `Authorization` header for each request, from the kubeconfig's credentials.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use base64::Engine;
use http::HeaderValue;
use klient_proto::config::{Auth, SecretString, TOKEN_FILE_REFRESH_INTERVAL, token_from_file};

use crate::{Error, Result};

/// Produces the `Authorization` value; token files are re-read as they rotate.
pub(crate) enum Authorizer {
    None,
    Fixed(HeaderValue),
    TokenFile {
        path: PathBuf,
        cached: Mutex<Option<(SecretString, Instant)>>,
    },
}

impl Authorizer {
    pub(crate) fn new(auth: &Auth) -> Result<Authorizer> {
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
            Auth::Exec(exec) => {
                return Err(Error::Unsupported(format!(
                    "exec credential plugin {:?} (exec plugins arrive with the auth work, issue 4)",
                    exec.command
                )));
            }
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
        }
    }

    /// Forgets a cached token so the next request reads the file again (after a 401).
    pub(crate) fn invalidate(&self) {
        if let Authorizer::TokenFile { cached, .. } = self {
            *cached.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
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
