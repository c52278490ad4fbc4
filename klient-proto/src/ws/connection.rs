//! The client connection machine after the handshake: messages, ping/pong, close, keepalive.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use super::close::{CloseCode, CloseFrame, MAX_CLOSE_REASON, parse_close_payload};
use super::decoder::{Decoded, FrameDecoder};
use super::deflate::{DeflateParams, Deflater, InflateError, Inflater};
use super::encoder::{MaskKeyError, MaskKeys, encode_frame};
use super::error::{Deadline, ProtocolViolation, SizeLimit, WsError, WsSendError};
use super::frame::{FrameError, FrameHeader, MAX_CONTROL_PAYLOAD, OpCode};
use super::progress::Progress;
use super::utf8::IncrementalUtf8;

/// Limits and timers of a [`Connection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Largest payload of one received frame; larger ones fail with close code 1009.
    pub max_frame_size: usize,
    /// Largest received message, all fragments together; larger ones fail with close code 1009.
    pub max_message_size: usize,
    /// Split sent messages into frames of at most this many payload bytes; `None` sends each
    /// message as one frame.
    pub fragment_size: Option<usize>,
    /// How long to wait for the server's close frame after sending ours.
    pub close_timeout: Duration,
    /// Periodic pings to detect a dead peer; `None` sends none.
    pub keepalive: Option<Keepalive>,
    /// permessage-deflate, as negotiated in the handshake ([`Negotiated::deflate`]); `None`
    /// when not in use.
    ///
    /// [`Negotiated::deflate`]: super::Negotiated::deflate
    pub deflate: Option<DeflateParams>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            fragment_size: None,
            close_timeout: Duration::from_secs(10),
            keepalive: None,
            deflate: None,
        }
    }
}

/// Keepalive timing: a ping every `interval`, and the connection fails when no pong arrives
/// within `timeout` of a ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Time between pings.
    pub interval: Duration,
    /// How long a ping may go unanswered.
    pub timeout: Duration,
}

/// A complete data message from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message, already checked to be UTF-8.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// What [`Connection::poll_event`] hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsEvent {
    /// A complete message.
    Message(Message),
    /// The server pinged us; the pong is queued (only the latest of several pings that arrive
    /// between two [`Connection::poll_transmit`] calls is answered, as RFC 6455 §5.5.3 allows).
    Ping(Vec<u8>),
    /// The server sent a pong.
    Pong(Vec<u8>),
    /// The server's close frame arrived; the close handshake is complete once our transmit
    /// buffer is written. Nothing follows.
    Closed(CloseFrame),
}

/// The RSV bit permessage-deflate uses to mark a compressed message.
const RSV1: u8 = 0b100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// We sent close and wait for the server's until the deadline.
    CloseSent {
        deadline: Option<Instant>,
    },
    /// Nothing more will be sent or received.
    Closed,
}

/// A message being assembled from fragments.
struct Assembly {
    text: bool,
    compressed: bool,
    buf: Vec<u8>,
    utf8: IncrementalUtf8,
}

