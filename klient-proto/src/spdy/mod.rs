//! SPDY/3.1 as Kubernetes speaks it: the framing, the compressed header blocks and a client
//! session, for kubectl's port-forward tunnel (SPDY inside a WebSocket) and its direct SPDY
//! upgrade.
//!
//! Kubernetes' SPDY library (github.com/moby/spdystream) handles SYN_STREAM, SYN_REPLY,
//! RST_STREAM, DATA, HEADERS, PING and GOAWAY; it ignores SETTINGS and WINDOW_UPDATE and does no
//! flow control, so neither does this module: nothing here waits for a window.

mod dictionary;
pub mod error;
pub mod frame;
pub mod header_block;
pub mod session;

pub use dictionary::{DICTIONARY_ADLER32, dictionary};
pub use error::SpdyError;
pub use frame::{Frame, FrameDecoder, FrameEncoder, FrameLimits, StreamId};
pub use header_block::{HeaderCompressor, HeaderDecompressor, Headers};
pub use session::{ClientSession, SessionConfig, SpdyEvent, SpdySendError};
