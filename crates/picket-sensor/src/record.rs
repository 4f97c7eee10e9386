//! One sensor observation in the shape Picket stores, whatever the sensor wrote it in: the
//! parsers of [`crate::parse`] produce these, the batch writer and the detections read them.
//! Times are Unix ms (UTC); addresses are parsed; text is as the sensor sent it.

use std::net::IpAddr;

/// Transport protocol of a flow or alert, lower case as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
    Icmp,
    Other,
}

impl Transport {
    pub fn parse(s: &str) -> Transport {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Transport::Tcp,
            "udp" => Transport::Udp,
            "icmp" | "ipv6-icmp" | "icmpv6" => Transport::Icmp,
            _ => Transport::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Icmp => "icmp",
            Transport::Other => "other",
        }
    }
}

/// The addresses of a packet or connection as the sensor saw them (source = originator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub src_ip: Option<IpAddr>,
    pub src_port: u16,
    pub dst_ip: Option<IpAddr>,
    pub dst_port: u16,
    pub proto: Transport,
    /// Upper-case colon form (`AA:BB:CC:DD:EE:FF`, as devices store it) when the sensor
    /// reported link-layer addresses.
    pub src_mac: Option<String>,
    pub dst_mac: Option<String>,
}

/// A Suricata signature alert (`ids`) or anomaly.
#[derive(Debug, Clone, PartialEq)]
pub struct IdsAlert {
    pub ts: i64,
    pub at: Endpoints,
    /// Suricata severity 1 (high) to 3 (low); anomalies carry none.
    pub severity: Option<u8>,
    pub signature: String,
    pub signature_id: Option<i64>,
    pub category: String,
    pub flow_id: Option<i64>,
    pub app_proto: String,
    /// `true` for an EVE `anomaly` event.
    pub anomaly: bool,
}

/// A finished flow or connection (EVE `flow`, Zeek `conn`).
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub ts: i64,
    pub at: Endpoints,
    pub bytes_out: i64,
    pub bytes_in: i64,
    pub packets_out: i64,
    pub packets_in: i64,
    pub duration_ms: i64,
    /// The responder answered (TCP handshake completed, or any reply packets on UDP): the
    /// condition for a discovered service.
    pub established: bool,
    pub flow_id: Option<i64>,
}

/// A DNS query or answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Dns {
    pub ts: i64,
    pub at: Endpoints,
    pub qtype: String,
    pub query: String,
    /// Answers joined by `,`.
    pub answer: String,
    pub rcode: String,
}

/// An HTTP request (and its status when known).
#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    pub ts: i64,
    pub at: Endpoints,
    pub method: String,
    pub host: String,
    pub uri: String,
    pub user_agent: String,
    pub status: i64,
}

/// A DHCP lease: which MAC holds which IP, and the host name it gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Dhcp {
    pub ts: i64,
    /// Upper-case colon form.
    pub mac: String,
    pub ip: Option<IpAddr>,
    pub hostname: String,
}

/// One syslog message.
#[derive(Debug, Clone, PartialEq)]
pub struct Syslog {
    pub ts: i64,
    /// The host the message names (or the sender's address when it names none).
    pub hostname: String,
    /// `sshd`, `sudo`, …
    pub app: String,
    pub pid: Option<u32>,
    pub message: String,
    /// The whole line as received, for the server alert's `line`.
    pub line: String,
}

/// What one input line became.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Alert(IdsAlert),
    Flow(Flow),
    Dns(Dns),
    Http(Http),
    Dhcp(Dhcp),
    Syslog(Syslog),
}

/// What a parser made of one line.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Stored (one line may yield more than one record, e.g. a DHCP ack also names the device).
    Records(Vec<Record>),
    /// A well-formed line of a kind Picket does not store (`stats`, `fileinfo`, `tls`, …).
    Skipped,
}
