//! Everything a klient call can fail with, on any adapter: the adapters share this one enum, so
//! a program matches the same variants whichever runtime it uses.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::api::modify::{ModifyError, OpenApiError};
use crate::api::{ApiError, DiscoveryError, LookupError, RequestError, ResponseError};
use crate::auth::AuthError;
use crate::client::CallError;
use crate::config::{ParseError, ResolveError};
use crate::http::{EncodeError, HttpError, TunnelError};
use crate::remote::{
    ExecError, InvalidPorts, PodUnavailable, PortForwardError, PortTunnelError, SpdyUpgradeError,
    UnsupportedProtocol,
};
use crate::tls::{ConfigError as TlsConfigError, TlsError};
use crate::watch::Failure;
use crate::ws::{HandshakeError, WsError};

/// What went wrong. API errors from the server are [`Error::Api`]; the rest describe the local
/// configuration or the connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a Kubernetes `Status` error (NotFound, Conflict, Forbidden, ...).
    Api(Box<ApiError>),
    /// The server's answer was not what the request expects (not a Status, not decodable).
    Response(ResponseError),
    /// The request could not be built (a bad name, a namespace missing, ...).
    Request(RequestError),
    /// A kubeconfig could not be parsed.
    Kubeconfig(ParseError),
    /// The kubeconfig does not describe a usable context.
    Resolve(ResolveError),
    /// A file named by the configuration could not be read.
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// No kubeconfig was found where the default chain looks.
    NoConfig,
    /// The configuration asks for something this client cannot do yet.
    Unsupported(String),
    /// The kubeconfig's TLS material cannot be used (a CA or client certificate that is not
    /// valid PEM, a key that does not fit, a server name that is not one).
    TlsConfig(TlsConfigError),
    /// The TLS handshake with the server failed: its certificate (an unknown CA, a name it does
    /// not carry, expired), an alert, a protocol error.
    Tls {
        /// `host:port` of the server.
        server: String,
        /// What failed.
        error: TlsError,
    },
    /// Connecting to the server failed.
    Connect {
        /// `host:port` of the server.
        server: String,
        /// Why.
        source: io::Error,
    },
    /// The proxy would not open a tunnel to the server.
    Tunnel(TunnelError),
    /// Reading from or writing to the server failed.
    Io(io::Error),
    /// The server's bytes broke HTTP/1.1 or one of klient's limits.
    Http(HttpError),
    /// A request could not be written as HTTP/1.1.
    Encode(EncodeError),
    /// A credential could not be obtained: a token file unreadable, an exec plugin that failed,
    /// timed out or printed no usable credential.
    Credentials(AuthError),
    /// A credential could not be used (it cannot be sent as a header, say).
    Auth(String),
    /// A watch could not go on: its stream broke its framing, stalled, or ended early (the
    /// server's own refusals stay [`Error::Api`]).
    Watch(Failure),
    /// The server answered an exec, attach or port-forward upgrade with a 101 that does not
    /// complete a WebSocket handshake. (A refusal, such as a 403 on `pods/exec`, is
    /// [`Error::Api`].)
    Handshake(HandshakeError),
    /// The server chose no channel protocol klient speaks for an exec, attach or port-forward.
    UnsupportedProtocol(UnsupportedProtocol),
    /// The WebSocket under an exec, attach or port-forward failed: the server broke RFC 6455, a
    /// limit was exceeded ([`WsError::LimitExceeded`]), keepalive pongs stopped coming
    /// ([`WsError::Timeout`]), or the connection ended before the close handshake.
    WebSocket(WsError),
    /// An exec or attach session failed: the server broke the channel protocol, its error
    /// channel held no usable Status, or it closed without an exit status
    /// ([`ExecError::NoExitStatus`], with its close code and reason).
    Exec(ExecError),
    /// A port-forward session failed: the server broke the channel protocol (a port it did not
    /// ask for, a wrong port number).
    PortForward(PortForwardError),
    /// kubectl's port-forward tunnel failed as a whole: the SPDY session inside broke, or the
    /// kubelet answered nothing past the deadline. (One connection's failure fails that
    /// connection only.)
    PortTunnel(PortTunnelError),
    /// A port-forward listener's pod cannot be forwarded to: it does not run (at bind, as
    /// kubectl refuses), or it is gone (deleted, replaced, finished), which ends the listener.
    PodUnavailable(PodUnavailable),
    /// The answer to a direct SPDY upgrade (port-forward's fallback) was not one.
    SpdyUpgrade(SpdyUpgradeError),
    /// The ports given to a port-forward cannot be asked for (none, a 0, too many).
    InvalidPorts(InvalidPorts),
    /// The call could not go on: a request not safe to send again, a deadline, a request that
    /// cannot be prepared for this server.
    Call(CallError),
    /// Discovery of the server's API failed.
    Discovery(DiscoveryError),
    /// A resource name did not resolve to exactly one resource.
    Lookup(LookupError),
    /// A read-modify-write could not turn the change into a patch.
    Modify(ModifyError),
    /// The API server's OpenAPI document did not say how the kind's lists are keyed.
    OpenApi(OpenApiError),
}

