//! Suricata EVE JSON: one event per line, kind in `event_type`. Stored: `alert` and `anomaly`
//! (network alerts), `flow` (TCP/netflow metadata), `dns`, `http`, `dhcp`. Every other event
//! type (`fileinfo`, `stats`, `tls`, `ssh`, …) is well-formed but not stored: skipped.
//!
//! Times are the event's `timestamp` (Suricata writes offsets such as `+0100`), a flow's its
//! `flow.start`. Link-layer addresses come from `ether` (`src_mac`/`dest_mac`, or Suricata 7's
//! `src_macs`/`dest_macs` lists on flows). DNS events of every log version are read: v1 (one
//! event per answer, `rdata`), v2 (`answers`, `grouped`) and v3 (`queries`, `answers`).

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::fields::{self, clip, json_error, Int, Text};
use super::time::iso_ms;
use crate::record::{Dhcp, Dns, Endpoints, Flow, Http, IdsAlert, Parsed, Record, Transport};

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    event_type: Option<Text<'a>>,
    flow_id: Option<u64>,
    #[serde(borrow)]
    src_ip: Option<Text<'a>>,
    src_port: Option<u16>,
    #[serde(borrow)]
    dest_ip: Option<Text<'a>>,
    dest_port: Option<u16>,
    #[serde(borrow)]
    proto: Option<Text<'a>>,
    #[serde(borrow)]
    app_proto: Option<Text<'a>>,
    #[serde(borrow)]
    ether: Option<Ether<'a>>,
    #[serde(borrow)]
    alert: Option<Alert<'a>>,
    #[serde(borrow)]
    anomaly: Option<Anomaly<'a>>,
    #[serde(borrow)]
    flow: Option<FlowInfo<'a>>,
    #[serde(borrow)]
    tcp: Option<Tcp<'a>>,
    #[serde(borrow)]
    dns: Option<DnsInfo<'a>>,
    #[serde(borrow)]
    http: Option<HttpInfo<'a>>,
    #[serde(borrow)]
    dhcp: Option<DhcpInfo<'a>>,
}

#[derive(Deserialize)]
struct Ether<'a> {
    #[serde(borrow)]
    src_mac: Option<Text<'a>>,
    #[serde(borrow)]
    dest_mac: Option<Text<'a>>,
    #[serde(borrow)]
    src_macs: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    dest_macs: Option<Vec<Text<'a>>>,
}

#[derive(Deserialize)]
struct Alert<'a> {
    #[serde(borrow)]
    signature: Option<Text<'a>>,
    signature_id: Option<i64>,
    #[serde(borrow)]
    category: Option<Text<'a>>,
    severity: Option<Int>,
}

#[derive(Deserialize)]
struct Anomaly<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    event: Option<Text<'a>>,
    #[serde(borrow)]
    layer: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct FlowInfo<'a> {
    pkts_toserver: Option<i64>,
    pkts_toclient: Option<i64>,
    bytes_toserver: Option<i64>,
    bytes_toclient: Option<i64>,
    #[serde(borrow)]
    start: Option<Text<'a>>,
    #[serde(borrow)]
    end: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Tcp<'a> {
    /// Hex of the TCP flags the responder sent (`"12"`: SYN and ACK).
    #[serde(borrow)]
    tcp_flags_tc: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct DnsInfo<'a> {
    #[serde(borrow)]
    rrname: Option<Text<'a>>,
    #[serde(borrow)]
    rrtype: Option<Text<'a>>,
    #[serde(borrow)]
    rcode: Option<Text<'a>>,
    /// v1 answer events: one answer each.
    #[serde(borrow)]
    rdata: Option<Text<'a>>,
    #[serde(borrow)]
    answers: Option<Vec<DnsAnswer<'a>>>,
    /// v2: answers grouped by type; values are strings for address and name records.
    #[serde(borrow)]
    grouped: Option<BTreeMap<Text<'a>, Vec<Grouped<'a>>>>,
    /// v3: the questions of a request or response.
    #[serde(borrow)]
    queries: Option<Vec<DnsQuery<'a>>>,
}

