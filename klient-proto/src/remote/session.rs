//! One interface over the channel sessions (exec/attach and port-forward), so that an adapter
//! drives both with one loop: bytes in and out, events, timers, and what its caller asks for as
//! [`ExecCommand`]s and [`PortCommand`]s. What each request means on the wire (a stdin close
//! that needs a TCP half-close on the v4 protocol, a close handshake when the caller goes
//! away) is decided here, once.

use std::time::{Duration, Instant};

use super::{
    ExecError, ExecEvent, ExecSession, PortForward, PortForwardError, PortForwardEvent, Progress, StdinClose,
};
use crate::ws::{Config as WsConfig, Keepalive};

/// The WebSocket settings of exec, attach and port-forward sessions: a ping every 5 s, and the
/// session fails after 30 s without a pong, as kubectl does.
pub fn channel_ws_config() -> WsConfig {
    WsConfig {
        keepalive: Some(Keepalive {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
        }),
        ..WsConfig::default()
    }
}

/// What an adapter's loop needs of a channel session.
pub trait Session {
    /// What the session hands out.
    type Event;
    /// What the caller asks of it.
    type Command;
    /// Why it failed.
    type Failure;
    /// Bytes from the server.
    fn handle_bytes(&mut self, bytes: &[u8]);
    /// The server closed its side of the connection.
    fn handle_eof(&mut self);
    /// The instant from [`Session::poll_timeout`] has come.
    fn handle_timeout(&mut self, now: Instant);
    /// Bytes for the server.
    fn poll_transmit(&mut self) -> Option<Vec<u8>>;
    /// Bytes for the server, onto the end of `out` (an empty `out` trades buffers with the
    /// session, so a loop with an outbox allocates nothing per call); `true` when bytes were added.
    fn transmit_into(&mut self, out: &mut Vec<u8>) -> bool;
    /// The adapter stops (`true`) or starts again (`false`) reading the socket because a reader
    /// has no room (back-pressure): keepalive deadlines wait meanwhile, since the answers they
    /// wait for sit unread behind the data.
    fn pause_reading(&mut self, paused: bool, now: Instant);
    /// The next event, a need for more bytes, the end, or the failure (after every event before it).
    fn poll_event(&mut self) -> Result<Progress<Self::Event>, Self::Failure>;
    /// When [`Session::handle_timeout`] must be called.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Carries out one request of the caller; `true` asks the adapter to half-close the socket
    /// once what is queued is written. A request the session refuses is dropped: the session's
    /// end, which `poll_event` reports, says why.
    fn command(&mut self, command: Self::Command, now: Instant) -> bool;
    /// The caller is gone: close the session.
    fn abandon(&mut self, now: Instant);
}

/// What the caller of an exec or attach session asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecCommand {
    /// Bytes for the command's stdin.
    Stdin(Vec<u8>),
    /// The end of stdin.
    CloseStdin,
    /// The terminal's new size (columns, rows).
    Resize(u16, u16),
}

impl Session for ExecSession {
    type Event = ExecEvent;
    type Command = ExecCommand;
    type Failure = ExecError;

    fn handle_bytes(&mut self, bytes: &[u8]) {
        ExecSession::handle_bytes(self, bytes);
    }
    fn handle_eof(&mut self) {
        ExecSession::handle_eof(self);
    }
    fn handle_timeout(&mut self, now: Instant) {
        ExecSession::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        ExecSession::poll_transmit(self)
    }
    fn transmit_into(&mut self, out: &mut Vec<u8>) -> bool {
        ExecSession::transmit_into(self, out)
    }
    fn pause_reading(&mut self, paused: bool, now: Instant) {
        ExecSession::pause_reading(self, paused, now);
    }
    fn poll_event(&mut self) -> Result<Progress<ExecEvent>, ExecError> {
        ExecSession::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        ExecSession::poll_timeout(self)
    }
    fn command(&mut self, command: ExecCommand, _now: Instant) -> bool {
        let outcome = match command {
            ExecCommand::Stdin(data) => self.send_stdin(&data).map(|()| false),
            // v4 has no stdin half-close; a TCP half-close is the nearest thing the server can see.
            ExecCommand::CloseStdin => self
                .close_stdin()
                .map(|close| close == StdinClose::NeedsSocketClose),
            ExecCommand::Resize(width, height) => self.resize(width, height).map(|()| false),
        };
        outcome.unwrap_or_else(|e| {
            log::debug!("exec: request dropped: {e}");
            false
        })
    }
    fn abandon(&mut self, now: Instant) {
        let _ = self.close(now);
    }
}

/// What the caller of a port-forward session asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortCommand {
    /// Bytes for the port at this index of the request's list.
    Send(usize, Vec<u8>),
    /// The end of the session.
    Close,
}

impl Session for PortForward {
    type Event = PortForwardEvent;
    type Command = PortCommand;
    type Failure = PortForwardError;

    fn handle_bytes(&mut self, bytes: &[u8]) {
        PortForward::handle_bytes(self, bytes);
    }
    fn handle_eof(&mut self) {
        PortForward::handle_eof(self);
    }
    fn handle_timeout(&mut self, now: Instant) {
        PortForward::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        PortForward::poll_transmit(self)
    }
    fn transmit_into(&mut self, out: &mut Vec<u8>) -> bool {
        PortForward::transmit_into(self, out)
    }
    fn pause_reading(&mut self, paused: bool, now: Instant) {
        PortForward::pause_reading(self, paused, now);
    }
    fn poll_event(&mut self) -> Result<Progress<PortForwardEvent>, PortForwardError> {
        PortForward::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        PortForward::poll_timeout(self)
    }
    fn command(&mut self, command: PortCommand, now: Instant) -> bool {
        let outcome = match command {
            PortCommand::Send(index, data) => self.send(index, &data),
            PortCommand::Close => self.close(now),
        };
        if let Err(e) = outcome {
            log::debug!("port-forward: request dropped: {e}");
        }
        false
    }
    fn abandon(&mut self, now: Instant) {
        let _ = self.close(now);
    }
}