impl Error {
    /// The API error, when the server answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => write!(f, "{e}"),
            Error::Response(e) => write!(f, "{e}"),
            Error::Request(e) => write!(f, "cannot build the request: {e}"),
            Error::Kubeconfig(e) => write!(f, "{e}"),
            Error::Resolve(e) => write!(f, "kubeconfig: {e}"),
            Error::ReadFile { path, source } => write!(f, "reading {}: {source}", path.display()),
            Error::NoConfig => {
                f.write_str("no kubeconfig found (KUBECONFIG is unset and ~/.kube/config does not exist)")
            }
            Error::Unsupported(what) => write!(f, "not supported yet: {what}"),
            Error::TlsConfig(e) => write!(f, "TLS settings: {e}"),
            Error::Tls { server, error } => write!(f, "TLS handshake with {server}: {error}"),
            Error::Connect { server, source } => write!(f, "connecting to {server}: {source}"),
            Error::Tunnel(e) => write!(f, "proxy: {e}"),
            Error::Io(e) => write!(f, "connection: {e}"),
            Error::Http(e) => write!(f, "HTTP: {e}"),
            Error::Encode(e) => write!(f, "encoding the request: {e}"),
            Error::Credentials(e) => write!(f, "credentials: {e}"),
            Error::Auth(e) => write!(f, "credentials: {e}"),
            Error::Watch(e) => write!(f, "watch: {e}"),
            Error::Handshake(e) => write!(f, "WebSocket handshake: {e}"),
            Error::UnsupportedProtocol(e) => e.fmt(f),
            Error::WebSocket(e) => write!(f, "WebSocket: {e}"),
            Error::Exec(e) => write!(f, "exec: {e}"),
            Error::PortForward(e) => write!(f, "port-forward: {e}"),
            Error::PortTunnel(e) => e.fmt(f),
            Error::PodUnavailable(e) => e.fmt(f),
            Error::SpdyUpgrade(e) => e.fmt(f),
            Error::InvalidPorts(e) => write!(f, "port-forward: {e}"),
            Error::Call(e) => write!(f, "{e}"),
            Error::Discovery(e) => write!(f, "{e}"),
            Error::Lookup(e) => write!(f, "{e}"),
            Error::Modify(e) => write!(f, "{e}"),
            Error::OpenApi(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Api(e) => Some(e.as_ref()),
            Error::Response(e) => Some(e),
            Error::Request(e) => Some(e),
            Error::Kubeconfig(e) => Some(e),
            Error::Resolve(e) => Some(e),
            Error::ReadFile { source, .. } | Error::Connect { source, .. } | Error::Io(source) => {
                Some(source)
            }
            Error::Tunnel(e) => Some(e),
            Error::TlsConfig(e) => Some(e),
            Error::Tls { error, .. } => Some(error),
            Error::Http(e) => Some(e),
            Error::Encode(e) => Some(e),
            Error::Call(e) => Some(e),
            Error::Credentials(e) => Some(e),
            Error::Discovery(e) => Some(e),
            Error::Lookup(e) => Some(e),
            Error::Watch(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::UnsupportedProtocol(e) => Some(e),
            Error::WebSocket(e) => Some(e),
            Error::Exec(e) => Some(e),
            Error::PortForward(e) => Some(e),
            Error::PortTunnel(e) => Some(e),
            Error::PodUnavailable(e) => Some(e),
            Error::SpdyUpgrade(e) => Some(e),
            Error::InvalidPorts(e) => Some(e),
            Error::Modify(e) => Some(e),
            Error::OpenApi(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ResponseError> for Error {
    fn from(e: ResponseError) -> Self {
        match e {
            ResponseError::Api(api) => Error::Api(api),
            other => Error::Response(other),
        }
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::AuthProviderUnsupported { .. } => Error::Unsupported(e.to_string()),
            AuthError::TokenFileUnreadable { path, kind } => Error::ReadFile {
                path,
                source: kind.into(),
            },
            other => Error::Credentials(other),
        }
    }
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Self {
        Error::Request(e)
    }
}

impl From<DiscoveryError> for Error {
    fn from(e: DiscoveryError) -> Self {
        match e {
            // The server's own refusal stays an API error, as for any other request.
            DiscoveryError::Response {
                error: ResponseError::Api(api),
                ..
            } => Error::Api(api),
            other => Error::Discovery(other),
        }
    }
}

impl From<LookupError> for Error {
    fn from(e: LookupError) -> Self {
        Error::Lookup(e)
    }
}

impl From<WsError> for Error {
    fn from(e: WsError) -> Self {
        Error::WebSocket(e)
    }
}

/// A WebSocket failure under the session is [`Error::WebSocket`], whichever session it was.
impl From<ExecError> for Error {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::Ws(ws) => Error::WebSocket(ws),
            other => Error::Exec(other),
        }
    }
}

/// A WebSocket failure under the session is [`Error::WebSocket`], whichever session it was.
impl From<PortForwardError> for Error {
    fn from(e: PortForwardError) -> Self {
        match e {
            PortForwardError::Ws(ws) => Error::WebSocket(ws),
            other => Error::PortForward(other),
        }
    }
}

/// A WebSocket failure under the tunnel is [`Error::WebSocket`], as for the other sessions.
impl From<PortTunnelError> for Error {
    fn from(e: PortTunnelError) -> Self {
        match e {
            PortTunnelError::Ws(ws) => Error::WebSocket(ws),
            other => Error::PortTunnel(other),
        }
    }
}

/// The result of klient calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a watcher's request failed with, for the watch machine: the server's refusal stays an
/// API error (a 410 means relist); everything else is a transport failure, described.
impl From<Error> for crate::watch::RequestFailure {
    fn from(error: Error) -> Self {
        match error {
            Error::Api(api) => crate::watch::RequestFailure::Api(api),
            Error::Response(response) => response.into(),
            other => crate::watch::RequestFailure::Transport {
                description: other.to_string(),
            },
        }
    }
}

/// A watcher's failure as a call's error: the server's refusal is [`Error::Api`], as for any
/// other request; the rest is [`Error::Watch`].
impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Api(api) => Error::Api(api),
            other => Error::Watch(other),
        }
    }
}
