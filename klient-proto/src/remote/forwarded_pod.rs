//! The pod behind a port-forward listener, and when the listener must end because of it.
//!
//! A listener outlives its connections, so one connection failing says little (a port nothing
//! listens on, a client that went away). But a pod that was deleted, replaced by another of the
//! same name, or has finished makes *every* later connection fail: a listener that kept
//! accepting would hand out connections that close at once, for ever. kubectl reads the pod
//! once, when it starts; klient reads it again after a forwarded connection fails, and the
//! listener ends with [`PodUnavailable`] when the pod is gone. A read that itself fails (the API
//! server restarting) says nothing about the pod: the listener goes on.
//!
//! [`ForwardedPod`] makes those decisions; the adapters send the GETs it asks for and hand it
//! the answers. At most one read is out at a time; connections that fail while it is out ask
//! for one more read after it (the pod may have gone in between).

use std::fmt;

use http::Request;
use serde::Deserialize;

use crate::api::{
    ApiResource, BodySnippet, GetParams, Request as ApiRequest, RequestError, ResponseError, Scope,
    StatusReason, decode_error,
};

/// Why a pod cannot be forwarded to: it does not run (at bind), or it is gone (later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodUnavailable {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// What the API server said about it.
    pub reason: Unavailability,
}

/// What became of a forwarded pod.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unavailability {
    /// No pod of that name exists any more.
    NotFound,
    /// A pod of that name exists, but it is another one (a new uid: a StatefulSet's pod
    /// recreated, say); connections would reach a different process.
    Replaced {
        /// The uid of the pod the listener was bound to.
        was: String,
        /// The uid of the pod there now.
        now: String,
    },
    /// The pod is not running: not yet (at bind, as kubectl refuses too) or no more
    /// (`Succeeded`, `Failed`).
    NotRunning {
        /// Its `status.phase` (empty when it has none).
        phase: String,
    },
    /// The pod is being deleted (its `deletionTimestamp` is set) and connections to it fail.
    Deleting,
}

impl fmt::Display for PodUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            namespace,
            name,
            reason,
        } = self;
        match reason {
            Unavailability::NotFound => write!(f, "pod {namespace}/{name} is gone: it no longer exists"),
            Unavailability::Replaced { was, now } => write!(
                f,
                "pod {namespace}/{name} is gone: another pod of that name replaced it (uid {was} is now {now})"
            ),
            Unavailability::NotRunning { phase } => {
                write!(f, "pod {namespace}/{name} is not running (phase {phase:?})")
            }
            Unavailability::Deleting => write!(f, "pod {namespace}/{name} is gone: it is being deleted"),
        }
    }
}

impl std::error::Error for PodUnavailable {}

/// The pod a listener forwards to, as the listener last knew it.
#[derive(Debug, Clone)]
pub struct ForwardedPod {
    namespace: String,
    name: String,
    uid: String,
    /// A read of the pod is out.
    checking: bool,
    /// Connections failed while it was out: read again after it.
    failed_meanwhile: bool,
    gone: Option<PodUnavailable>,
}

/// What a read of the pod decided.
#[derive(Debug)]
pub enum PodCheck {
    /// The pod is still there, or the read told nothing: the listener goes on.
    Fine,
    /// Connections failed while the read was out: send this one too.
    Again(Request<Vec<u8>>),
    /// The pod is gone: the listener ends with this.
    Gone(PodUnavailable),
}

/// The parts of a Pod these decisions need (any wire form of a Pod has them).
#[derive(Deserialize)]
struct PodFacts {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    status: Status,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    uid: String,
    #[serde(default)]
    deletion_timestamp: Option<String>,
}

#[derive(Deserialize, Default)]
struct Status {
    #[serde(default)]
    phase: String,
}

impl ForwardedPod {
    /// The GET that reads pod `namespace/name`, as JSON (the API's own request builder, so
    /// no k8s-openapi type is needed).
    pub fn request(namespace: &str, name: &str) -> Result<Request<Vec<u8>>, RequestError> {
        let pods = ApiResource::new("", "v1", "Pod", "pods", Scope::Namespaced);
        ApiRequest::from_api_resource(&pods, Some(namespace))?.get(name, &GetParams::default())
    }

