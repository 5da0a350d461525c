//! `lrt serve`'s connections: accepted by hand instead of through `axum::serve`, which has no
//! header-read timeout, idle timeout or connection cap, so a few hundred half-open sockets
//! from one unauthenticated client could use up the process's file descriptors.
//!
//! * **Header-read timeout**: a request whose headers are not complete in time closes its
//!   connection (hyper's own timer).
//! * **Idle timeout**: a connection with no request running that moves no byte for this long is
//!   closed, between requests (keep-alive) as before its first.
//! * **Connection cap**: at the cap, the connection idle the longest is closed to make room for
//!   the new one, so a flood of silent sockets cannot lock out `/health` or real clients; only
//!   when every connection runs a request is the newcomer refused.
//!
//! An accept that fails (out of descriptors) is retried after a short pause instead of ending
//! the server.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use futures_util::StreamExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

/// Default `--header-timeout`.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--idle-timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The most connections `--max-connections` defaults to (less when descriptors are scarce).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The connection limits of `lrt serve`.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// The process's soft limit on open file descriptors, raised to its hard limit first (a
/// server should use what it may); `None` when it cannot be read.
pub fn raise_descriptor_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    // rlim_t is not u64 on every platform.
    #[allow(clippy::unnecessary_cast)]
    Some(lim.rlim_cur as u64)
}

/// The connection cap that leaves half of `descriptors` for kb.db files, indexes, logs and
/// the model clients' sockets.
pub fn default_max_connections(descriptors: Option<u64>) -> usize {
    match descriptors {
        Some(n) => ((n / 2) as usize).clamp(16, DEFAULT_MAX_CONNECTIONS),
        None => DEFAULT_MAX_CONNECTIONS,
    }
}

/// Descriptors one cached KB engine holds (kb.db, its WAL and shared memory, the LLM cache,
/// index files and the model clients' sockets: about 8.5 measured).
const DESCRIPTORS_PER_ENGINE: u64 = 9;

/// `max_cached_instances`, reduced (with a warning) so that cached engines use at most a
/// quarter of `descriptors`: at a limit of 1,024 the default cache of 100 engines alone would
/// need most of them, and accepts and kb.db opens then fail.
pub fn engine_cache_size(wanted: NonZeroUsize, descriptors: Option<u64>) -> NonZeroUsize {
    let Some(n) = descriptors else { return wanted };
    let fits = NonZeroUsize::new((n / 4 / DESCRIPTORS_PER_ENGINE) as usize).unwrap_or(NonZeroUsize::MIN);
    if fits < wanted {
        tracing::warn!(
            target: "lrt::serve",
            "the open-file limit is {n}: keeping {fits} knowledge bases open instead of {wanted} (raise `ulimit -n` for more)"
        );
        return fits;
    }
    wanted
}

/// One connection's bookkeeping.
struct Conn {
    /// Milliseconds since the registry's epoch of the last byte read or written.
    last_active: AtomicU64,
    /// Requests running (a streamed answer counts until its body ends).
    in_flight: AtomicUsize,
    close: Notify,
}

struct Registry {
    epoch: Instant,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
}

