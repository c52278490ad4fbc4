//! The incremental response decoder.

use bytes::{Buf, Bytes, BytesMut};
use http::{Method, StatusCode, header};

use super::framing::{self, Framing, Piece};
use super::gzip::GzipDecoder;
use super::head::{self, ResponseHead};
use super::{HttpError, Limits};

/// What the decoder found, in the order it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpEvent {
    /// An interim `1xx` head (100 Continue, 102 Processing, 103 Early Hints). The final head
    /// follows.
    Informational(ResponseHead),
    /// The final head. When the body is gzip-encoded it is decoded transparently, and the
    /// `Content-Encoding` and `Content-Length` fields, which describe the wire form, are removed.
    Head(ResponseHead),
    /// Body bytes, with the transfer and content codings removed. Never empty.
    Data(Bytes),
    /// The response is complete; trailer fields, if any, were checked and dropped.
    End {
        /// Whether the connection may carry another request (see
        /// [`ResponseDecoder::next_response`]).
        keep_alive: bool,
    },
    /// `101 Switching Protocols`, or a 2xx answer to `CONNECT`: the connection now speaks another
    /// protocol. The decoder is finished.
    Upgraded {
        /// The head of the 101 (or 2xx) response, e.g. for checking `Sec-WebSocket-Accept`.
        head: ResponseHead,
        /// Bytes that arrived after the head; they belong to the new protocol.
        leftover: Bytes,
    },
}

/// How many interim (1xx) heads one response may have before its final head.
pub const MAX_INTERIM_RESPONSES: usize = 5;

/// What [`ResponseDecoder::poll_event`] found: an event, a need for more input, or the end.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Progress {
    /// The next event.
    Event(HttpEvent),
    /// Nothing more until more bytes (or the end of the stream) are fed.
    NeedData,
    /// The response is over (its `End` or `Upgraded` was handed out): nothing more comes until
    /// [`ResponseDecoder::next_response`] starts the next one.
    Finished,
}

#[derive(Debug)]
enum State {
    /// Waiting for a head; `scanned` is how far the search for its end got.
    Head {
        scanned: usize,
    },
    Body(Body),
    Done {
        keep_alive: bool,
    },
    Upgraded,
    Failed(HttpError),
}

#[derive(Debug)]
struct Body {
    framing: Framing,
    keep_alive: bool,
    gzip: Option<Box<GzipDecoder>>,
    /// Body bytes after removing the framing, for the body limit.
    received: u64,
}

/// An HTTP/1.1 response decoder: bytes in, [`HttpEvent`]s out, no I/O.
///
/// Feed what the connection delivers with [`handle_bytes`](Self::handle_bytes) (any split works,
/// down to one byte at a time) and [`handle_eof`](Self::handle_eof) when the peer closes; after
/// each call, drain [`poll_event`](Self::poll_event) until it returns [`Progress::NeedData`] (feed
/// more) or [`Progress::Finished`] (the response is over). Events come in this order: any number
/// of `Informational`, then either `Upgraded` (only for a request that asked to switch protocols,
/// see [`with_upgrade`](Self::with_upgrade), or a `CONNECT`), or `Head`, zero or more `Data` and
/// `End`.
///
/// **Buffers.** `handle_bytes` copies the slice into the decoder's buffer: that is the only copy
/// of plain body bytes, since `Data` events are [`Bytes`] split off that buffer. Gzip output is
/// produced in pieces of at most 32 KiB. Bytes fed but not yet polled stay buffered, so drain the
/// events before feeding more. After `End`, bytes of a pipelined next response stay buffered for
/// [`next_response`](Self::next_response). A `Data` event shares its allocation with the buffer
/// it came from: drop it (or copy out of it) once consumed, so that long-lived streams such as
/// watches keep reusing one buffer instead of pinning old ones. A whole body read with
/// [`read_body_from`](Self::read_body_from) mostly skips the buffer: its bytes go from each read
/// straight to where they belong.
///
/// An error is final: every later `poll_event` returns it again.
///
/// ```
/// use klient_proto::http::{HttpEvent, Limits, Progress, ResponseDecoder};
///
/// let mut decoder = ResponseDecoder::new(&http::Method::GET, Limits::default());
/// decoder.handle_bytes(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
/// let mut body = Vec::new();
/// while let Progress::Event(event) = decoder.poll_event()? {
///     match event {
///         HttpEvent::Head(head) => assert_eq!(head.status, 200),
///         HttpEvent::Data(bytes) => body.extend_from_slice(&bytes),
///         HttpEvent::End { keep_alive } => assert!(keep_alive),
///         other => unreachable!("{other:?}"),
///     }
/// }
/// assert_eq!(body, b"{}");
/// # Ok::<(), klient_proto::http::HttpError>(())
/// ```
#[derive(Debug)]
pub struct ResponseDecoder {
    limits: Limits,
    buf: BytesMut,
    eof: bool,
    request_was_head: bool,
    request_was_connect: bool,
    /// Whether any part of this response (even a 1xx) has arrived, to tell an idle close apart.
    started: bool,
    /// Interim (1xx) heads of this response so far.
    interim: usize,
    /// Whether the request asked to switch protocols: only then does a 101 hand the connection over.
    upgrade_requested: bool,
    state: State,
}