    /// What a listener learns from the answer to [`request`](Self::request) before it binds:
    /// the server's refusal (a 404 for a pod that does not exist, a 403) is that error, and a pod
    /// that does not run is [`Unavailability::NotRunning`], as kubectl refuses it.
    pub fn bind(namespace: &str, name: &str, status: u16, body: &[u8]) -> crate::Result<ForwardedPod> {
        if !(200..300).contains(&status) {
            return Err(decode_error(status, body).into());
        }
        let facts: PodFacts = serde_json::from_slice(body).map_err(|error| ResponseError::Decode {
            code: status,
            error,
            body: BodySnippet::new(body),
        })?;
        let pod = ForwardedPod {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid: facts.metadata.uid,
            checking: false,
            failed_meanwhile: false,
            gone: None,
        };
        if facts.status.phase != "Running" {
            return Err(crate::Error::PodUnavailable(pod.unavailable(
                Unavailability::NotRunning {
                    phase: facts.status.phase,
                },
            )));
        }
        Ok(pod)
    }

    /// A forwarded connection failed: the read to send now, unless one is already out (then it
    /// is followed by one more) or the pod is known to be gone.
    pub fn connection_failed(&mut self) -> Option<Request<Vec<u8>>> {
        if self.gone.is_some() {
            return None;
        }
        if self.checking {
            self.failed_meanwhile = true;
            return None;
        }
        self.checking = true;
        self.next_request()
    }

    /// The answer to the read that was out: its status and body, or `None` when there was none
    /// (the request failed). Only an answer about the pod itself decides anything.
    pub fn checked(&mut self, answer: Option<(u16, &[u8])>) -> PodCheck {
        self.checking = false;
        if let Some(reason) = answer.and_then(|(status, body)| self.verdict(status, body)) {
            let gone = self.unavailable(reason);
            self.gone = Some(gone.clone());
            return PodCheck::Gone(gone);
        }
        if std::mem::take(&mut self.failed_meanwhile) {
            self.checking = true;
            if let Some(request) = self.next_request() {
                return PodCheck::Again(request);
            }
            self.checking = false;
        }
        PodCheck::Fine
    }

    /// Why the pod is gone, once a read said so.
    pub fn gone(&self) -> Option<&PodUnavailable> {
        self.gone.as_ref()
    }

    /// What one answer says, if it says the pod is gone.
    fn verdict(&self, status: u16, body: &[u8]) -> Option<Unavailability> {
        if status == 404 {
            // A 404 without a Status (a proxy's page, a missing API) is not about the pod.
            let api = decode_error(status, body);
            return api
                .api()
                .is_some_and(|e| e.reason == StatusReason::NotFound)
                .then_some(Unavailability::NotFound);
        }
        if !(200..300).contains(&status) {
            return None;
        }
        let facts: PodFacts = serde_json::from_slice(body).ok()?;
        if !self.uid.is_empty() && !facts.metadata.uid.is_empty() && facts.metadata.uid != self.uid {
            return Some(Unavailability::Replaced {
                was: self.uid.clone(),
                now: facts.metadata.uid,
            });
        }
        if facts.metadata.deletion_timestamp.is_some() {
            return Some(Unavailability::Deleting);
        }
        if facts.status.phase != "Running" {
            return Some(Unavailability::NotRunning {
                phase: facts.status.phase,
            });
        }
        None
    }

    fn next_request(&self) -> Option<Request<Vec<u8>>> {
        // The names were checked when the listener bound: this cannot fail.
        Self::request(&self.namespace, &self.name).ok()
    }

    fn unavailable(&self, reason: Unavailability) -> PodUnavailable {
        PodUnavailable {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uid: &str, phase: &str, deleting: bool) -> Vec<u8> {
        let deletion = if deleting {
            r#","deletionTimestamp":"2026-12-01T10:00:00Z""#
        } else {
            ""
        };
        format!(
            r#"{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"box","namespace":"ns","uid":"{uid}"{deletion}}},"status":{{"phase":"{phase}"}}}}"#
        )
        .into_bytes()
    }

    const NOT_FOUND: &[u8] = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"box\" not found","reason":"NotFound","details":{"name":"box","kind":"pods"},"code":404}"#;

    fn bound() -> ForwardedPod {
        ForwardedPod::bind("ns", "box", 200, &pod("u1", "Running", false)).unwrap()
    }

