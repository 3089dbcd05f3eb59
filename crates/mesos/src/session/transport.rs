//! One HTTP/1.1 connection to the agent's executor API, over TCP or the agent's Unix socket
//! (hyper's client connection API), and the request every call uses (ref §2).

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio::task::JoinHandle;

use crate::env::ExecutorEnv;

/// The only media type this session speaks (compared byte-for-byte by the agent).
pub(crate) const JSON: &str = "application/json";

/// Longest error body kept for messages.
const MAX_ERROR_BODY: usize = 4096;

/// Why a request got no HTTP response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    #[error("cannot connect to the agent at {target}: {source}")]
    Connect {
        target: String,
        source: std::io::Error,
    },
    #[error("HTTP exchange with the agent failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("the agent did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot build the request: {0}")]
    Request(#[from] http::Error),
    #[error("the executor authentication token is not a valid header value")]
    BadToken,
}

/// Where the agent's executor API is.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Tcp(String),
    Unix(PathBuf),
}

/// Everything needed to build requests to the agent.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    target: Target,
    host: String,
    path: String,
    authorization: Option<HeaderValue>,
}

impl Endpoint {
    /// The agent as the environment describes it (domain socket wins over TCP).
    pub(crate) fn new(env: &ExecutorEnv) -> Result<Self, TransportError> {
        let target = match (&env.domain_socket, &env.agent_endpoint) {
            (Some(path), _) => Target::Unix(path.clone()),
            (None, Some(endpoint)) => Target::Tcp(endpoint.clone()),
            (None, None) => Target::Tcp(String::new()),
        };
        let host = match &target {
            Target::Tcp(endpoint) => endpoint.clone(),
            Target::Unix(_) => "localhost".to_owned(),
        };
        let authorization = env
            .auth_token
            .as_ref()
            .map(|token| {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| TransportError::BadToken)?;
                value.set_sensitive(true);
                Ok::<_, TransportError>(value)
            })
            .transpose()?;
        Ok(Self {
            target,
            host,
            path: env.api_path(),
            authorization,
        })
    }

    /// Where requests go, for logs.
    pub(crate) fn describe(&self) -> String {
        match &self.target {
            Target::Tcp(endpoint) => format!("http://{endpoint}{}", self.path),
            Target::Unix(path) => format!("unix:{}:{}", path.display(), self.path),
        }
    }

    /// Opens a fresh connection.
    pub(crate) async fn connect(&self) -> Result<Connection, TransportError> {
        let connect_error = |source| TransportError::Connect {
            target: self.describe(),
            source,
        };
        match &self.target {
            Target::Tcp(endpoint) => {
                let stream = TcpStream::connect(endpoint.as_str())
                    .await
                    .map_err(connect_error)?;
                // Small request/response exchanges: do not wait for Nagle.
                let _ = stream.set_nodelay(true);
                Connection::handshake(stream).await
            }
            Target::Unix(path) => {
                let stream = UnixStream::connect(path).await.map_err(connect_error)?;
                Connection::handshake(stream).await
            }
        }
    }

    /// A POST of one JSON call with the headers the agent requires.
    pub(crate) fn request(&self, body: Vec<u8>) -> Result<Request<Full<Bytes>>, TransportError> {
        let mut builder = Request::post(self.path.as_str())
            .header(HOST, self.host.as_str())
            .header(CONTENT_TYPE, JSON)
            .header(ACCEPT, JSON);
        if let Some(value) = &self.authorization {
            builder = builder.header(AUTHORIZATION, value.clone());
        }
        Ok(builder.body(Full::new(Bytes::from(body)))?)
    }
}

/// An HTTP/1.1 client connection; dropping it closes the socket.
pub(crate) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
}

impl Connection {
    async fn handshake<S>(stream: S) -> Result<Self, TransportError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "agent connection ended");
            }
        });
        Ok(Self { sender, driver })
    }

    /// Whether the connection can still carry a request.
    pub(crate) fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Sends one request and waits (at most `timeout`) for the response head.
    pub(crate) async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Response<Incoming>, TransportError> {
        let exchange = async {
            self.sender.ready().await?;
            Ok(self.sender.send_request(request).await?)
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| TransportError::Timeout(timeout))?
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Reads a (small) response body as text for error messages and to free the connection.
pub(crate) async fn body_text(response: Response<Incoming>, timeout: Duration) -> String {
    let limited = Limited::new(response.into_body(), MAX_ERROR_BODY);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Ok(Ok(collected)) => String::from_utf8_lossy(&collected.to_bytes())
            .trim()
            .to_owned(),
        Ok(Err(error)) => format!("<unreadable body: {error}>"),
        Err(_) => "<body not received in time>".to_owned(),
    }
}

/// Whether a failed call or SUBSCRIBE is worth retrying (ref §2: 503, 404 and connection
/// errors are; other 5xx from proxies are treated alike; 501 is a bug).
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::SERVICE_UNAVAILABLE
        || status == StatusCode::NOT_FOUND
        || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED)
}