/// A WebSocket client connection after a successful handshake.
///
/// Feed it with [`handle_bytes`](Self::handle_bytes), [`handle_eof`](Self::handle_eof) and
/// [`handle_timeout`](Self::handle_timeout); ask it to act with the verbs; after every call,
/// drain in this order: [`poll_transmit`](Self::poll_transmit) until `None` and write the bytes,
/// [`poll_event`](Self::poll_event) until it returns [`Progress::NeedData`], then arm a timer for
/// [`poll_timeout`](Self::poll_timeout). When `poll_event` returns [`Progress::Finished`] or an
/// error, write what `poll_transmit` still returns, then close the transport.
///
/// **Failures** are the last thing drained. `handle_*` calls take what arrived and report
/// nothing; when the server breaks the protocol, a limit is exceeded or a deadline passes, the
/// connection stops reading, queues the close frame the RFC asks for, and `poll_event` hands out
/// every event decoded before the failure, then the [`WsError`] (again on every later call).
/// A verb that returns [`WsSendError::MaskKey`] fails the connection the same way: every frame is
/// masked with a key from the [`MaskKeys`] source, and when the source fails the connection
/// fails instead of sending.
///
/// ```
/// use klient_proto::ws::{Config, Connection, Message, Progress, WsEvent};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut conn = Connection::new(Config::default(), || [1, 2, 3, 4], now);
/// conn.send_text("hello").unwrap();
/// let wire = conn.poll_transmit().unwrap();
/// assert_eq!(wire[0], 0x81); // FIN + text
///
/// conn.handle_bytes(&[0x81, 0x02, b'h', b'i']);
/// assert_eq!(conn.poll_event(), Ok(Progress::Event(WsEvent::Message(Message::Text("hi".into())))));
/// assert_eq!(conn.poll_event(), Ok(Progress::NeedData));
/// ```
pub struct Connection {
    config: Config,
    decoder: FrameDecoder,
    keys: Box<dyn MaskKeys + Send>,
    state: State,
    transmit: Vec<u8>,
    events: VecDeque<WsEvent>,
    /// Why the connection failed, handed out once `events` are drained.
    failure: Option<WsError>,
    /// Header of the frame whose payload is arriving.
    frame: Option<FrameHeader>,
    message: Option<Assembly>,
    control: Vec<u8>,
    /// The answer to the latest ping, not yet queued, with its masking key (drawn when the ping
    /// arrives, so a failing key source fails `handle_bytes` rather than `poll_transmit`).
    pending_pong: Option<(Vec<u8>, [u8; 4])>,
    inflater: Option<Inflater>,
    deflater: Option<Deflater>,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    /// The caller does not read the transport for now (see [`Connection::pause_reading`]).
    reading_paused: bool,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("config", &self.config)
            .field("state", &self.state)
            .field("transmit_len", &self.transmit.len())
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection in the open state, at time `now`, masking with keys from `keys`.
    pub fn new(config: Config, keys: impl MaskKeys + Send + 'static, now: Instant) -> Self {
        let next_ping = config.keepalive.and_then(|k| now.checked_add(k.interval));
        let mut decoder = FrameDecoder::new(config.max_frame_size as u64);
        if config.deflate.is_some() {
            decoder.allow_rsv(RSV1);
        }
        Self {
            decoder,
            inflater: config.deflate.as_ref().map(Inflater::new),
            deflater: config.deflate.as_ref().map(Deflater::new),
            config,
            keys: Box::new(keys),
            state: State::Open,
            transmit: Vec::new(),
            events: VecDeque::new(),
            failure: None,
            frame: None,
            message: None,
            control: Vec::with_capacity(MAX_CONTROL_PAYLOAD),
            pending_pong: None,
            next_ping,
            pong_deadline: None,
            reading_paused: false,
        }
    }

    /// Whether messages may still be sent (we have not sent close and nothing failed).
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the connection is over (closed or failed): once the transmit buffer is written,
    /// close the transport.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Why the connection failed, if it did (what [`poll_event`](Self::poll_event) hands out
    /// once the events before it are drained).
    pub fn failure(&self) -> Option<&WsError> {
        self.failure.as_ref()
    }

    /// Processes bytes from the server. After the connection closed or failed, further bytes are
    /// ignored (RFC 6455 §5.5.1: nothing follows a close frame).
    pub fn handle_bytes(&mut self, input: &[u8]) {
        self.feed(input, false);
    }

    /// Like [`handle_bytes`](Self::handle_bytes), but stops at the end of the first frame that
    /// produces an event, or at a failure, and returns how many bytes of `input` it used; hand
    /// the rest in later (once the connection is over, nothing more is used).
    ///
    /// A caller that answers each message before feeding more (an echo, a reply) then acts in
    /// the order the server sent things: a message followed by a frame that fails the connection
    /// is delivered, and can be answered, before the failure closes the connection.
    ///
    /// ```
    /// use klient_proto::ws::{Config, Connection, Message, Progress, WsEvent};
    /// use std::time::Instant;
    ///
    /// let mut conn = Connection::new(Config::default(), || [0; 4], Instant::now());
    /// // "hi", then a frame with a reserved opcode.
    /// let wire = [0x81, 0x02, b'h', b'i', 0x83, 0x00];
    /// assert_eq!(conn.handle_some_bytes(&wire), 4);
    /// assert_eq!(conn.poll_event(), Ok(Progress::Event(WsEvent::Message(Message::Text("hi".into())))));
    /// conn.send_text("hi").unwrap(); // still open: the echo goes out first
    /// conn.handle_some_bytes(&wire[4..]);
    /// assert!(conn.poll_event().is_err());
    /// ```
    pub fn handle_some_bytes(&mut self, input: &[u8]) -> usize {
        self.feed(input, true)
    }

