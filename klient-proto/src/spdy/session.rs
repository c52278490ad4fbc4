//! The client end of a SPDY/3.1 session: stream ids, the streams' half-closes and resets, pings
//! both ways, GOAWAY, a deadline for a peer that has gone silent, and one for each stream the
//! peer never answers.
//!
//! The session only frames and bookkeeps; what a stream means (a port-forward connection's data or
//! error stream) is its caller's business. It never waits for a window: Kubernetes' peers do no
//! SPDY flow control, and the transport's own back-pressure is the only one.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::error::SpdyError;
use super::frame::{self, FLAG_FIN, Frame, FrameDecoder, FrameEncoder, FrameLimits, StreamId, rst};
use super::header_block::Headers;
use crate::ws::Progress;

/// How a session keeps the peer honest, and how large a frame it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Frame and header block limits.
    pub limits: FrameLimits,
    /// A ping goes out this often (kubectl: every 10 s), which also keeps idle proxies from
    /// closing the connection. `None` sends none.
    pub ping_interval: Option<Duration>,
    /// The session fails when nothing at all arrived this long after a ping went out.
    pub peer_timeout: Duration,
    /// A stream this end opened and the peer has not replied to (SYN_REPLY) this long after is
    /// reset and reported ([`SpdyEvent::NotReplied`]), as client-go gives up on a stream after
    /// 30 s: a peer that answers pings but leaves one stream pending must not hang its user.
    pub reply_timeout: Duration,
}

impl Default for SessionConfig {
    /// kubectl's 10 s ping, a peer that answers nothing for 30 s is dead, and a stream not
    /// replied to within 30 s is given up (client-go's figure).
    fn default() -> Self {
        Self {
            limits: FrameLimits::default(),
            ping_interval: Some(Duration::from_secs(10)),
            peer_timeout: Duration::from_secs(30),
            reply_timeout: Duration::from_secs(30),
        }
    }
}

/// What happened on the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpdyEvent {
    /// The peer accepted a stream this end opened.
    Replied {
        /// The stream.
        stream_id: StreamId,
        /// The reply's headers.
        headers: Headers,
    },
    /// Data on a stream.
    Data {
        /// The stream.
        stream_id: StreamId,
        /// The bytes (never empty).
        data: Bytes,
    },
    /// The peer sends nothing more on this stream.
    Finished {
        /// The stream.
        stream_id: StreamId,
    },
    /// The peer reset the stream: nothing more goes either way.
    Reset {
        /// The stream.
        stream_id: StreamId,
        /// Its RST_STREAM status.
        status: u32,
    },
    /// The peer did not reply to a stream this end opened within
    /// [`SessionConfig::reply_timeout`]; the stream has been reset.
    NotReplied {
        /// The stream.
        stream_id: StreamId,
    },
    /// The peer accepts no new stream; the open ones go on.
    GoAway {
        /// The last stream it processed.
        last_good_stream_id: StreamId,
    },
}

/// Why a request to the session was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpdySendError {
    /// The session failed or ended.
    Closed,
    /// The peer sent GOAWAY: no new stream.
    GoingAway,
    /// All 2^30 client stream ids are used up.
    StreamIdsExhausted,
    /// No such open stream, or this end already finished it.
    NotWritable(StreamId),
}

impl std::fmt::Display for SpdySendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed => f.write_str("the SPDY session is over"),
            Self::GoingAway => f.write_str("the peer accepts no new SPDY stream (GOAWAY)"),
            Self::StreamIdsExhausted => f.write_str("every SPDY stream id of this session is used"),
            Self::NotWritable(id) => write!(f, "SPDY stream {id} is not open for writing"),
        }
    }
}

impl std::error::Error for SpdySendError {}

#[derive(Debug, Default)]
struct StreamState {
    local_closed: bool,
    remote_closed: bool,
    replied: bool,
}

