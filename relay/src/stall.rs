//! A connection whose writes may not stall: a client that stops reading
//! (a download it never takes, a WebSocket it never drains) fills the
//! socket's send buffer, and a write that stays pending for longer than
//! the limit fails the connection, releasing whatever its response held.
//! It also holds the connection's slots (released when the socket closes,
//! even after an upgrade to a WebSocket) and notes whether the client was
//! in the middle of a request when the connection ended ([`Activity`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Sleep, sleep};

/// What a connection last did: whether bytes arrived after the last
/// answer. A header timeout with nothing since the last answer is an idle
/// keep-alive connection closing, not a refused request.
#[derive(Debug, Default)]
pub struct Activity(AtomicU8);

const FRESH: u8 = 0;
const READ_SINCE_WRITE: u8 = 1;
const WROTE_LAST: u8 = 2;

impl Activity {
    /// Whether the connection ended between requests: something was
    /// answered and nothing arrived after it.
    pub fn idle_after_answer(&self) -> bool {
        self.0.load(Ordering::Relaxed) == WROTE_LAST
    }
}

/// A TCP stream whose writes fail with `TimedOut` once one has been
/// pending for `limit`.
pub struct WriteDeadline {
    stream: TcpStream,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
    activity: Arc<Activity>,
    /// Released when the stream is dropped (also after an upgrade).
    _held: Option<Box<dyn Send + Sync>>,
}

impl WriteDeadline {
    /// Wraps `stream`.
    pub fn new(stream: TcpStream, limit: Duration) -> Self {
        Self {
            stream,
            limit,
            stalled: None,
            activity: Arc::new(Activity(AtomicU8::new(FRESH))),
            _held: None,
        }
    }

    /// What the connection last did, readable after the stream has been
    /// handed to the HTTP server.
    pub fn activity(&self) -> Arc<Activity> {
        Arc::clone(&self.activity)
    }

    /// Wraps `stream`, keeping `held` (connection slots) until it is dropped.
    pub fn holding(stream: TcpStream, limit: Duration, held: Box<dyn Send + Sync>) -> Self {
        Self {
            _held: Some(held),
            ..Self::new(stream, limit)
        }
    }

    /// Passes a write's result through; a pending write starts (or checks)
    /// the stall timer, an answered one stops it.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if result.is_ready() {
            self.stalled = None;
            self.activity.0.store(WROTE_LAST, Ordering::Relaxed);
            return result;
        }
        let limit = self.limit;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(sleep(limit)));
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            )));
        }
        Poll::Pending
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.0.store(READ_SINCE_WRITE, Ordering::Relaxed);
        }
        result
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.watch(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.watch(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.stream).poll_flush(cx);
        self.watch(cx, result)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt as _;

    #[tokio::test]
    async fn a_reader_that_stops_fails_the_writer_after_the_limit() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The client connects and never reads.
        let _client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut server = WriteDeadline::new(server, Duration::from_millis(300));
        let piece = vec![0u8; 1 << 20];
        let started = std::time::Instant::now();
        let error = loop {
            if let Err(e) = server.write_all(&piece).await {
                break e;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "never stalled");
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }
}
