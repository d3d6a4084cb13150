//! One socket write per burst of responses, not one per response.
//!
//! hyper serves each HTTP/2 stream in a task of its own. When one finishes its response it
//! wakes the connection task, and Tokio runs a task woken that way next (the worker's LIFO
//! slot), before the other streams that were ready in the same turn: the connection writes
//! and flushes every response on its own. On loopback each write also runs the receiver's TCP
//! path, so at 16 calls in flight a connection spent more CPU in `writev` than in its
//! requests (docs/benchmarks.md).
//!
//! [`BatchedWrites`] holds a connection's first write after each flush back by one turn of
//! the scheduler when it is small: it asks to be polled again and returns `Pending`. Tokio
//! queues a task that woke itself behind the tasks already ready, so the streams answered in
//! the same turn add their frames to the connection's buffer first, and one write carries them
//! all. This is grpc-go's rule (its loopy writer calls `runtime.Gosched()` once before
//! flushing less than 1,000 bytes). Alone on a connection, a response waits only for the
//! task's next poll; nothing is held back longer than the tasks already runnable take. The
//! price is at moderate load: a response waits for the others ready with it (measured in
//! docs/benchmarks.md).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A write at least this large goes out at once: there is a batch already (grpc-go's
/// `minBatchSize`).
const MIN_BATCH_BYTES: usize = 1000;

/// An IO whose first small write after each flush yields once to the tasks already ready.
#[derive(Debug)]
pub struct BatchedWrites<IO> {
    io: IO,
    /// Whether this burst of writes has already yielded (reset by a completed flush).
    yielded: bool,
}

impl<IO> BatchedWrites<IO> {
    pub fn new(io: IO) -> BatchedWrites<IO> {
        BatchedWrites { io, yielded: false }
    }

    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// `Pending` (woken at once) the first time in a burst unless `len` bytes are a batch
    /// already; `Ready` afterwards.
    fn yield_once(&mut self, cx: &mut Context<'_>, len: usize) -> Poll<()> {
        if self.yielded || len >= MIN_BATCH_BYTES {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for BatchedWrites<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for BatchedWrites<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.yield_once(cx, buf.len()));
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        std::task::ready!(self.yield_once(cx, len));
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.io).poll_flush(cx);
        if flushed.is_ready() {
            self.yielded = false;
        }
        flushed
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A listener whose connections are [`BatchedWrites`].
#[derive(Debug)]
pub struct BatchedListener<L>(pub L);

impl<L: axum::serve::Listener> axum::serve::Listener for BatchedListener<L> {
    type Io = BatchedWrites<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.0.accept().await;
        (BatchedWrites::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::*;

    /// Counts how often the task was woken.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn write(io: &mut BatchedWrites<Vec<u8>>, waker: &Waker, bytes: &[u8]) -> Poll<usize> {
        let mut cx = Context::from_waker(waker);
        Pin::new(io)
            .poll_write(&mut cx, bytes)
            .map(|written| written.unwrap_or_default())
    }

    fn flush(io: &mut BatchedWrites<Vec<u8>>, waker: &Waker) -> Poll<()> {
        let mut cx = Context::from_waker(waker);
        Pin::new(io).poll_flush(&mut cx).map(|_| ())
    }

    #[test]
    fn the_first_small_write_of_each_burst_yields_once() {
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let mut io = BatchedWrites::new(Vec::new());

        assert_eq!(write(&mut io, &waker, b"first"), Poll::Pending);
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            1,
            "woken to be polled again"
        );
        assert!(io.get_ref().is_empty(), "nothing written yet");
        assert_eq!(write(&mut io, &waker, b"first"), Poll::Ready(5));
        assert_eq!(write(&mut io, &waker, b"second"), Poll::Ready(6));
        assert_eq!(flush(&mut io, &waker), Poll::Ready(()));