    /// Decodes `input` until it is used up, the connection ends, or (with `stop_at_event`) an
    /// event is queued; returns how many bytes it used. A failure is recorded, not returned.
    fn feed(&mut self, input: &[u8], stop_at_event: bool) -> usize {
        let events_before = self.events.len();
        let mut rest = input;
        while !rest.is_empty() && self.state != State::Closed {
            let (used, step) = match self.decoder.decode(rest) {
                Ok(decoded) => decoded,
                Err(e) => {
                    self.fail_with(frame_error(e));
                    break;
                }
            };
            rest = rest.get(used..).unwrap_or_default();
            // An error has been recorded by fail_with and has closed the connection, which
            // ends the loop.
            let _ = match step {
                None => Ok(()),
                Some(Decoded::Header(header)) => self.on_header(header),
                Some(Decoded::Payload { data, end }) => self.on_payload(data, end),
            };
            if stop_at_event && self.events.len() > events_before {
                break;
            }
        }
        input.len() - rest.len()
    }

    /// The transport reached end of file: the connection fails with
    /// [`WsError::UnexpectedEof`] unless the close handshake finished.
    pub fn handle_eof(&mut self) {
        if self.state != State::Closed {
            self.fail_with(WsError::UnexpectedEof);
        }
    }

    /// The caller stops (`true`) or starts again (`false`) reading the transport: it holds back
    /// because its own reader has no room. A pong cannot be seen meanwhile (it waits behind the
    /// unread data), so the pong deadline is not enforced while reading is paused, and a ping
    /// still unanswered when reading starts again has a whole timeout from `now`. Pings still go
    /// out; the close deadline still holds.
    pub fn pause_reading(&mut self, paused: bool, now: Instant) {
        if self.reading_paused == paused {
            return;
        }
        self.reading_paused = paused;
        if !paused
            && self.pong_deadline.is_some()
            && let Some(keepalive) = self.config.keepalive
        {
            self.pong_deadline = now.checked_add(keepalive.timeout);
        }
    }

