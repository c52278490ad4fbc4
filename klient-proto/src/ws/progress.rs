//! What a session machine's `poll_event` found, shared by the WebSocket connection and the
//! channel sessions on top of it.

/// What `poll_event` found: an event, nothing until more input, or the end. A failure is not a
/// `Progress` but the `Err` beside it, handed out after every event decoded before it.
///
/// ```
/// use klient_proto::ws::{Config, Connection, Progress, WsEvent};
/// use std::time::Instant;
///
/// let mut conn = Connection::new(Config::default(), || [0; 4], Instant::now());
/// conn.handle_bytes(&[0x88, 0x02, 0x03, 0xE8]); // the server closes with 1000
/// assert!(matches!(conn.poll_event(), Ok(Progress::Event(WsEvent::Closed(_)))));
/// assert_eq!(conn.poll_event(), Ok(Progress::Finished));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Progress<E> {
    /// The next event.
    Event(E),
    /// Nothing more until more bytes, the end of the stream or a timer are fed.
    NeedData,
    /// The machine is over, cleanly: nothing more will come. Write what `poll_transmit` still
    /// returns, then close the transport.
    Finished,
}

impl<E> Progress<E> {
    /// The event, if this is one.
    pub fn event(self) -> Option<E> {
        match self {
            Self::Event(event) => Some(event),
            Self::NeedData | Self::Finished => None,
        }
    }
}