        // A new burst yields again.
        assert_eq!(write(&mut io, &waker, b"third"), Poll::Pending);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2);
        assert_eq!(write(&mut io, &waker, b"third"), Poll::Ready(5));
        assert_eq!(io.get_ref().as_slice(), b"firstsecondthird");
    }

    #[test]
    fn a_batch_goes_out_at_once() {
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let mut io = BatchedWrites::new(Vec::new());

        let batch = vec![7u8; MIN_BATCH_BYTES];
        assert_eq!(write(&mut io, &waker, &batch), Poll::Ready(MIN_BATCH_BYTES));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);

        let mut cx = Context::from_waker(&waker);
        let halves = [
            io::IoSlice::new(&batch[..500]),
            io::IoSlice::new(&batch[500..]),
        ];
        let written = Pin::new(&mut io).poll_write_vectored(&mut cx, &halves);
        assert!(matches!(written, Poll::Ready(Ok(n)) if n > 0));
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            0,
            "vectored: the slices are counted together"
        );
    }

    /// A socket that records each write.
    #[derive(Default, Clone)]
    struct Recorded(Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

    impl AsyncWrite for Recorded {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if let Ok(mut writes) = self.0.lock() {
                writes.push(buf.to_vec());
            }
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// What stream tasks hand their connection task: responses and the task to wake.
    #[derive(Default)]
    struct Outbox {
        responses: Vec<u8>,
        connection: Option<Waker>,
    }

    /// A connection as hyper runs one over HTTP/2: the connection task spawns a task per
    /// request; each puts its response in the outbox and wakes the connection task, which
    /// writes what the outbox holds (keeping what a `Pending` write left behind) and flushes.
    /// Returns the socket's writes.
    fn serve<IO: AsyncWrite + Unpin + Send + 'static>(
        io: IO,
        recorded: Recorded,
        requests: u8,
    ) -> io::Result<Vec<Vec<u8>>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()?;
        let outbox = Arc::new(std::sync::Mutex::new(Outbox::default()));
        let connection = {
            let outbox = Arc::clone(&outbox);
            let mut io = io;
            let mut pending = Vec::new();
            let mut spawned = false;
            let mut sent = 0;
            std::future::poll_fn(move |cx| {
                if !spawned {
                    spawned = true;
                    for i in 0..requests {
                        let outbox = Arc::clone(&outbox);
                        tokio::spawn(async move {
                            if let Ok(mut outbox) = outbox.lock() {
                                outbox.responses.push(i);
                                if let Some(connection) = outbox.connection.take() {
                                    connection.wake();
                                }
                            }
                        });
                    }
                }
                loop {
                    if let Ok(mut outbox) = outbox.lock() {
                        pending.append(&mut outbox.responses);
                        if pending.is_empty() {
                            outbox.connection = Some(cx.waker().clone());
                        }
                    }
                    if pending.is_empty() {
                        return Poll::Pending;
                    }
                    match Pin::new(&mut io).poll_write(cx, &pending) {
                        Poll::Ready(Ok(n)) => {
                            pending.drain(..n);
                            sent += n;
                        }
                        Poll::Ready(Err(_)) => return Poll::Ready(()),
                        Poll::Pending => return Poll::Pending,
                    }
                    let _ = Pin::new(&mut io).poll_flush(cx);
                    if sent == usize::from(requests) {
                        return Poll::Ready(());
                    }
                }
            })
        };
        runtime.block_on(async {
            let _ = tokio::spawn(connection).await;
        });
        Ok(recorded.0.lock().map(|w| w.clone()).unwrap_or_default())
    }

    #[test]
    fn responses_ready_in_the_same_turn_leave_in_one_write() -> io::Result<()> {
        let recorded = Recorded::default();
        let writes = serve(BatchedWrites::new(recorded.clone()), recorded, 8)?;
        assert_eq!(writes.len(), 1, "{writes:?}");
        let mut responses = writes.concat();
        responses.sort_unstable();
        assert_eq!(responses, (0..8).collect::<Vec<u8>>());

        // Without it, Tokio runs the connection task as soon as a response wakes it.
        let recorded = Recorded::default();
        let writes = serve(recorded.clone(), recorded, 8)?;
        assert!(writes.len() > 1, "{writes:?}");
        Ok(())
    }
}