    /// Time has reached `now`: sends keepalive pings and enforces the pong and close deadlines.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Closed => return,
            State::CloseSent {
                deadline: Some(deadline),
            } if now >= deadline => {
                let after = self.config.close_timeout;
                self.fail_with(WsError::Timeout(Deadline::Close { after }));
                return;
            }
            State::CloseSent { .. } => return,
            State::Open => {}
        }
        if !self.reading_paused && self.pong_deadline.is_some_and(|d| now >= d) {
            let after = self.config.keepalive.map(|k| k.timeout).unwrap_or_default();
            self.fail_with(WsError::Timeout(Deadline::Pong { after }));
            return;
        }
        if let (Some(at), Some(keepalive)) = (self.next_ping, self.config.keepalive)
            && now >= at
        {
            if let Err(e) = self.queue_frame(OpCode::Ping, true, &[]) {
                self.fail_with(WsError::MaskKey(e));
                return;
            }
            // A deadline past the end of time (a huge configured Duration) means none.
            if self.pong_deadline.is_none() {
                self.pong_deadline = now.checked_add(keepalive.timeout);
            }
            self.next_ping = now.checked_add(keepalive.interval);
        }
    }

    /// Queues a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), WsSendError> {
        self.send_message(OpCode::Text, text.as_bytes())
    }

    /// Queues a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), WsSendError> {
        self.send_message(OpCode::Binary, data)
    }

    /// Queues a ping with up to 125 bytes of payload.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), WsSendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(WsSendError::ControlPayloadTooLong { len: payload.len() });
        }
        self.ensure_open()?;
        self.queue_frame(OpCode::Ping, true, payload)
            .map_err(|e| self.fail_to_send(e))
    }

    /// Starts the close handshake at time `now`: queues our close frame, then waits up to the
    /// close timeout for the server's.
    pub fn close(&mut self, now: Instant, code: CloseCode, reason: &str) -> Result<(), WsSendError> {
        if !code.is_valid_on_wire() {
            return Err(WsSendError::InvalidCloseCode(code));
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(WsSendError::CloseReasonTooLong { len: reason.len() });
        }
        self.ensure_open()?;
        self.queue_close(Some(code), reason)
            .map_err(|e| self.fail_to_send(e))?;
        self.state = State::CloseSent {
            deadline: now.checked_add(self.config.close_timeout),
        };
        Ok(())
    }

    /// Fails the connection (RFC 6455 §7.1.7) because a protocol on top of it found the server's
    /// messages unacceptable: queues a close frame with `code` and `reason`, unless one was sent
    /// already, and stops without waiting for the server's answer. Events already decoded stay
    /// queued; after them [`poll_event`](Self::poll_event) returns [`Progress::Finished`] (the
    /// failure is the caller's to report). Does nothing on a connection that is already over.
    ///
    /// An invalid `code` or a `reason` over 123 bytes is refused and changes nothing. Without a
    /// masking key the close frame cannot be sent and the connection fails with
    /// [`WsError::MaskKey`].
    pub fn fail(&mut self, code: CloseCode, reason: &str) -> Result<(), WsSendError> {
        if !code.is_valid_on_wire() {
            return Err(WsSendError::InvalidCloseCode(code));
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(WsSendError::CloseReasonTooLong { len: reason.len() });
        }
        if self.state == State::Closed {
            return Ok(());
        }
        if self.state == State::Open
            && let Err(e) = self.queue_close(Some(code), reason)
        {
            return Err(self.fail_to_send(e));
        }
        self.stop();
        Ok(())
    }

    /// As [`poll_transmit`](Self::poll_transmit), onto the end of `out`. An empty `out` trades
    /// buffers with the connection rather than taking a copy, so both keep their capacity: a loop
    /// that drains into an outbox of its own then allocates nothing per call. `true` when bytes
    /// were added.
    pub fn transmit_into(&mut self, out: &mut Vec<u8>) -> bool {
        self.flush_pong();
        crate::buffer::move_pending(&mut self.transmit, out)
    }

    /// Bytes to write to the transport, all queued so far, or `None` when there are none.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.flush_pong();
        if self.transmit.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.transmit))
        }
    }

    /// The next event, oldest first; once they are drained, the failure if the connection
    /// failed (on every later call too), [`Progress::Finished`] if it closed, and otherwise
    /// [`Progress::NeedData`].
    pub fn poll_event(&mut self) -> Result<Progress<WsEvent>, WsError> {
        if let Some(event) = self.events.pop_front() {
            return Ok(Progress::Event(event));
        }
        match (&self.failure, self.state) {
            (Some(failure), _) => Err(failure.clone()),
            (None, State::Closed) => Ok(Progress::Finished),
            (None, _) => Ok(Progress::NeedData),
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Open => match (
                self.next_ping,
                self.pong_deadline.filter(|_| !self.reading_paused),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            State::CloseSent { deadline } => deadline,
            State::Closed => None,
        }
    }

    fn ensure_open(&self) -> Result<(), WsSendError> {
        if self.state == State::Open {
            Ok(())
        } else {
            Err(WsSendError::Closed)
        }
    }

    fn send_message(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), WsSendError> {
        self.ensure_open()?;
        let compressed = self.deflater.as_mut().and_then(|d| d.deflate(payload));
        let (payload, mut rsv) = match &compressed {
            Some(bytes) => (bytes.as_slice(), RSV1),
            None => (payload, 0),
        };
        let size = self.config.fragment_size.filter(|&s| s > 0).unwrap_or(usize::MAX);
        if payload.len() <= size {
            return self
                .queue_frame_rsv(opcode, true, rsv, payload)
                .map_err(|e| self.fail_to_send(e));
        }
        self.flush_pong();
        let start = self.transmit.len();
        let mut chunks = payload.chunks(size).peekable();
        let mut frame_opcode = opcode;
        while let Some(chunk) = chunks.next() {
            // Only the first frame of a message carries RSV1 (RFC 7692 §6.1).
            if let Err(e) = self.queue_frame_rsv(frame_opcode, chunks.peek().is_none(), rsv, chunk) {
                // No fragments of a message that cannot be finished.
                self.transmit.truncate(start);
                return Err(self.fail_to_send(e));
            }
            frame_opcode = OpCode::Continuation;
            rsv = 0;
        }
        Ok(())
    }

    fn queue_frame(&mut self, opcode: OpCode, fin: bool, payload: &[u8]) -> Result<(), MaskKeyError> {
        self.queue_frame_rsv(opcode, fin, 0, payload)
    }

    /// Queues one frame, masked with the next key; without a key, queues nothing.
    fn queue_frame_rsv(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv: u8,
        payload: &[u8],
    ) -> Result<(), MaskKeyError> {
        // The pong goes first so it is never written after our close frame.
        self.flush_pong();
        let key = self.keys.next_key()?;
        encode_frame(&mut self.transmit, opcode, fin, rsv, payload, key);
        Ok(())
    }

    fn flush_pong(&mut self) {
        if let Some((payload, key)) = self.pending_pong.take() {
            encode_frame(&mut self.transmit, OpCode::Pong, true, 0, &payload, key);
        }
    }

    fn queue_close(&mut self, code: Option<CloseCode>, reason: &str) -> Result<(), MaskKeyError> {
        let mut payload = Vec::with_capacity(2 + reason.len());
        if let Some(code) = code {
            payload.extend_from_slice(&code.0.to_be_bytes());
            payload.extend_from_slice(reason.as_bytes());
        }
        self.queue_frame(OpCode::Close, true, &payload)
    }

    /// Fails the connection because a verb found no masking key: the verb's error.
    fn fail_to_send(&mut self, error: MaskKeyError) -> WsSendError {
        self.fail_with(WsError::MaskKey(error.clone()));
        WsSendError::MaskKey(error)
    }

    /// Fails the connection (RFC 6455 §7.1.7): queues the error's close code if we have not
    /// sent a close yet (and a key for it can be had), records the error for `poll_event`, and
    /// stops. Returns the error, so that the decoding steps can unwind with it.
    fn fail_with(&mut self, error: WsError) -> WsError {
        if self.state == State::Open
            && let Some(code) = error.close_code()
        {
            // Without a key the close frame cannot be sent; the caller closes the transport
            // all the same, so the original error is the one to report.
            let _ = self.queue_close(Some(code), "");
        }
        self.failure.get_or_insert_with(|| error.clone());
        self.stop();
        error
    }

    /// Nothing more is read or sent beyond what is queued.
    fn stop(&mut self) {
        // Without a close frame (EOF, timeouts) the transport is gone: no pong either.
        self.pending_pong = None;
        self.state = State::Closed;
        self.message = None;
        self.frame = None;
    }

    fn on_header(&mut self, header: FrameHeader) -> Result<(), WsError> {
        let rsv1 = header.rsv & RSV1 != 0;
        if rsv1 && !matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            return Err(self.fail_with(violation(ProtocolViolation::UnexpectedRsv1)));
        }
        match header.opcode {
            OpCode::Continuation => {
                let Some(message) = &self.message else {
                    return Err(self.fail_with(violation(ProtocolViolation::UnexpectedContinuation)));
                };
                // A compressed message is measured as it inflates, in on_payload.
                let len = if message.compressed {
                    0
                } else {
                    (message.buf.len() as u64).saturating_add(header.payload_len)
                };
                if len > self.config.max_message_size as u64 {
                    return Err(self.fail_with(message_too_large(len, self.config.max_message_size)));
                }
            }
            OpCode::Text | OpCode::Binary => {
                if self.message.is_some() {
                    return Err(self.fail_with(violation(ProtocolViolation::ExpectedContinuation)));
                }
                if !rsv1 && header.payload_len > self.config.max_message_size as u64 {
                    let (len, max) = (header.payload_len, self.config.max_message_size);
                    return Err(self.fail_with(message_too_large(len, max)));
                }
                self.message = Some(Assembly {
                    text: header.opcode == OpCode::Text,
                    compressed: rsv1,
                    // Reserve what the header announces, but not so much that announcing costs
                    // a peer nothing while it costs us memory.
                    buf: Vec::with_capacity(header.payload_len.min(1 << 16) as usize),
                    utf8: IncrementalUtf8::default(),
                });
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => self.control.clear(),
        }
        self.frame = Some(header);
        if header.payload_len == 0 {
            self.on_frame_end()?;
        }
        Ok(())
    }

    fn on_payload(&mut self, data: &[u8], end: bool) -> Result<(), WsError> {
        let is_control = self.frame.is_some_and(|f| f.opcode.is_control());
        if is_control {
            self.control.extend_from_slice(data);
        } else if let Some(message) = &mut self.message {
            if message.compressed {
                let max = self.config.max_message_size;
                let inflated = match &mut self.inflater {
                    Some(inflater) => inflater.inflate(data, &mut message.buf, max),
                    None => Err(InflateError::Corrupt),
                };
                if let Err(e) = inflated {
                    return Err(self.fail_with(inflate_error(e, max)));
                }
            } else {
                message.buf.extend_from_slice(data);
            }
            if message.text && message.utf8.check(&message.buf).is_err() {
                return Err(self.fail_with(violation(ProtocolViolation::InvalidUtf8)));
            }
        }
        if end {
            self.on_frame_end()?;
        }
        Ok(())
    }

    fn on_frame_end(&mut self) -> Result<(), WsError> {
        let Some(header) = self.frame.take() else {
            return Ok(());
        };
        match header.opcode {
            OpCode::Ping => {
                let payload = std::mem::take(&mut self.control);
                if self.state == State::Open {
                    // Answered when bytes are next taken or another frame is queued; a newer
                    // ping replaces it (RFC 6455 §5.5.3), so a ping flood cannot grow our
                    // transmit buffer faster than the caller drains it.
                    let key = match self.keys.next_key() {
                        Ok(key) => key,
                        Err(e) => return Err(self.fail_with(WsError::MaskKey(e))),
                    };
                    self.pending_pong = Some((payload.clone(), key));
                }
                self.events.push_back(WsEvent::Ping(payload));
            }
            OpCode::Pong => {
                self.pong_deadline = None;
                let payload = std::mem::take(&mut self.control);
                self.events.push_back(WsEvent::Pong(payload));
            }
            OpCode::Close => self.on_close()?,
            OpCode::Text | OpCode::Binary | OpCode::Continuation if header.fin => self.finish_message()?,
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {}
        }
        Ok(())
    }

    fn finish_message(&mut self) -> Result<(), WsError> {
        let Some(mut message) = self.message.take() else {
            return Ok(());
        };
        if message.compressed {
            let max = self.config.max_message_size;
            let inflated = match &mut self.inflater {
                Some(inflater) => inflater.finish(&mut message.buf, max),
                None => Err(InflateError::Corrupt),
            };
            if let Err(e) = inflated {
                return Err(self.fail_with(inflate_error(e, max)));
            }
            if message.text && message.utf8.check(&message.buf).is_err() {
                return Err(self.fail_with(violation(ProtocolViolation::InvalidUtf8)));
            }
        }
        let event = if message.text {
            if !message.utf8.is_complete(&message.buf) {
                return Err(self.fail_with(violation(ProtocolViolation::InvalidUtf8)));
            }
            let text = String::from_utf8(message.buf)
                .map_err(|_| self.fail_with(violation(ProtocolViolation::InvalidUtf8)))?;
            Message::Text(text)
        } else {
            Message::Binary(message.buf)
        };
        self.events.push_back(WsEvent::Message(event));
        Ok(())
    }

    fn on_close(&mut self) -> Result<(), WsError> {
        let parsed = parse_close_payload(&self.control);
        let (code, reason) = match parsed {
            Ok(Some((code, reason))) => (Some(code), reason),
            Ok(None) => (None, String::new()),
            Err(e) => return Err(self.fail_with(violation(ProtocolViolation::InvalidClose(e)))),
        };
        if self.state == State::Open
            && let Err(e) = self.queue_close(code, "")
        {
            return Err(self.fail_with(WsError::MaskKey(e)));
        }
        self.state = State::Closed;
        self.message = None;
        self.events
            .push_back(WsEvent::Closed(CloseFrame { code, reason }));
        Ok(())
    }
}

fn violation(violation: ProtocolViolation) -> WsError {
    WsError::Protocol(violation)
}

fn message_too_large(len: u64, max: usize) -> WsError {
    WsError::LimitExceeded {
        limit: SizeLimit::Message,
        len,
        max: max as u64,
    }
}

/// A header the decoder refused: too large for the limit, or malformed.
fn frame_error(error: FrameError) -> WsError {
    match error {
        FrameError::FrameTooLarge { len, max } => WsError::LimitExceeded {
            limit: SizeLimit::Frame,
            len,
            max,
        },
        other => violation(ProtocolViolation::Frame(other)),
    }
}

fn inflate_error(error: InflateError, max: usize) -> WsError {
    match error {
        InflateError::TooLarge { len } => message_too_large(len, max),
        InflateError::Corrupt => violation(ProtocolViolation::InvalidCompressedData),
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