#[derive(Deserialize)]
struct DnsAnswer<'a> {
    #[serde(borrow)]
    rdata: Option<Text<'a>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Grouped<'a> {
    Text(#[serde(borrow)] Text<'a>),
    Other(IgnoredAny),
}

#[derive(Deserialize)]
struct DnsQuery<'a> {
    #[serde(borrow)]
    rrname: Option<Text<'a>>,
    #[serde(borrow)]
    rrtype: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct HttpInfo<'a> {
    #[serde(borrow)]
    hostname: Option<Text<'a>>,
    #[serde(borrow)]
    url: Option<Text<'a>>,
    #[serde(borrow)]
    http_user_agent: Option<Text<'a>>,
    #[serde(borrow)]
    http_method: Option<Text<'a>>,
    status: Option<Int>,
}

#[derive(Deserialize)]
struct DhcpInfo<'a> {
    #[serde(borrow)]
    client_mac: Option<Text<'a>>,
    #[serde(borrow)]
    assigned_ip: Option<Text<'a>>,
    #[serde(borrow)]
    client_ip: Option<Text<'a>>,
    #[serde(borrow)]
    hostname: Option<Text<'a>>,
}

/// Parses one EVE line.
pub fn parse(line: &str) -> Result<Parsed, String> {
    let e: Event = serde_json::from_str(line).map_err(|err| json_error("EVE", &err))?;
    let kind = e
        .event_type
        .as_deref()
        .ok_or("missing `event_type`")?
        .to_string();
    let record = match kind.as_str() {
        "alert" => alert(&e)?,
        "anomaly" => anomaly(&e)?,
        "flow" => flow(&e)?,
        "dns" => dns(&e)?,
        "http" => http(&e)?,
        "dhcp" => dhcp(&e)?,
        _ => return Ok(Parsed::Skipped),
    };
    Ok(Parsed::Records(vec![record]))
}

fn ts(e: &Event) -> Result<i64, String> {
    let s = e.timestamp.as_deref().ok_or("missing `timestamp`")?;
    iso_ms(s).ok_or_else(|| format!("`timestamp` is not an ISO 8601 time: `{}`", clip(s)))
}

fn first<'b>(one: &'b Option<Text>, many: &'b Option<Vec<Text>>) -> Option<&'b str> {
    one.as_deref()
        .or_else(|| many.as_ref().and_then(|m| m.first()).map(|t| &**t))
}

fn endpoints(e: &Event) -> Result<Endpoints, String> {
    let (src_mac, dst_mac) = match &e.ether {
        Some(x) => (
            fields::mac("ether.src_mac", first(&x.src_mac, &x.src_macs))?,
            fields::mac("ether.dest_mac", first(&x.dest_mac, &x.dest_macs))?,
        ),
        None => (None, None),
    };
    Ok(Endpoints {
        src_ip: fields::ip("src_ip", e.src_ip.as_deref())?,
        src_port: e.src_port.unwrap_or(0),
        dst_ip: fields::ip("dest_ip", e.dest_ip.as_deref())?,
        dst_port: e.dest_port.unwrap_or(0),
        proto: Transport::parse(e.proto.as_deref().unwrap_or_default()),
        src_mac,
        dst_mac,
    })
}

fn flow_id(e: &Event) -> Option<i64> {
    // Suricata's ids fit 48 bits; a larger one keeps its bits, as the capture upload's does.
    e.flow_id.map(|f| f as i64)
}

