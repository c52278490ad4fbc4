//! A credential as requests use it: the `Authorization` value, a client certificate, and
//! when it must be fetched again.

use std::time::Instant;

use base64::Engine as _;
use http::HeaderValue;

use crate::config::{SecretBytes, SecretString};

/// Counts the credentials an [`Authenticator`](super::Authenticator) has held. A request records
/// the generation it was sent with, so that a 401 forgets that credential only if no newer one
/// replaced it meanwhile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Generation(pub u64);

/// A TLS client certificate and key that an exec plugin returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The PEM certificate chain.
    pub certificate: Vec<u8>,
    /// The PEM private key (`Debug` prints `<redacted>`).
    pub key: SecretBytes,
}

/// When a held credential must be fetched again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refresh {
    /// Only after a 401 (fixed tokens, plugin credentials without an expiry).
    OnUnauthorized,
    /// At this instant.
    At(Instant),
    /// The kubeconfig's `token` given beside a `tokenFile`: read the file one refresh interval
    /// after the first request.
    AfterFirstUse,
}

/// What a request is authorized with. `Debug` shows no secret: the header value is marked
/// sensitive and the key is a [`SecretBytes`].
#[derive(Clone, Debug)]
pub(super) struct Credential {
    pub(super) authorization: Option<HeaderValue>,
    pub(super) identity: Option<ClientIdentity>,
    pub(super) generation: Generation,
    pub(super) refresh: Refresh,
    /// Whether it may still be used while a refresh is under way or after one failed: a token
    /// file's token was not known to be bad, only due for a re-read; a plugin's credential
    /// past its expiry is no longer valid.
    pub(super) usable_when_stale: bool,
}

impl Credential {
    pub(super) fn is_fresh(&self, now: Instant) -> bool {
        match self.refresh {
            Refresh::At(due) => now < due,
            Refresh::OnUnauthorized | Refresh::AfterFirstUse => true,
        }
    }
}

/// `Bearer <token>`, marked sensitive; `None` when the token cannot be a header value.
pub(super) fn bearer(token: &SecretString) -> Option<HeaderValue> {
    sensitive(format!("Bearer {}", token.expose()))
}

/// `Basic base64(user:password)`, marked sensitive (base64 is always a valid header value).
pub(super) fn basic(username: &str, password: &SecretString) -> Option<HeaderValue> {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{}", password.expose()));
    sensitive(format!("Basic {encoded}"))
}

fn sensitive(value: String) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}