impl Registry {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn conns(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new connection, first closing the one idle the longest if at `cap`;
    /// `None` when at the cap every connection is running a request.
    fn admit(&self, cap: usize) -> Option<(u64, Arc<Conn>)> {
        let mut conns = self.conns();
        if conns.len() >= cap {
            let victim = conns
                .iter()
                .filter(|(_, c)| c.in_flight.load(Ordering::Acquire) == 0)
                .min_by_key(|(_, c)| c.last_active.load(Ordering::Relaxed))
                .map(|(id, _)| *id)?;
            if let Some(old) = conns.remove(&victim) {
                old.close.notify_one();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            last_active: AtomicU64::new(self.now()),
            in_flight: AtomicUsize::new(0),
            close: Notify::new(),
        });
        conns.insert(id, conn.clone());
        Some((id, conn))
    }
}

/// A socket that records when it last moved a byte.
struct Tracked {
    inner: TcpStream,
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl Tracked {
    fn touch(&self) {
        self.conn.last_active.store(self.registry.now(), Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        poll
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Counts a request as running until dropped (with its response body).
struct Running(Arc<Conn>);

impl Running {
    fn start(conn: &Arc<Conn>) -> Running {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        Running(conn.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves `app` on `listener` until `stop` turns true, then lets the open connections finish
/// their requests (the caller bounds how long).
pub async fn serve(listener: TcpListener, app: Router, limits: ConnLimits, mut stop: watch::Receiver<bool>) {
    let registry = Arc::new(Registry {
        epoch: Instant::now(),
        conns: Mutex::default(),
        next_id: AtomicU64::new(0),
    });
    let (open_tx, open_rx) = watch::channel(());
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(target: "lrt::serve", "cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some((id, conn)) = registry.admit(limits.max_connections.max(1)) else {
            // Every connection runs a request: refuse this one rather than exceed the cap.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (app, registry, stop, open) = (app.clone(), registry.clone(), stop.clone(), open_rx.clone());
        crate::metrics::connection_opened();
        tokio::spawn(async move {
            connection(stream, peer, app, &registry, conn, limits, stop).await;
            registry.conns().remove(&id);
            crate::metrics::connection_closed();
            drop(open);
        });
    }
    drop(listener);
    drop(open_rx);
    // Every connection task holds a receiver: the channel closes when the last one ends.
    open_tx.closed().await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    registry: &Arc<Registry>,
    conn: Arc<Conn>,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Tracked {
        inner: stream,
        conn: conn.clone(),
        registry: registry.clone(),
    });
    let counted = conn.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        let running = Running::start(&counted);
        let app = app.clone();
        // What `into_make_service_with_connect_info` would give: the peer, for auth throttling.
        req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        async move {
            let response = app.oneshot(req.map(axum::body::Body::new)).await?;
            // The request runs until its body is sent (a streamed answer's last chunk).
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                axum::body::Body::from_stream(body.into_data_stream().map(move |chunk| {
                    let _ = &running;
                    chunk
                }))
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let served = builder.serve_connection(io, service);
    tokio::pin!(served);
    let idle = limits.idle_timeout.as_millis() as u64;
    let mut closing = false;
    loop {
        let check = Duration::from_millis((idle / 4).clamp(50, 1000));
        tokio::select! {
            _ = served.as_mut() => return,
            _ = conn.close.notified(), if !closing => {
                // Evicted at the cap: idle by definition, so closing loses no request.
                return;
            }
            _ = stop.wait_for(|s| *s), if !closing => {
                closing = true;
                served.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep(check), if !closing => {
                let quiet = registry.now().saturating_sub(conn.last_active.load(Ordering::Relaxed));
                if conn.in_flight.load(Ordering::Acquire) == 0 && quiet >= idle {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry {
            epoch: Instant::now(),
            conns: Mutex::default(),
            next_id: AtomicU64::new(0),
        }
    }

    #[test]
    fn at_the_cap_the_longest_idle_connection_makes_room() {
        let r = registry();
        let (a, ca) = r.admit(2).unwrap();
        let (_, cb) = r.admit(2).unwrap();
        ca.last_active.store(0, Ordering::Relaxed);
        cb.last_active.store(5, Ordering::Relaxed);
        let (_, _c) = r.admit(2).unwrap();
        assert_eq!(r.conns().len(), 2);
        assert!(!r.conns().contains_key(&a), "the oldest idle one was closed");
    }

    #[test]
    fn at_the_cap_with_every_connection_busy_a_newcomer_is_refused() {
        let r = registry();
        let (_, ca) = r.admit(1).unwrap();
        let _busy = Running::start(&ca);
        assert!(r.admit(1).is_none());
        drop(_busy);
        assert!(r.admit(1).is_some());
    }

    #[test]
    fn the_default_cap_leaves_descriptors_for_the_rest() {
        assert_eq!(default_max_connections(Some(256)), 128);
        assert_eq!(default_max_connections(Some(1 << 20)), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(default_max_connections(Some(10)), 16);
        let hundred = NonZeroUsize::new(100).unwrap();
        assert_eq!(engine_cache_size(hundred, Some(200)).get(), 5);
        assert_eq!(engine_cache_size(hundred, Some(1 << 20)), hundred);
        assert_eq!(engine_cache_size(hundred, Some(3)).get(), 1);
    }
}