fn alert(e: &Event) -> Result<Record, String> {
    let a = e
        .alert
        .as_ref()
        .ok_or("an `alert` event needs an `alert` object")?;
    let severity = match a.severity {
        None => None,
        Some(Int(s @ 1..=255)) => Some(s as u8),
        Some(Int(s)) => return Err(format!("`alert.severity` is out of range: {s}")),
    };
    Ok(Record::Alert(IdsAlert {
        ts: ts(e)?,
        at: endpoints(e)?,
        severity,
        signature: fields::text(&a.signature),
        signature_id: a.signature_id,
        category: fields::text(&a.category),
        flow_id: flow_id(e),
        app_proto: fields::text(&e.app_proto),
        anomaly: false,
    }))
}

fn anomaly(e: &Event) -> Result<Record, String> {
    let (kind, event, layer) = match &e.anomaly {
        Some(a) => (
            fields::text(&a.kind),
            fields::text(&a.event),
            fields::text(&a.layer),
        ),
        None => Default::default(),
    };
    let signature = match (kind.is_empty(), event.is_empty()) {
        (_, true) => "anomaly".to_string(),
        (true, false) => format!("anomaly: {event}"),
        (false, false) => format!("{kind} anomaly: {event}"),
    };
    Ok(Record::Alert(IdsAlert {
        ts: ts(e)?,
        at: endpoints(e)?,
        severity: None,
        signature,
        signature_id: None,
        // The layer names where the decoder or parser found it (`proto_detect`, `ltcp`, …).
        category: layer,
        flow_id: flow_id(e),
        app_proto: fields::text(&e.app_proto),
        anomaly: true,
    }))
}

/// The responder answered: on TCP its SYN-ACK (from the flags it sent, when Suricata logged
/// them), else more than one packet back (a lone RST is one); on UDP any packet back.
fn established(proto: Transport, f: &FlowInfo, tcp: Option<&Tcp>) -> bool {
    let back = f.pkts_toclient.unwrap_or(0);
    match proto {
        Transport::Tcp => {
            let flags = tcp
                .and_then(|t| t.tcp_flags_tc.as_deref())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(0);
            if flags != 0 {
                flags & 0x12 == 0x12
            } else {
                back > 1
            }
        }
        Transport::Udp => back > 0,
        _ => false,
    }
}

fn flow(e: &Event) -> Result<Record, String> {
    let f = e
        .flow
        .as_ref()
        .ok_or("a `flow` event needs a `flow` object")?;
    let time = |field: &str, v: &Option<Text>| -> Result<Option<i64>, String> {
        v.as_deref()
            .map(|s| {
                iso_ms(s).ok_or_else(|| format!("`{field}` is not an ISO 8601 time: `{}`", clip(s)))
            })
            .transpose()
    };
    let start = time("flow.start", &f.start)?;
    let end = time("flow.end", &f.end)?;
    let at = endpoints(e)?;
    let ts = match start {
        Some(s) => s,
        None => ts(e)?,
    };
    Ok(Record::Flow(Flow {
        ts,
        established: established(at.proto, f, e.tcp.as_ref()),
        at,
        bytes_out: f.bytes_toserver.unwrap_or(0),
        bytes_in: f.bytes_toclient.unwrap_or(0),
        packets_out: f.pkts_toserver.unwrap_or(0),
        packets_in: f.pkts_toclient.unwrap_or(0),
        duration_ms: match (start, end) {
            (Some(s), Some(e)) if e >= s => e - s,
            _ => 0,
        },
        flow_id: flow_id(e),
    }))
}

fn dns(e: &Event) -> Result<Record, String> {
    let d = e.dns.as_ref().ok_or("a `dns` event needs a `dns` object")?;
    let question = d.queries.as_ref().and_then(|q| q.first());
    let query = d
        .rrname
        .as_deref()
        .or_else(|| question.and_then(|q| q.rrname.as_deref()))
        .unwrap_or_default();
    let qtype = d
        .rrtype
        .as_deref()
        .or_else(|| question.and_then(|q| q.rrtype.as_deref()))
        .unwrap_or_default();
    let mut answers: Vec<&str> = Vec::new();
    if let Some(r) = d.rdata.as_deref() {
        answers.push(r);
    }
    if let Some(list) = &d.answers {
        answers.extend(list.iter().filter_map(|a| a.rdata.as_deref()));
    } else if let Some(groups) = &d.grouped {
        for values in groups.values() {
            answers.extend(values.iter().filter_map(|v| match v {
                Grouped::Text(t) => Some(&**t),
                Grouped::Other(_) => None,
            }));
        }
    }
    Ok(Record::Dns(Dns {
        ts: ts(e)?,
        at: endpoints(e)?,
        qtype: qtype.to_string(),
        query: query.to_string(),
        answer: answers.join(","),
        rcode: fields::text(&d.rcode),
    }))
}