/// A client's SPDY session (it opens odd-numbered streams).
pub struct ClientSession {
    config: SessionConfig,
    decoder: FrameDecoder,
    encoder: FrameEncoder,
    out: Vec<u8>,
    streams: HashMap<StreamId, StreamState>,
    next_stream_id: StreamId,
    next_ping_id: u32,
    last_peer_stream: StreamId,
    events: VecDeque<SpdyEvent>,
    failure: Option<SpdyError>,
    ended: bool,
    going_away: bool,
    next_ping_at: Option<Instant>,
    awaiting_since: Option<Instant>,
    /// The caller does not read the transport for now (see [`ClientSession::pause_reading`]).
    reading_paused: bool,
    /// Streams opened here with their reply deadlines, in the order opened (so in deadline
    /// order); entries whose stream was replied to or is gone are skipped and dropped lazily.
    reply_deadlines: VecDeque<(StreamId, Instant)>,
}

impl ClientSession {
    /// A session whose transport is ready now.
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        Self {
            config,
            decoder: FrameDecoder::new(config.limits),
            encoder: FrameEncoder::new(),
            out: Vec::new(),
            streams: HashMap::new(),
            next_stream_id: 1,
            next_ping_id: 1,
            last_peer_stream: 0,
            events: VecDeque::new(),
            failure: None,
            ended: false,
            going_away: false,
            next_ping_at: config.ping_interval.map(|every| now + every),
            awaiting_since: None,
            reading_paused: false,
            reply_deadlines: VecDeque::new(),
        }
    }

    /// The configuration the session was made with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Whether the session can still carry frames.
    pub fn is_open(&self) -> bool {
        self.failure.is_none() && !self.ended
    }

    /// How many streams are open in at least one direction.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// Opens a stream with `headers` at `now`; `fin` half-closes it at once (this end sends
    /// nothing on it). The peer has [`SessionConfig::reply_timeout`] to reply.
    pub fn open(&mut self, headers: &Headers, fin: bool, now: Instant) -> Result<StreamId, SpdySendError> {
        if !self.is_open() {
            return Err(SpdySendError::Closed);
        }
        if self.going_away {
            return Err(SpdySendError::GoingAway);
        }
        let id = self.next_stream_id;
        if id > 0x7FFF_FFFF {
            return Err(SpdySendError::StreamIdsExhausted);
        }
        self.next_stream_id += 2;
        self.encoder
            .syn_stream(&mut self.out, id, if fin { FLAG_FIN } else { 0 }, headers);
        self.streams.insert(
            id,
            StreamState {
                local_closed: fin,
                remote_closed: false,
                replied: false,
            },
        );
        self.reply_deadlines
            .push_back((id, now + self.config.reply_timeout));
        Ok(id)
    }

    /// Sends `data` on a stream; `fin` half-closes it after the data (an empty `data` with `fin`
    /// is a bare half-close).
    pub fn send(&mut self, stream_id: StreamId, data: &[u8], fin: bool) -> Result<(), SpdySendError> {
        if !self.is_open() {
            return Err(SpdySendError::Closed);
        }
        let Some(stream) = self.streams.get_mut(&stream_id).filter(|s| !s.local_closed) else {
            return Err(SpdySendError::NotWritable(stream_id));
        };
        stream.local_closed = fin;
        frame::data(&mut self.out, stream_id, data, fin);
        self.forget_if_done(stream_id);
        Ok(())
    }

    /// Resets a stream: neither side sends on it again. Resetting a stream that is already gone
    /// does nothing.
    pub fn reset(&mut self, stream_id: StreamId, status: u32) {
        if self.is_open() && self.streams.remove(&stream_id).is_some() {
            frame::rst_stream(&mut self.out, stream_id, status);
        }
    }

    /// Ends the session politely: a GOAWAY naming the last stream the peer opened. The caller
    /// then writes what `poll_transmit` returns and closes the transport.
    pub fn go_away(&mut self) {
        if self.is_open() {
            frame::go_away(&mut self.out, self.last_peer_stream, 0);
            self.ended = true;
        }
    }

    /// Bytes from the peer, in any pieces.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        if self.failure.is_some() {
            return;
        }
        self.decoder.push(bytes);
        self.decode();
    }

    /// [`ClientSession::handle_bytes`] for bytes the caller owns, which the session keeps
    /// without copying when it can.
    pub fn handle_owned(&mut self, bytes: Vec<u8>) {
        if self.failure.is_some() {
            return;
        }
        self.decoder.push_owned(bytes);
        self.decode();
    }

    fn decode(&mut self) {
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => {
                    self.awaiting_since = None;
                    self.handle_frame(frame);
                }
                Ok(None) => return,
                Err(e) => {
                    self.failure = Some(e);
                    return;
                }
            }
        }
    }

    /// The transport ended.
    pub fn handle_eof(&mut self) {
        if self.failure.is_none() && self.decoder.has_partial_frame() {
            self.failure = Some(SpdyError::Truncated);
        }
        self.ended = true;
    }

    /// The caller stops (`true`) or starts again (`false`) reading the transport: it holds back
    /// because one of its readers has no room. Pings and replies cannot be seen meanwhile (they
    /// wait behind the unread data), so the dead-peer and reply deadlines are not enforced while
    /// reading is paused; when it starts again, an unanswered ping and each stream still waiting
    /// for its reply have at least a whole timeout from `now`. Our own pings still go out.
    pub fn pause_reading(&mut self, paused: bool, now: Instant) {
        if self.reading_paused == paused {
            return;
        }
        self.reading_paused = paused;
        if !paused {
            if self.awaiting_since.is_some() {
                self.awaiting_since = Some(now);
            }
            let fresh = now + self.config.reply_timeout;
            for (_, deadline) in &mut self.reply_deadlines {
                *deadline = (*deadline).max(fresh);
            }
        }
    }

    /// The instant from [`ClientSession::poll_timeout`] has come: ping, give up on the peer, or
    /// give up on the streams it never replied to (neither while reading is paused).
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.is_open() {
            return;
        }
        if !self.reading_paused
            && let Some(since) = self.awaiting_since
            && now >= since + self.config.peer_timeout
        {
            self.failure = Some(SpdyError::PeerSilent(now - since));
            return;
        }
        self.drop_answered_deadlines();
        while !self.reading_paused
            && let Some(&(stream_id, deadline)) = self.reply_deadlines.front()
            && now >= deadline
        {
            self.reply_deadlines.pop_front();
            if self.awaits_reply(stream_id) {
                self.reset(stream_id, rst::CANCEL);
                self.events.push_back(SpdyEvent::NotReplied { stream_id });
            }
            self.drop_answered_deadlines();
        }
        if let (Some(at), Some(every)) = (self.next_ping_at, self.config.ping_interval)
            && now >= at
        {
            frame::ping(&mut self.out, self.next_ping_id);
            self.next_ping_id = self.next_ping_id.wrapping_add(2) & 0x7FFF_FFFF | 1;
            self.awaiting_since.get_or_insert(now);
            self.next_ping_at = Some(now + every);
        }
    }

    /// When [`ClientSession::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.is_open() {
            return None;
        }
        if self.reading_paused {
            return self.next_ping_at;
        }
        let deadline = self.awaiting_since.map(|since| since + self.config.peer_timeout);
        let reply = self
            .reply_deadlines
            .iter()
            .find(|(stream_id, _)| self.awaits_reply(*stream_id))
            .map(|(_, at)| *at);
        [self.next_ping_at, deadline, reply].into_iter().flatten().min()
    }

    fn awaits_reply(&self, stream_id: StreamId) -> bool {
        self.streams.get(&stream_id).is_some_and(|s| !s.replied)
    }

    /// Drops the deadlines at the front that no longer apply, so that finding the next one
    /// stays cheap while replies come in order.
    fn drop_answered_deadlines(&mut self) {
        while let Some(&(stream_id, _)) = self.reply_deadlines.front()
            && !self.awaits_reply(stream_id)
        {
            self.reply_deadlines.pop_front();
        }
    }

    /// Bytes for the peer.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// As [`poll_transmit`](Self::poll_transmit), onto the end of `out` (an empty `out` trades
    /// buffers with the session, so both keep their capacity). `true` when bytes were added.
    pub fn transmit_into(&mut self, out: &mut Vec<u8>) -> bool {
        crate::buffer::move_pending(&mut self.out, out)
    }

    /// Whether bytes for the peer are waiting.
    pub fn has_transmit(&self) -> bool {
        !self.out.is_empty()
    }

    /// The next event; the failure comes after every event before it, and `Finished` once the
    /// transport ended.
    pub fn poll_event(&mut self) -> Result<Progress<SpdyEvent>, SpdyError> {
        if let Some(event) = self.events.pop_front() {
            return Ok(Progress::Event(event));
        }
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        Ok(if self.ended {
            Progress::Finished
        } else {
            Progress::NeedData
        })
    }

    fn handle_frame(&mut self, frame: Frame) {
        match frame {
            Frame::SynStream { stream_id, .. } => {
                // A client takes no stream the server opens (Kubernetes' servers open none).
                if stream_id % 2 == 1 || stream_id <= self.last_peer_stream {
                    self.failure = Some(SpdyError::Protocol(
                        "the server opened a stream with an odd or reused id",
                    ));
                    return;
                }
                self.last_peer_stream = stream_id;
                frame::rst_stream(&mut self.out, stream_id, rst::REFUSED_STREAM);
            }
            Frame::SynReply {
                stream_id,
                fin,
                headers,
            } => {
                if let Some(stream) = self.streams.get_mut(&stream_id) {
                    stream.replied = true;
                    self.drop_answered_deadlines();
                    self.events.push_back(SpdyEvent::Replied { stream_id, headers });
                    if fin {
                        self.remote_finished(stream_id);
                    }
                }
            }
            Frame::Data { stream_id, fin, data } => {
                // Frames for a stream this end reset may still be in flight: dropped, as SPDY says.
                if self.streams.get(&stream_id).is_some_and(|s| !s.remote_closed) {
                    if !data.is_empty() {
                        self.events.push_back(SpdyEvent::Data { stream_id, data });
                    }
                    if fin {
                        self.remote_finished(stream_id);
                    }
                }
            }
            Frame::Headers {
                stream_id, fin: true, ..
            } => {
                if self.streams.get(&stream_id).is_some_and(|s| !s.remote_closed) {
                    self.remote_finished(stream_id);
                }
            }
            Frame::RstStream { stream_id, status } => {
                if self.streams.remove(&stream_id).is_some() {
                    self.events.push_back(SpdyEvent::Reset { stream_id, status });
                }
            }
            Frame::Ping { id } => {
                // Our pings are odd and their answers only prove the peer alive (done above);
                // the server's are even and are echoed.
                if id % 2 == 0 {
                    frame::ping(&mut self.out, id);
                }
            }
            Frame::GoAway {
                last_good_stream_id, ..
            } => {
                self.going_away = true;
                self.events.push_back(SpdyEvent::GoAway { last_good_stream_id });
            }
            Frame::Headers { .. } | Frame::Settings | Frame::WindowUpdate { .. } | Frame::Unknown { .. } => {}
        }
    }

    fn remote_finished(&mut self, stream_id: StreamId) {
        if let Some(stream) = self.streams.get_mut(&stream_id) {
            stream.remote_closed = true;
            self.events.push_back(SpdyEvent::Finished { stream_id });
            self.forget_if_done(stream_id);
        }
    }

    fn forget_if_done(&mut self, stream_id: StreamId) {
        if self
            .streams
            .get(&stream_id)
            .is_some_and(|s| s.local_closed && s.remote_closed)
        {
            self.streams.remove(&stream_id);
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
