//! A response body read as it arrives (a watch, followed logs), as a [`Stream`] of chunks.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::stream::{self, BoxStream};
use http::{HeaderMap, StatusCode};

use crate::Result;
use crate::client::{Client, content_type, exchange_error};
use crate::exchange::Exchange;
use crate::runtime::Runtime;

/// A response body as the server sends it. Reaching its end returns the connection to the pool;
/// dropping it before closes the connection.
pub struct BodyStream {
    status: StatusCode,
    headers: HeaderMap,
    chunks: BoxStream<'static, Result<Bytes>>,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyStream")
            .field("content_type", &self.content_type())
            .finish_non_exhaustive()
    }
}

impl BodyStream {
    pub(crate) fn new<R: Runtime>(
        client: Client<R>,
        status: StatusCode,
        headers: HeaderMap,
        exchange: Box<Exchange<R>>,
    ) -> Self {
        let chunks = stream::unfold(Some((client, exchange)), |state| async move {
            let (client, mut exchange) = state?;
            match exchange.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some((client, exchange)))),
                Ok(None) => {
                    client.check_in(exchange.finish());
                    None
                }
                Err(e) => Some((Err(exchange_error(e)), None)),
            }
        });
        BodyStream {
            status,
            headers,
            chunks: Box::pin(chunks),
        }
    }

    /// The response's status (a success: other answers are errors).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response's header fields.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The response's `Content-Type`, when it has a readable one.
    pub fn content_type(&self) -> Option<&str> {
        content_type(&self.headers)
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.chunks.as_mut().poll_next(cx)
    }
}
