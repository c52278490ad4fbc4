//! The credentials machine: which credential a request carries, and when the adapter must read
//! a token file or run an exec plugin to get a new one.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use http::HeaderValue;

use crate::config::{Auth, ClusterConfig, ExecConfig, ExecPluginError, token_from_file};

use super::config::AuthConfig;
use super::credential::{ClientIdentity, Credential, Generation, Refresh, basic, bearer};
use super::error::{AuthError, PluginFailure};
use super::plugin::{Judged, PluginOutcome, PluginRun, plan_run};

/// Names one fetch (a token file read or a plugin run); its result is handed back with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FetchId(pub u64);

/// What the adapter must do to get a credential.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Read this file whole and hand the bytes (or the read's error kind) to
    /// [`Authenticator::handle_token_file`].
    ReadTokenFile {
        /// The file.
        path: PathBuf,
    },
    /// Run this plugin and hand what became of it to [`Authenticator::handle_plugin_outcome`].
    RunPlugin(PluginRun),
}

/// What a request must do before it can be sent, from [`Authenticator::poll_action`].
#[must_use]
#[derive(Debug)]
pub enum Next {
    /// A usable credential is held: send the request with [`Authenticator::authorization`] and
    /// [`Authenticator::client_identity`], and remember [`Authenticator::generation`] in case
    /// it is answered with 401.
    Ready,
    /// This caller fetches: carry out the action, hand the result back with the id, then poll
    /// again. Everyone else is told to [`Wait`](Next::Wait) meanwhile.
    Fetch(FetchId, Action),
    /// Another caller's fetch is under way: wait until a result is handed back (or until
    /// [`Authenticator::poll_timeout`]), then ask [`Authenticator::poll_after_fetch`] with this id.
    Wait(FetchId),
    /// No credential can be had now. A failed fetch's error goes to the requests that waited for
    /// it, and to every new request until [`AuthConfig::retry_after_failure`] has passed; then
    /// a new fetch is tried.
    Failed(AuthError),
}

/// A result the machine could not accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    /// The fetch is no longer under way (it timed out or was abandoned): drop its result.
    NotCurrent {
        /// The fetch named in the input.
        id: FetchId,
    },
    /// The result is of the other kind: a token file's contents for a plugin run, or the reverse.
    WrongResult {
        /// The fetch named in the input.
        id: FetchId,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotCurrent { id } => write!(f, "fetch {} is no longer under way", id.0),
            Self::WrongResult { id } => write!(f, "fetch {} expects the other kind of result", id.0),
        }
    }
}

impl std::error::Error for InputError {}

/// Where credentials come from.
#[derive(Debug)]
enum Source {
    /// No `Authorization` header.
    Anonymous,
    /// A token or user name and password from the kubeconfig: held from the start, never
    /// refreshed.
    Fixed,
    /// A token file, read again as it rotates.
    TokenFile { path: PathBuf },
    /// An exec plugin, and the run it asks for (or why it cannot run at all).
    Plugin {
        exec: Box<ExecConfig>,
        run: Result<PluginRun, ExecPluginError>,
    },
}

#[derive(Debug)]
enum FetchState {
    Idle,
    InFlight {
        id: FetchId,
        started: Instant,
        timeout: Option<Duration>,
    },
}

/// The last fetch that failed, while no later one succeeded.
#[derive(Debug)]
struct Failure {
    fetch: FetchId,
    error: AuthError,
    /// New requests get `error` until then; requests that waited for `fetch` get it regardless.
    until: Instant,
}

