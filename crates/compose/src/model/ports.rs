use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

/// One published or container port, from any `ports:` syntax. A short-syntax range
/// (`"8000-8010:80-90"`) has been expanded into one entry per port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortSpec {
    /// Port inside the container.
    pub target: u16,
    /// Host port(s); `None` lets Docker pick. A range remains only for
    /// `"8000-8010:80"` (one container port, any free host port of the range).
    pub published: Option<PortRange>,
    /// Host address to bind (`"127.0.0.1:8080:80"`); `None` binds all.
    pub host_ip: Option<IpAddr>,
    /// Transport protocol.
    pub protocol: Protocol,
}

/// An inclusive range of port numbers; `start == end` for a single port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (inclusive).
    pub end: u16,
}

impl PortRange {
    /// A range holding one port.
    pub fn single(port: u16) -> PortRange {
        PortRange {
            start: port,
            end: port,
        }
    }
}

impl fmt::Display for PortRange {
    /// `8080` or `8000-8010`, the form Docker's `HostPort` takes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// Transport protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Protocol {
    /// `tcp` (default).
    Tcp,
    /// `udp`.
    Udp,
    /// `sctp`.
    Sctp,
}

impl Protocol {
    /// The lowercase spelling used by compose and Docker (`tcp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }

    /// Parses `tcp`/`udp`/`sctp` (any case).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "sctp" => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

/// One `expose:` entry (ranges expanded): a container port made known without publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExposedPort {
    /// Container port.
    pub port: u16,
    /// Transport protocol.
    pub protocol: Protocol,
}
