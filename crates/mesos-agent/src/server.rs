//! The agent's HTTP listeners: TCP on 127.0.0.1 and optionally a Unix socket, with connection
//! tracking so that faults (reset, close, "agent process gone") can be injected per connection.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UnixListener, UnixStream};
use tokio::task::AbortHandle;

use crate::error::AgentError;
use crate::handler;
use crate::shared::{lock, Shared};

/// Which listener a connection came in on (the Unix socket only serves prefixed paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Transport {
    /// The TCP listener (`MESOS_AGENT_ENDPOINT`).
    Tcp,
    /// The Unix socket (`MESOS_DOMAIN_SOCKET`).
    Unix,
}

/// Identity of the connection a request arrived on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnCtx {
    pub(crate) id: u64,
    pub(crate) transport: Transport,
}

struct ConnEntry {
    abort: AbortHandle,
    reset: Arc<AtomicBool>,
}

/// Listeners and live connections of one agent.
pub(crate) struct Server {
    tcp_addr: Mutex<SocketAddr>,
    unix_path: Option<PathBuf>,
    accept_loops: Mutex<Vec<AbortHandle>>,
    conns: Arc<Mutex<HashMap<u64, ConnEntry>>>,
    next_conn: Arc<AtomicU64>,
}

impl Server {
    /// A server that will listen on `tcp_addr` (port 0 = ephemeral, fixed at the first bind).
    pub(crate) fn new(tcp_addr: SocketAddr, unix_path: Option<PathBuf>) -> Server {
        Server {
            tcp_addr: Mutex::new(tcp_addr),
            unix_path,
            accept_loops: Mutex::new(Vec::new()),
            conns: Arc::new(Mutex::new(HashMap::new())),
            next_conn: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The TCP address (meaningful after the first [`Server::listen`]).
    pub(crate) fn tcp_addr(&self) -> SocketAddr {
        *lock(&self.tcp_addr)
    }

    /// The Unix socket path, if one is served.
    pub(crate) fn unix_path(&self) -> Option<&PathBuf> {
        self.unix_path.as_ref()
    }

    /// Binds the listeners (again, after [`Server::stop`], on the same port) and accepts.
    pub(crate) fn listen(&self, shared: &Arc<Shared>) -> Result<(), AgentError> {
        let addr = self.tcp_addr();
        let listener = bind_tcp(addr).map_err(|source| AgentError::Listen {
            what: addr.to_string(),
            source,
        })?;
        let bound = listener.local_addr().map_err(|source| AgentError::Listen {
            what: addr.to_string(),
            source,
        })?;
        *lock(&self.tcp_addr) = bound;
        let mut loops = lock(&self.accept_loops);
        loops.push(self.spawn_accept_loop(shared, Acceptor::Tcp(listener)));
        if let Some(path) = &self.unix_path {
            let _ = std::fs::remove_file(path);
            let listener = UnixListener::bind(path).map_err(|source| AgentError::Listen {
                what: path.display().to_string(),
                source,
            })?;
            loops.push(self.spawn_accept_loop(shared, Acceptor::Unix(listener)));
        }
        Ok(())
    }

    /// Stops listening (new connections are refused) and drops every connection, like an agent
    /// process that went away.
    pub(crate) fn stop(&self) {
        for handle in lock(&self.accept_loops).drain(..) {
            handle.abort();
        }
        if let Some(path) = &self.unix_path {
            let _ = std::fs::remove_file(path);
        }
        let conns: Vec<ConnEntry> = lock(&self.conns).drain().map(|(_, c)| c).collect();
        for conn in conns {
            conn.abort.abort();
        }
    }

    /// Drops one connection; with `reset` a TCP connection is closed with RST instead of FIN.
    pub(crate) fn drop_connection(&self, id: u64, reset: bool) {
        if let Some(conn) = lock(&self.conns).remove(&id) {
            conn.reset.store(reset, Ordering::SeqCst);
            conn.abort.abort();
        }
    }

    fn spawn_accept_loop(&self, shared: &Arc<Shared>, acceptor: Acceptor) -> AbortHandle {
        let shared = Arc::clone(shared);
        let conns = Arc::clone(&self.conns);
        let next_conn = Arc::clone(&self.next_conn);
        tokio::spawn(async move {
            loop {
                let (transport, io): (Transport, Box<dyn Io>) = match &acceptor {
                    Acceptor::Tcp(l) => match l.accept().await {
                        Ok((s, _)) => (Transport::Tcp, Box::new(s)),
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            continue;
                        }
                    },
                    Acceptor::Unix(l) => match l.accept().await {
                        Ok((s, _)) => (Transport::Unix, Box::new(s)),
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            continue;
                        }
                    },
                };
                let id = next_conn.fetch_add(1, Ordering::SeqCst);
                serve_connection(&shared, &conns, ConnCtx { id, transport }, io);
            }
        })
        .abort_handle()
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("tcp", &self.tcp_addr())
            .field("unix", &self.unix_path)
            .finish()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

enum Acceptor {
    Tcp(TcpListener),
    Unix(UnixListener),
}

fn bind_tcp(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Rebinding the same port after a simulated restart must not fail on TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

fn serve_connection(
    shared: &Arc<Shared>,
    conns: &Arc<Mutex<HashMap<u64, ConnEntry>>>,
    ctx: ConnCtx,
    io: Box<dyn Io>,
) {
    let reset = Arc::new(AtomicBool::new(false));
    let io = ConnIo {
        inner: io,
        reset: Arc::clone(&reset),
    };
    let shared = Arc::clone(shared);
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handler::handle(shared, req, ctx).await) }
    });
    // Registration and the task's own removal take the same lock, so the entry cannot be
    // removed before it was inserted.
    let mut table = lock(conns);
    let conns_for_task = Arc::clone(conns);
    let task = tokio::spawn(async move {
        let conn = http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(io), service);
        if let Err(e) = conn.await {
            tracing::debug!(conn = ctx.id, error = %e, "connection ended with an error");
        }
        lock(&conns_for_task).remove(&ctx.id);
    });
    table.insert(
        ctx.id,
        ConnEntry {
            abort: task.abort_handle(),
            reset,
        },
    );
}

/// A byte stream a connection runs on.
trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {
    /// Makes the close an abortive one (TCP RST) where the transport has that notion.
    fn arm_reset(&self);
}

impl Io for TcpStream {
    fn arm_reset(&self) {
        let _ = self.set_zero_linger();
    }
}

impl Io for UnixStream {
    fn arm_reset(&self) {}
}

/// The connection's stream; on drop it applies a requested reset.
struct ConnIo {
    inner: Box<dyn Io>,
    reset: Arc<AtomicBool>,
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            self.inner.arm_reset();
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