/// The credentials of one client, as a sans-IO machine: it decides when a token file is read
/// again, when an exec plugin runs (and with which timeout), how long a credential is used, and
/// what a 401 means; the adapter reads files, runs processes and reads the clock.
///
/// Drive it for each request, with the machine behind the lock that requests share:
///
/// 1. [`poll_action`](Self::poll_action) with the current time:
///    - [`Next::Ready`]: read [`authorization`](Self::authorization),
///      [`client_identity`](Self::client_identity) and [`generation`](Self::generation), and send;
///    - [`Next::Fetch`]: release the lock, carry out the [`Action`], take the lock, hand back the
///      result ([`handle_token_file`](Self::handle_token_file),
///      [`handle_plugin_outcome`](Self::handle_plugin_outcome)), wake the waiters, poll again;
///    - [`Next::Wait`]: wait for a waker or for [`poll_timeout`](Self::poll_timeout), then
///      [`poll_after_fetch`](Self::poll_after_fetch), which answers like `poll_action` except that
///      the fetch waited for, if it failed, fails this request too;
///    - [`Next::Failed`]: fail the request.
/// 2. On a 401, [`handle_unauthorized`](Self::handle_unauthorized) with the generation the request
///    carried says whether sending it again with a fresh credential may help.
///
/// A fetch is never started twice at once, so a slow plugin runs once for all the requests
/// that wait for it; a caller that gives up on its fetch (a cancelled task) calls
/// [`abandon_fetch`](Self::abandon_fetch) so that another caller can start a new one.
///
/// ```
/// use std::path::PathBuf;
/// use std::time::Instant;
/// use klient_proto::auth::{Action, AuthConfig, Authenticator, Next};
/// use klient_proto::config::{Auth, ClusterConfig, ServerUrl};
///
/// let cluster = ClusterConfig {
///     server: ServerUrl::parse("https://10.0.0.1").unwrap(),
///     certificate_authority: None,
///     tls_server_name: None,
///     insecure_skip_tls_verify: false,
///     proxy_url: None,
///     disable_compression: false,
///     exec_extension: None,
/// };
/// let auth = Auth::TokenFile { path: PathBuf::from("/var/run/token"), initial: None };
/// let mut auth = Authenticator::new(&auth, &cluster, &[], AuthConfig::default()).unwrap();
///
/// let now = Instant::now();
/// let Next::Fetch(id, Action::ReadTokenFile { path }) = auth.poll_action(now) else { panic!() };
/// assert_eq!(path, PathBuf::from("/var/run/token")); // the adapter reads it, then hands it back:
/// assert!(matches!(auth.poll_action(now), Next::Wait(_))); // a second request waits for it
/// auth.handle_token_file(id, Ok(b"t0ken\n".to_vec()), now).unwrap();
/// assert!(matches!(auth.poll_action(now), Next::Ready));
/// assert_eq!(auth.authorization().unwrap(), "Bearer t0ken");
///
/// // A 401 forgets the token: the next request reads the file again.
/// assert!(auth.handle_unauthorized(auth.generation()));
/// assert!(matches!(auth.poll_action(now), Next::Fetch(_, Action::ReadTokenFile { .. })));
/// ```
#[derive(Debug)]
pub struct Authenticator {
    source: Source,
    config: AuthConfig,
    /// The credential requests use; `None` when none is held or the held one may not be used.
    credential: Option<Credential>,
    fetch: FetchState,
    failure: Option<Failure>,
    last_fetch: FetchId,
    last_generation: Generation,
}

impl Authenticator {
    /// The machine for a resolved kubeconfig's `auth`. `cluster` and `ca_pem` (the bytes of the
    /// cluster's CA bundle, empty when there is none) are what an exec plugin may ask to be
    /// told (`provideClusterInfo`).
    pub fn new(
        auth: &Auth,
        cluster: &ClusterConfig,
        ca_pem: &[u8],
        config: AuthConfig,
    ) -> Result<Self, AuthError> {
        let fixed = |authorization: Option<HeaderValue>| {
            let authorization = authorization.ok_or(AuthError::CredentialNotHeaderSafe)?;
            Ok::<_, AuthError>(Some(Credential {
                authorization: Some(authorization),
                identity: None,
                generation: Generation(1),
                refresh: Refresh::OnUnauthorized,
                usable_when_stale: false,
            }))
        };
        let (source, credential) = match auth {
            Auth::None => (Source::Anonymous, None),
            Auth::BearerToken(token) => (Source::Fixed, fixed(bearer(token))?),
            Auth::Basic { username, password } => (Source::Fixed, fixed(basic(username, password))?),
            Auth::TokenFile { path, initial } => {
                // The kubeconfig's `token` beside a `tokenFile` serves until the first re-read.
                let credential = match initial {
                    Some(token) => fixed(bearer(token))?.map(|c| Credential {
                        refresh: Refresh::AfterFirstUse,
                        usable_when_stale: true,
                        ..c
                    }),
                    None => None,
                };
                let path = path.clone();
                (Source::TokenFile { path }, credential)
            }
            Auth::Exec(exec) => {
                let run = plan_run(exec, cluster, ca_pem, &config);
                let exec = Box::new(exec.clone());
                (Source::Plugin { exec, run }, None)
            }
            Auth::AuthProvider(provider) => {
                let name = provider.name.clone();
                return Err(AuthError::AuthProviderUnsupported { name });
            }
        };
        let last_generation = credential.as_ref().map_or(Generation(0), |c| c.generation);
        Ok(Self {
            source,
            config,
            credential,
            fetch: FetchState::Idle,
            failure: None,
            last_fetch: FetchId(0),
            last_generation,
        })
    }

    /// The settings.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Whether a 401 may be cured by fetching the credential again: true for token files and
    /// exec plugins, false for fixed tokens, user names and passwords, and no credential.
    pub fn is_refreshable(&self) -> bool {
        matches!(self.source, Source::TokenFile { .. } | Source::Plugin { .. })
    }