    #[test]
    fn the_read_is_a_json_get_of_the_pod() {
        let request = ForwardedPod::request("ns", "web 1").unwrap();
        assert_eq!(request.method(), http::Method::GET);
        assert_eq!(request.uri().path(), "/api/v1/namespaces/ns/pods/web%201");
        assert_eq!(request.headers()[http::header::ACCEPT], "application/json");
        assert!(ForwardedPod::request("ns", "a/b").is_err());
    }

    #[test]
    fn bind_refuses_what_kubectl_refuses() {
        let missing = ForwardedPod::bind("ns", "box", 404, NOT_FOUND).unwrap_err();
        assert_eq!(missing.api().map(|e| e.code), Some(404), "{missing}");
        let pending = ForwardedPod::bind("ns", "box", 200, &pod("u1", "Pending", false)).unwrap_err();
        let crate::Error::PodUnavailable(why) = pending else {
            panic!("{pending:?}")
        };
        assert_eq!(
            why.reason,
            Unavailability::NotRunning {
                phase: "Pending".into()
            }
        );
        assert_eq!(why.to_string(), "pod ns/box is not running (phase \"Pending\")");
        let garbage = ForwardedPod::bind("ns", "box", 200, b"<html>").unwrap_err();
        assert!(matches!(garbage, crate::Error::Response(_)), "{garbage:?}");
    }

    #[test]
    fn a_pod_still_running_keeps_the_listener() {
        let mut pod_state = bound();
        let request = pod_state.connection_failed().expect("a read");
        assert_eq!(request.uri().path(), "/api/v1/namespaces/ns/pods/box");
        assert!(matches!(
            pod_state.checked(Some((200, &pod("u1", "Running", false)))),
            PodCheck::Fine
        ));
        assert!(pod_state.gone().is_none());
    }

    #[test]
    fn each_way_of_being_gone_ends_the_listener() {
        let cases: [(u16, Vec<u8>, Unavailability); 4] = [
            (404, NOT_FOUND.to_vec(), Unavailability::NotFound),
            (
                200,
                pod("u2", "Running", false),
                Unavailability::Replaced {
                    was: "u1".into(),
                    now: "u2".into(),
                },
            ),
            (
                200,
                pod("u1", "Succeeded", false),
                Unavailability::NotRunning {
                    phase: "Succeeded".into(),
                },
            ),
            (200, pod("u1", "Running", true), Unavailability::Deleting),
        ];
        for (status, body, reason) in cases {
            let mut pod_state = bound();
            pod_state.connection_failed().expect("a read");
            let PodCheck::Gone(gone) = pod_state.checked(Some((status, &body))) else {
                panic!("{reason:?} was not gone")
            };
            assert_eq!(gone.reason, reason);
            assert_eq!(pod_state.gone(), Some(&gone));
            // Gone is final: no more reads.
            assert!(pod_state.connection_failed().is_none());
        }
    }

    #[test]
    fn a_read_that_tells_nothing_is_no_verdict() {
        let html_404 = b"<html>404 page not found</html>";
        let server_down = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"ServiceUnavailable","code":503}"#;
        for answer in [
            None,
            Some((404, &html_404[..])),
            Some((503, &server_down[..])),
            Some((200, &b"{"[..])),
        ] {
            let mut pod_state = bound();
            pod_state.connection_failed().expect("a read");
            assert!(matches!(pod_state.checked(answer), PodCheck::Fine), "{answer:?}");
            assert!(pod_state.gone().is_none());
        }
    }

    #[test]
    fn one_read_at_a_time_and_one_more_for_failures_meanwhile() {
        let mut pod_state = bound();
        assert!(pod_state.connection_failed().is_some());
        assert!(
            pod_state.connection_failed().is_none(),
            "a second read while one is out"
        );
        assert!(pod_state.connection_failed().is_none());
        let PodCheck::Again(again) = pod_state.checked(Some((200, &pod("u1", "Running", false)))) else {
            panic!("the failures meanwhile need one more read")
        };
        assert_eq!(again.uri().path(), "/api/v1/namespaces/ns/pods/box");
        assert!(matches!(pod_state.checked(None), PodCheck::Fine));
        // Nothing failed meanwhile: the next failure starts a read again.
        assert!(pod_state.connection_failed().is_some());
    }
}
