//! The `Authorization` header and client certificate for each request. klient-proto's
//! [`Authenticator`] decides when a token file is read, when an exec plugin runs and for how
//! long, how long a credential serves and what a 401 means; this file has the runtime read the
//! file or run the process, and wakes the requests that wait for it. The lock is never held
//! across an await, and a request dropped in the middle of a fetch tells the machine so.

use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use event_listener::Event;
use http::HeaderValue;
use klient_proto::auth::{Action, AuthConfig, AuthError, Authenticator, FetchId, Generation, Next};
use klient_proto::config::{Auth, ClusterConfig, SecretBytes};

use crate::io::until;
use crate::runtime::Runtime;
use crate::{Error, Result};

/// Interactive plugins share the terminal, so they run one at a time across the process.
static TERMINAL: async_lock::Mutex<()> = async_lock::Mutex::new(());

/// The credentials of one client, shared by all its requests.
pub(crate) struct Authorizer<R> {
    machine: Mutex<Authenticator>,
    /// Wakes the requests waiting for a fetch when its result is handed back.
    fetched: Event,
    runtime: R,
}

/// What a request is sent with.
pub(crate) struct Credential {
    pub(crate) authorization: Option<HeaderValue>,
    pub(crate) identity: Option<(Vec<u8>, SecretBytes)>,
    /// For [`Authorizer::unauthorized`] after a 401: the credential this request was sent with.
    pub(crate) generation: Generation,
}

/// Where the next look at the machine starts.
enum Step {
    Poll,
    AfterFetch(FetchId),
}

impl<R: Runtime> Authorizer<R> {
    pub(crate) fn new(auth: &Auth, cluster: &ClusterConfig, ca_pem: &[u8], runtime: R) -> Result<Self> {
        let config = AuthConfig {
            stdin_is_terminal: std::io::stdin().is_terminal(),
            ..AuthConfig::default()
        };
        let machine = Authenticator::new(auth, cluster, ca_pem, config).map_err(Error::from)?;
        Ok(Authorizer {
            machine: Mutex::new(machine),
            fetched: Event::new(),
            runtime,
        })
    }

    /// Whether a 401 may be cured by fetching the credential again.
    pub(crate) fn can_refresh(&self) -> bool {
        self.lock().is_refreshable()
    }

    /// A request sent with the credential of `generation` was answered 401: whether sending it
    /// again with a fresh credential may help.
    pub(crate) fn unauthorized(&self, generation: Generation) -> bool {
        self.lock().handle_unauthorized(generation)
    }

    /// The credential for a request made now, after reading the file or running the plugin
    /// when the machine asks, or waiting for the request that does.
    pub(crate) async fn credential(&self) -> Result<Credential, AuthError> {
        let mut step = Step::Poll;
        loop {
            let (waiting, fetch) = {
                let mut machine = self.lock();
                let now = Instant::now();
                let next = match step {
                    Step::Poll => machine.poll_action(now),
                    Step::AfterFetch(id) => machine.poll_after_fetch(id, now),
                };
                match next {
                    Next::Ready => {
                        return Ok(Credential {
                            authorization: machine.authorization().cloned(),
                            identity: machine
                                .client_identity()
                                .map(|identity| (identity.certificate.clone(), identity.key.clone())),
                            generation: machine.generation(),
                        });
                    }
                    Next::Failed(error) => return Err(error),
                    // Listening before the lock is released: a notification cannot slip by.
                    Next::Wait(id) => (Some((id, self.fetched.listen(), machine.poll_timeout())), None),
                    Next::Fetch(id, action) => (None, Some((id, action))),
                }
            };
            if let Some((id, listener, deadline)) = waiting {
                // At the deadline the machine itself fails the wait; either way, look again.
                let _ = until(&self.runtime, deadline, listener).await;
                step = Step::AfterFetch(id);
            }
            if let Some((id, action)) = fetch {
                self.fetch(id, action).await;
                step = Step::AfterFetch(id);
            }
        }
    }

    /// Carries out one fetch without holding the lock, hands its result back, and wakes the
    /// requests waiting for it.
    async fn fetch(&self, id: FetchId, action: Action) {
        let mut abandon = AbandonOnDrop {
            authorizer: self,
            id: Some(id),
        };
        match action {
            Action::ReadTokenFile { path } => {
                let contents = self.runtime.read_file(path).await.map_err(|e| e.kind());
                // NotCurrent is the only refusal possible here, and means the result is no
                // longer wanted: the machine has already told the waiters.
                let _ = self.lock().handle_token_file(id, contents, Instant::now());
            }
            Action::RunPlugin(run) => {
                let _terminal = match run.stdio {
                    klient_proto::auth::PluginStdio::Interactive => Some(TERMINAL.lock().await),
                    klient_proto::auth::PluginStdio::Captured => None,
                };
                let outcome = self.runtime.run_plugin(run).await;
                let (now, finished) = (Instant::now(), SystemTime::now());
                // NotCurrent: the machine timed the run out itself and failed the waiters.
                let _ = self.lock().handle_plugin_outcome(id, outcome, now, finished);
            }
        }
        abandon.id = None;
        self.fetched.notify(usize::MAX);
    }

    fn lock(&self) -> MutexGuard<'_, Authenticator> {
        self.machine
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// If a fetch is dropped (its request cancelled) or panics, the machine hears that it will not
/// be reported, so the next request starts another instead of waiting for it.
struct AbandonOnDrop<'a, R: Runtime> {
    authorizer: &'a Authorizer<R>,
    id: Option<FetchId>,
}

impl<R: Runtime> Drop for AbandonOnDrop<'_, R> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            let _ = self.authorizer.lock().abandon_fetch(id);
            self.authorizer.fetched.notify(usize::MAX);
        }
    }
}