    /// The `Authorization` value (marked sensitive) of the credential held, if it has one.
    /// Meaningful right after [`poll_action`](Self::poll_action) said [`Next::Ready`].
    pub fn authorization(&self) -> Option<&HeaderValue> {
        self.credential.as_ref()?.authorization.as_ref()
    }

    /// The client certificate and key an exec plugin returned with the credential held.
    pub fn client_identity(&self) -> Option<&ClientIdentity> {
        self.credential.as_ref()?.identity.as_ref()
    }

    /// The generation of the credential held (or of the last one, when none is held).
    pub fn generation(&self) -> Generation {
        self.credential
            .as_ref()
            .map_or(self.last_generation, |c| c.generation)
    }

    /// The fetch under way, if any.
    pub fn fetch_in_flight(&self) -> Option<FetchId> {
        match self.fetch {
            FetchState::InFlight { id, .. } => Some(id),
            FetchState::Idle => None,
        }
    }

    /// What a request must do before it can be sent at `now` (see [`Next`]). Applies
    /// [`handle_timeout`](Self::handle_timeout) first.
    pub fn poll_action(&mut self, now: Instant) -> Next {
        self.poll(None, now)
    }

    /// [`poll_action`](Self::poll_action) for a request that carried out fetch `fetch` or was
    /// told to [`Wait`](Next::Wait) for it: when that fetch (or a later one) failed and none
    /// succeeded since, its error, however long ago. So every request that waited for a plugin
    /// that timed out fails with it, and none of them starts a run of its own.
    pub fn poll_after_fetch(&mut self, fetch: FetchId, now: Instant) -> Next {
        self.poll(Some(fetch), now)
    }

    fn poll(&mut self, after: Option<FetchId>, now: Instant) -> Next {
        self.handle_timeout(now);
        if matches!(self.source, Source::Anonymous | Source::Fixed) {
            return Next::Ready;
        }
        if let Some(credential) = &mut self.credential {
            if credential.refresh == Refresh::AfterFirstUse {
                credential.refresh = Refresh::At(now + self.config.token_file_refresh);
            }
            if credential.is_fresh(now) {
                return Next::Ready;
            }
            if !credential.usable_when_stale {
                self.credential = None;
            }
        }
        // A token file's token that is only due for a re-read serves while the read is under
        // way and after it failed, as client-go's cachingTokenSource does.
        if self.credential.is_some() {
            return match (&self.fetch, &self.failure) {
                (FetchState::Idle, Some(failure)) if now >= failure.until => self.begin_fetch(now),
                (FetchState::Idle, None) => self.begin_fetch(now),
                _ => Next::Ready,
            };
        }
        match (&self.fetch, &self.failure) {
            (_, Some(failure)) if after.is_some_and(|fetch| failure.fetch >= fetch) => {
                Next::Failed(failure.error.clone())
            }
            (FetchState::InFlight { id, .. }, _) => Next::Wait(*id),
            (FetchState::Idle, Some(failure)) if now < failure.until => Next::Failed(failure.error.clone()),
            (FetchState::Idle, _) => self.begin_fetch(now),
        }
    }

    fn begin_fetch(&mut self, now: Instant) -> Next {
        let action = match &self.source {
            Source::TokenFile { path } => Action::ReadTokenFile { path: path.clone() },
            Source::Plugin { run: Ok(run), .. } => Action::RunPlugin(run.clone()),
            // A configuration the protocol rejects stays rejected: nothing to run.
            Source::Plugin { run: Err(error), .. } => return Next::Failed(AuthError::Exec(error.clone())),
            Source::Anonymous | Source::Fixed => return Next::Ready,
        };
        let timeout = match &action {
            Action::RunPlugin(run) => run.timeout,
            Action::ReadTokenFile { .. } => None,
        };
        self.last_fetch = FetchId(self.last_fetch.0 + 1);
        let id = self.last_fetch;
        self.fetch = FetchState::InFlight {
            id,
            started: now,
            timeout,
        };
        Next::Fetch(id, action)
    }