impl ResponseDecoder {
    /// A decoder for the response to a request with `method` (HEAD responses have no body, and a
    /// 2xx answer to CONNECT opens a tunnel).
    pub fn new(method: &Method, limits: Limits) -> Self {
        Self {
            limits,
            buf: BytesMut::new(),
            eof: false,
            request_was_head: method == Method::HEAD,
            request_was_connect: method == Method::CONNECT,
            started: false,
            interim: 0,
            upgrade_requested: false,
            state: State::Head { scanned: 0 },
        }
    }

    /// The request asked to switch protocols (it carries `Upgrade`, as a WebSocket handshake does):
    /// a `101 Switching Protocols` then ends the response with [`HttpEvent::Upgraded`]. Without this, a
    /// 101 is [`HttpError::UnexpectedUpgrade`]: a connection must not change protocols under a
    /// request that did not ask for it.
    pub fn with_upgrade(mut self) -> Self {
        self.upgrade_requested = true;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the current response has ended with `End`, so [`next_response`](Self::next_response)
    /// may be called.
    pub fn is_reusable(&self) -> bool {
        matches!(self.state, State::Done { keep_alive: true })
    }

    /// Lifts the body limits of the current response ([`Limits::max_body_bytes`] and
    /// [`Limits::max_decompressed_bytes`]), for a stream whose consumer bounds each piece.
    pub fn lift_body_limits(&mut self) {
        self.limits.max_body_bytes = u64::MAX;
        self.limits.max_decompressed_bytes = u64::MAX;
    }

    /// Whether any byte of the response (even of a 1xx head) has arrived: a connection that ends
    /// before that was closed without answering.
    pub fn has_started(&self) -> bool {
        self.started || !self.buf.is_empty()
    }

    /// Bytes received and not yet handed out.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// Takes bytes received after an `Upgraded` event (they belong to the new protocol), or after
    /// an `End` that did not keep the connection alive.
    pub fn take_buffered(&mut self) -> Bytes {
        match self.state {
            State::Upgraded | State::Done { keep_alive: false } => self.buf.split().freeze(),
            _ => Bytes::new(),
        }
    }

    /// Bytes received from the connection.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The peer closed its side of the connection.
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// Starts decoding the response to the next request on the same keep-alive connection;
    /// already buffered bytes are kept. Fails with [`HttpError::NotReusable`] unless the last
    /// response ended with `End { keep_alive: true }`.
    pub fn next_response(&mut self, method: &Method) -> Result<(), HttpError> {
        if !self.is_reusable() {
            return Err(HttpError::NotReusable);
        }
        self.request_was_head = method == Method::HEAD;
        self.request_was_connect = method == Method::CONNECT;
        self.started = false;
        self.interim = 0;
        self.state = State::Head { scanned: 0 };
        Ok(())
    }

    /// The next event, [`Progress::NeedData`] when more bytes (or the EOF) are needed, or
    /// [`Progress::Finished`] once the response is over.
    pub fn poll_event(&mut self) -> Result<Progress, HttpError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        let result = self.step();
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    /// Like [`poll_event`](Self::poll_event), but body bytes are appended to `out` instead of
    /// being handed out as [`HttpEvent::Data`] (which this never returns): the way to read a whole
    /// body, copying each byte once from the decoder's buffer to where it belongs, without a
    /// shared buffer per piece. Returns `NeedData` once everything received so far is in `out`,
    /// and `End` (then `Finished`) at the end of the body.
    pub fn read_body_into(&mut self, out: &mut Vec<u8>) -> Result<Progress, HttpError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        let State::Body(body) = &mut self.state else {
            return self.poll_event();
        };
        let result = loop {
            match body.next(&mut self.buf, self.eof, &self.limits) {
                Ok(BodyPiece::Raw(n)) => {
                    out.extend_from_slice(&self.buf[..n]);
                    self.buf.advance(n);
                }
                Ok(BodyPiece::Decoded(bytes)) => out.extend_from_slice(&bytes),
                Ok(BodyPiece::NeedData) => break Ok(Progress::NeedData),
                Ok(BodyPiece::End) => {
                    let keep_alive = body.keep_alive;
                    self.state = State::Done { keep_alive };
                    break Ok(Progress::Event(HttpEvent::End { keep_alive }));
                }
                Err(e) => break Err(e),
            }
        };
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    /// [`handle_bytes`](Self::handle_bytes) and [`read_body_into`](Self::read_body_into) in one
    /// step, with one copy fewer: while a plain (not gzip-encoded) body is being read and nothing
    /// is left buffered, body bytes go straight from `bytes` to `out`, and only what cannot be
    /// decoded yet (a chunk-size line cut by the read, say) or what follows the body is kept. An
    /// adapter reading a whole body calls this with each read from its socket.
    ///
    /// ```
    /// use klient_proto::http::{HttpEvent, Limits, Progress, ResponseDecoder};
    ///
    /// let mut decoder = ResponseDecoder::new(&http::Method::GET, Limits::default());
    /// let mut body = Vec::new();
    /// let head = decoder.read_body_from(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{", &mut body)?;
    /// assert!(matches!(head, Progress::Event(HttpEvent::Head(_))));
    /// assert_eq!(decoder.read_body_into(&mut body)?, Progress::NeedData);
    /// let end = decoder.read_body_from(b"\"\"}", &mut body)?;
    /// assert_eq!(end, Progress::Event(HttpEvent::End { keep_alive: true }));
    /// assert_eq!(body, b"{\"\"}");
    /// # Ok::<(), klient_proto::http::HttpError>(())
    /// ```
    pub fn read_body_from(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) -> Result<Progress, HttpError> {
        let State::Body(body) = &mut self.state else {
            self.handle_bytes(bytes);
            return self.read_body_into(out);
        };
        if body.gzip.is_some() || !self.buf.is_empty() {
            self.handle_bytes(bytes);
            return self.read_body_into(out);
        }
        let result = loop {
            match body
                .framing
                .next(&mut bytes, self.eof, &self.limits, &mut body.received)
            {
                Ok(Piece::Data(n)) => {
                    out.extend_from_slice(&bytes[..n]);
                    bytes.advance(n);
                }
                Ok(Piece::NeedData) => break Ok(Progress::NeedData),
                Ok(Piece::End) => {
                    let keep_alive = body.keep_alive;
                    self.state = State::Done { keep_alive };
                    break Ok(Progress::Event(HttpEvent::End { keep_alive }));
                }
                Err(e) => break Err(e),
            }
        };
        // What is left is an undecoded tail of the body's framing, or bytes after the body.
        self.buf.extend_from_slice(bytes);
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    fn step(&mut self) -> Result<Progress, HttpError> {
        match &mut self.state {
            State::Head { scanned } => {
                self.started |= !self.buf.is_empty();
                let Some((head, len)) = head::parse(&self.buf, scanned, &self.limits)? else {
                    return match (self.eof, self.started) {
                        (false, _) => Ok(Progress::NeedData),
                        (true, false) => Err(HttpError::ClosedBeforeResponse),
                        (true, true) => Err(HttpError::UnexpectedEof),
                    };
                };
                self.buf.advance(len);
                self.on_head(head).map(Progress::Event)
            }
            State::Body(body) => match body.next(&mut self.buf, self.eof, &self.limits)? {
                BodyPiece::Raw(n) => Ok(Progress::Event(HttpEvent::Data(self.buf.split_to(n).freeze()))),
                BodyPiece::Decoded(data) => Ok(Progress::Event(HttpEvent::Data(data))),
                BodyPiece::NeedData => Ok(Progress::NeedData),
                BodyPiece::End => {
                    let keep_alive = body.keep_alive;
                    self.state = State::Done { keep_alive };
                    Ok(Progress::Event(HttpEvent::End { keep_alive }))
                }
            },
            State::Done { .. } | State::Upgraded => Ok(Progress::Finished),
            // poll_event answers a failed decoder before stepping it.
            State::Failed(e) => Err(e.clone()),
        }
    }

    fn on_head(&mut self, mut head: ResponseHead) -> Result<HttpEvent, HttpError> {
        let status = head.status;
        if status == StatusCode::SWITCHING_PROTOCOLS && !self.upgrade_requested {
            return Err(HttpError::UnexpectedUpgrade);
        }
        if status == StatusCode::SWITCHING_PROTOCOLS || (self.request_was_connect && status.is_success()) {
            self.state = State::Upgraded;
            return Ok(HttpEvent::Upgraded {
                head,
                leftover: self.buf.split().freeze(),
            });
        }
        if status.is_informational() {
            // A server that only ever sends interim heads would keep a call alive past every
            // read timeout; Go's transport stops after five as well.
            self.interim += 1;
            if self.interim > MAX_INTERIM_RESPONSES {
                return Err(HttpError::TooManyInterimResponses {
                    max: MAX_INTERIM_RESPONSES,
                });
            }
            self.state = State::Head { scanned: 0 };
            return Ok(HttpEvent::Informational(head));
        }
        let framing = Framing::for_response(status, &head.headers, self.request_was_head, &self.limits)?;
        let has_body = !matches!(framing, Framing::Length { remaining: 0 });
        let gzip = if has_body && framing::is_gzip(&head.headers)? {
            head.headers.remove(header::CONTENT_ENCODING);
            head.headers.remove(header::CONTENT_LENGTH);
            Some(Box::new(GzipDecoder::new()))
        } else {
            None
        };
        let keep_alive = framing.is_self_delimited() && framing::keep_alive(head.version, &head.headers);
        self.state = State::Body(Body {
            framing,
            keep_alive,
            gzip,
            received: 0,
        });
        Ok(HttpEvent::Head(head))
    }
}

/// One step of a body with its content coding removed.
enum BodyPiece {
    /// The next this many bytes at the front of the buffer are body, as they came.
    Raw(usize),
    /// Bytes gzip produced.
    Decoded(Bytes),
    NeedData,
    End,
}

impl Body {
    #[inline]
    fn next(&mut self, buf: &mut BytesMut, eof: bool, limits: &Limits) -> Result<BodyPiece, HttpError> {
        loop {
            if let Some(gzip) = &mut self.gzip
                && let Some(out) = gzip.poll_output(limits.max_decompressed_bytes)?
            {
                return Ok(BodyPiece::Decoded(out));
            }
            match self.framing.next(buf, eof, limits, &mut self.received)? {
                Piece::Data(n) => match &mut self.gzip {
                    Some(gzip) => gzip.push(buf.split_to(n).freeze()),
                    None => return Ok(BodyPiece::Raw(n)),
                },
                Piece::End => {
                    if let Some(gzip) = &self.gzip {
                        gzip.finish()?;
                    }
                    return Ok(BodyPiece::End);
                }
                Piece::NeedData => return Ok(BodyPiece::NeedData),
            }
        }
    }
}