fn http(e: &Event) -> Result<Record, String> {
    let h = e
        .http
        .as_ref()
        .ok_or("an `http` event needs an `http` object")?;
    Ok(Record::Http(Http {
        ts: ts(e)?,
        at: endpoints(e)?,
        method: fields::text(&h.http_method),
        host: fields::text(&h.hostname),
        uri: fields::text(&h.url),
        user_agent: fields::text(&h.http_user_agent),
        status: h.status.map_or(0, |s| s.0),
    }))
}

fn dhcp(e: &Event) -> Result<Record, String> {
    let d = e
        .dhcp
        .as_ref()
        .ok_or("a `dhcp` event needs a `dhcp` object")?;
    let mac = fields::mac("dhcp.client_mac", d.client_mac.as_deref())?
        .ok_or("a `dhcp` event needs `dhcp.client_mac`")?;
    // The address the client holds: the one the server assigned, else the one it already uses.
    let assigned = fields::ip("dhcp.assigned_ip", d.assigned_ip.as_deref())?;
    let client = fields::ip("dhcp.client_ip", d.client_ip.as_deref())?;
    let ip = assigned
        .filter(|ip| !ip.is_unspecified())
        .or(client.filter(|ip| !ip.is_unspecified()));
    Ok(Record::Dhcp(Dhcp {
        ts: ts(e)?,
        mac,
        ip,
        hostname: fields::text(&d.hostname),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Record {
        match parse(line).unwrap() {
            Parsed::Records(mut r) => r.remove(0),
            Parsed::Skipped => panic!("skipped: {line}"),
        }
    }

    #[test]
    fn alert_from_the_real_sample() {
        let line = r#"{"timestamp":"2017-01-30T16:12:36.066011+0100","flow_id":1501577875823823,"pcap_cnt":10319,"event_type":"alert","src_ip":"172.17.0.2","src_port":41402,"dest_ip":"54.230.202.37","dest_port":80,"proto":"TCP","tx_id":0,"alert":{"action":"allowed","gid":1,"signature_id":2013504,"rev":5,"signature":"ET POLICY GNU\/Linux APT User-Agent Outbound likely related to package management","category":"Not Suspicious Traffic","severity":3},"http":{"hostname":"deb.debian.org","url":"\/debian\/pool\/main\/p\/perl\/perl-base_5.24.1-1_amd64.deb","http_user_agent":"Debian APT-HTTP\/1.3 (1.4~beta3)","http_content_type":"application\/x-debian-package","http_method":"GET","protocol":"HTTP\/1.1","status":200,"length":919}}"#;
        let Record::Alert(a) = one(line) else {
            panic!()
        };
        assert_eq!(a.ts, 1_485_789_156_066);
        assert_eq!(a.severity, Some(3));
        assert_eq!(
            a.signature,
            "ET POLICY GNU/Linux APT User-Agent Outbound likely related to package management"
        );
        assert_eq!(a.signature_id, Some(2013504));
        assert_eq!(a.flow_id, Some(1501577875823823));
        assert_eq!(a.at.src_ip, Some("172.17.0.2".parse().unwrap()));
        assert_eq!((a.at.src_port, a.at.dst_port), (41402, 80));
        assert_eq!(a.at.proto, Transport::Tcp);
        assert!(!a.anomaly);
    }

    #[test]
    fn flows_know_whether_the_responder_answered() {
        let base = |proto: &str, back: i64, flags: &str| {
            format!(
                r#"{{"timestamp":"2017-01-30T16:12:29.951412+0100","flow_id":7,"event_type":"flow","src_ip":"fe80:0000:0000:0000:0042:95ff:fea2:534a","src_port":5353,"dest_ip":"10.0.0.5","dest_port":22,"proto":"{proto}","flow":{{"pkts_toserver":3,"pkts_toclient":{back},"bytes_toserver":200,"bytes_toclient":900,"start":"2017-01-30T16:12:27.045141+0100","end":"2017-01-30T16:12:29.951412+0100","state":"closed"}},"tcp":{{"tcp_flags_tc":"{flags}"}}}}"#
            )
        };
        let est = |line: String| match one(&line) {
            Record::Flow(f) => f,
            _ => panic!(),
        };
        let f = est(base("TCP", 5, "1b"));
        assert!(f.established);
        assert_eq!(f.ts, 1_485_789_147_045);
        assert_eq!(f.duration_ms, 2_906);
        assert_eq!((f.bytes_out, f.bytes_in, f.packets_out), (200, 900, 3));
        assert_eq!(
            f.at.src_ip.unwrap().to_string(),
            "fe80::42:95ff:fea2:534a",
            "expanded IPv6 becomes canonical"
        );
        assert!(
            !est(base("TCP", 1, "14")).established,
            "a RST is no service"
        );
        assert!(est(base("TCP", 1, "12")).established, "a SYN-ACK is");
        assert!(est(base("TCP", 4, "00")).established);
        assert!(!est(base("TCP", 1, "00")).established);
        assert!(est(base("UDP", 1, "00")).established);
        assert!(!est(base("UDP", 0, "00")).established);
    }

    #[test]
    fn dns_of_every_log_version() {
        let v1 = r#"{"timestamp":"2017-01-30T16:12:27.008407+0100","event_type":"dns","src_ip":"172.21.3.254","src_port":53,"dest_ip":"172.17.0.2","dest_port":47719,"proto":"UDP","dns":{"type":"answer","id":22800,"rcode":"NOERROR","rrname":"prod.debian.map.fastly.net","rrtype":"A","ttl":30,"rdata":"151.101.12.204"}}"#;
        let v2 = r#"{"timestamp":"2020-01-30T16:12:27Z","event_type":"dns","src_ip":"10.0.0.1","dest_ip":"10.0.0.9","proto":"UDP","dns":{"version":2,"type":"answer","rrname":"example.org","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"example.org","rrtype":"A","ttl":60,"rdata":"93.184.216.34"},{"rrname":"example.org","rrtype":"A","ttl":60,"rdata":"93.184.216.35"}],"grouped":{"A":["93.184.216.34","93.184.216.35"]}}}"#;
        let grouped = r#"{"timestamp":"2020-01-30T16:12:27Z","event_type":"dns","dns":{"version":2,"type":"answer","rrname":"example.org","rrtype":"SOA","rcode":"NOERROR","grouped":{"SOA":[{"mname":"a"}],"CNAME":["b.example.org"]}}}"#;
        let v3 = r#"{"timestamp":"2024-01-30T16:12:27Z","event_type":"dns","dns":{"version":3,"type":"request","tx_id":0,"id":1,"queries":[{"rrname":"picket.example","rrtype":"AAAA"}]}}"#;
        let get = |l: &str| match one(l) {
            Record::Dns(d) => (d.query, d.qtype, d.answer, d.rcode),
            _ => panic!(),
        };
        assert_eq!(
            get(v1),
            (
                "prod.debian.map.fastly.net".into(),
                "A".into(),
                "151.101.12.204".into(),
                "NOERROR".into()
            )
        );
        assert_eq!(get(v2).2, "93.184.216.34,93.184.216.35");
        assert_eq!(get(grouped).2, "b.example.org");
        assert_eq!(
            get(v3),
            (
                "picket.example".into(),
                "AAAA".into(),
                String::new(),
                String::new()
            )
        );
    }

    #[test]
    fn dhcp_names_the_device() {
        let ack = r#"{"timestamp":"2020-05-01T10:00:00.000000+0000","event_type":"dhcp","src_ip":"10.0.0.1","dest_ip":"10.0.0.23","proto":"UDP","ether":{"src_mac":"00:1b:21:3a:4f:01","dest_mac":"3c:22:fb:01:02:03"},"dhcp":{"type":"reply","id":12,"client_mac":"3c:22:fb:01:02:03","assigned_ip":"10.0.0.23","client_ip":"0.0.0.0","dhcp_type":"ack","hostname":"laptop-7"}}"#;
        let Record::Dhcp(d) = one(ack) else { panic!() };
        assert_eq!(d.mac, "3C:22:FB:01:02:03");
        assert_eq!(d.ip, Some("10.0.0.23".parse().unwrap()));
        assert_eq!(d.hostname, "laptop-7");
        let discover = r#"{"timestamp":"2020-05-01T10:00:00Z","event_type":"dhcp","dhcp":{"client_mac":"3c:22:fb:01:02:03","assigned_ip":"0.0.0.0","client_ip":"0.0.0.0","dhcp_type":"discover"}}"#;
        let Record::Dhcp(d) = one(discover) else {
            panic!()
        };
        assert_eq!(d.ip, None);
    }

    #[test]
    fn anomalies_become_alerts_without_severity() {
        let line = r#"{"timestamp":"2020-05-01T10:00:00Z","flow_id":9,"event_type":"anomaly","src_ip":"10.0.0.5","src_port":1234,"dest_ip":"10.0.0.6","dest_port":80,"proto":"TCP","app_proto":"http","anomaly":{"type":"stream","event":"STREAM_PKT_INVALID_TIMESTAMP","layer":"ltcp"}}"#;
        let Record::Alert(a) = one(line) else {
            panic!()
        };
        assert!(a.anomaly);
        assert_eq!(a.severity, None);
        assert_eq!(a.signature, "stream anomaly: STREAM_PKT_INVALID_TIMESTAMP");
        assert_eq!(a.category, "ltcp");
        assert_eq!(a.app_proto, "http");
    }

    #[test]
    fn other_types_skip_and_bad_lines_say_why() {
        assert_eq!(
            parse(
                r#"{"timestamp":"2017-01-30T16:14:11.442531+0100","event_type":"stats","stats":{"uptime":1}}"#
            ),
            Ok(Parsed::Skipped)
        );
        assert_eq!(
            parse(r#"{"event_type":"fileinfo","fileinfo":{"size":3}}"#),
            Ok(Parsed::Skipped)
        );
        for (line, needle) in [
            ("not json", "not valid EVE JSON"),
            (
                r#"{"timestamp":"2020-05-01T10:00:00Z"}"#,
                "missing `event_type`",
            ),
            (r#"{"event_type":"dns","dns":{}}"#, "missing `timestamp`"),
            (
                r#"{"timestamp":"May 1","event_type":"http","http":{}}"#,
                "`timestamp` is not an ISO 8601 time",
            ),
            (
                r#"{"timestamp":"2020-05-01T10:00:00Z","event_type":"flow","src_ip":"10.0.0.300","flow":{}}"#,
                "`src_ip` is not an IP address",
            ),
            (
                r#"{"timestamp":"2020-05-01T10:00:00Z","event_type":"alert"}"#,
                "needs an `alert` object",
            ),
            (
                r#"{"timestamp":"2020-05-01T10:00:00Z","event_type":"flow","src_port":"http","flow":{}}"#,
                "invalid type",
            ),
            (
                r#"{"timestamp":"2020-05-01T10:00:00Z","event_type":"dhcp","dhcp":{"client_mac":"zz"}}"#,
                "`dhcp.client_mac` is not a MAC address",
            ),
        ] {
            let err = parse(line).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }
}