    /// When the plugin run under way times out: wait no longer than this for its result, then
    /// poll (or call [`handle_timeout`](Self::handle_timeout)). `None` when nothing can time out.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.fetch {
            FetchState::InFlight {
                started,
                timeout: Some(timeout),
                ..
            } => Some(started + timeout),
            FetchState::InFlight { timeout: None, .. } | FetchState::Idle => None,
        }
    }

    /// Applies the clock: a plugin run past its timeout has failed, whether or not the adapter
    /// has reported it yet (its report, should it come, is then [`InputError::NotCurrent`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        if let FetchState::InFlight {
            id,
            started,
            timeout: Some(after),
        } = self.fetch
            && now >= started + after
        {
            self.fetch = FetchState::Idle;
            let command = self.plugin_command();
            let failure = PluginFailure::TimedOut { after };
            self.fail(id, AuthError::Plugin { command, failure }, now);
        }
    }

    /// The result of an [`Action::ReadTokenFile`]: the file's bytes, or the kind of error the
    /// read failed with.
    pub fn handle_token_file(
        &mut self,
        id: FetchId,
        contents: Result<Vec<u8>, io::ErrorKind>,
        now: Instant,
    ) -> Result<(), InputError> {
        let Source::TokenFile { path } = &self.source else {
            return Err(self.wrong_result(id));
        };
        take_fetch(&mut self.fetch, id)?;
        let token = contents
            .map_err(|kind| AuthError::TokenFileUnreadable {
                path: path.clone(),
                kind,
            })
            .and_then(|bytes| {
                token_from_file(&bytes).map_err(|error| AuthError::TokenFileInvalid {
                    path: path.clone(),
                    error,
                })
            });
        // token_from_file admits only characters a header can carry.
        match token.and_then(|token| bearer(&token).ok_or(AuthError::CredentialNotHeaderSafe)) {
            Ok(authorization) => self.store(Credential {
                authorization: Some(authorization),
                identity: None,
                generation: Generation(0),
                refresh: Refresh::At(now + self.config.token_file_refresh),
                usable_when_stale: true,
            }),
            Err(error) => self.fail(id, error, now),
        }
        Ok(())
    }

    /// The result of an [`Action::RunPlugin`]. `finished` is the wall-clock time read together
    /// with `now` when the run ended: the plugin's `expirationTimestamp` is wall-clock, and is
    /// turned into an `Instant` deadline here.
    pub fn handle_plugin_outcome(
        &mut self,
        id: FetchId,
        outcome: PluginOutcome,
        now: Instant,
        finished: SystemTime,
    ) -> Result<(), InputError> {
        let Source::Plugin { exec, .. } = &self.source else {
            return Err(self.wrong_result(id));
        };
        let (started, timeout) = take_fetch(&mut self.fetch, id)?;
        let judged = Judged {
            exec,
            timeout,
            started,
            expiry_margin: self.config.expiry_margin,
        };
        match judged.judge(outcome, now, finished) {
            Ok(credential) => self.store(credential),
            Err(error) => self.fail(id, error, now),
        }
        Ok(())
    }

    /// A request sent with the credential of generation `used` was answered 401. Returns whether
    /// sending it again with a fresh credential may cure that (token files and plugins), and
    /// forgets that credential so the next [`poll_action`](Self::poll_action) fetches another.
    /// A credential is forgotten once: 401s of other requests that carried it, arriving after
    /// a newer one was fetched, change nothing.
    #[must_use]
    pub fn handle_unauthorized(&mut self, used: Generation) -> bool {
        if !self.is_refreshable() {
            return false;
        }
        if self.credential.as_ref().is_some_and(|c| c.generation == used) {
            self.credential = None;
        }
        true
    }

    /// The caller that was handed fetch `id` will not report its result (its task was
    /// cancelled, or it gave up): the next poll starts a new fetch.
    pub fn abandon_fetch(&mut self, id: FetchId) -> Result<(), InputError> {
        take_fetch(&mut self.fetch, id).map(|_| ())
    }

    fn wrong_result(&self, id: FetchId) -> InputError {
        match self.fetch {
            FetchState::InFlight { id: current, .. } if current == id => InputError::WrongResult { id },
            FetchState::InFlight { .. } | FetchState::Idle => InputError::NotCurrent { id },
        }
    }

    fn store(&mut self, credential: Credential) {
        self.failure = None;
        self.last_generation = Generation(self.last_generation.0 + 1);
        self.credential = Some(Credential {
            generation: self.last_generation,
            ..credential
        });
    }

    fn fail(&mut self, fetch: FetchId, error: AuthError, now: Instant) {
        let until = now + self.config.retry_after_failure;
        self.failure = Some(Failure { fetch, error, until });
    }

    fn plugin_command(&self) -> String {
        match &self.source {
            Source::Plugin { exec, .. } => exec.command.clone(),
            _ => String::new(),
        }
    }
}

/// Ends fetch `id` if it is the one under way, with when it started and its timeout.
fn take_fetch(fetch: &mut FetchState, id: FetchId) -> Result<(Instant, Option<Duration>), InputError> {
    match *fetch {
        FetchState::InFlight {
            id: current,
            started,
            timeout,
        } if current == id => {
            *fetch = FetchState::Idle;
            Ok((started, timeout))
        }
        _ => Err(InputError::NotCurrent { id }),
    }
}
