//! Zeek JSON logs, one entry per line, the log named in `_path`: `conn` (TCP/netflow
//! metadata), `dns`, `dhcp` and `http`, with Zeek's documented field names (`id.orig_h`,
//! `id.resp_p`, `conn_state`, `qtype_name`, `assigned_addr`, …). Other logs (`ssl`, `files`,
//! `weird`, …) are skipped. `ts` is epoch seconds (Zeek's default), epoch ms
//! (`JSON::TS_MILLIS`) or ISO 8601 (`JSON::TS_ISO8601`). MACs come from `orig_l2_addr` /
//! `resp_l2_addr` when Zeek logs them (`policy/protocols/conn/mac-logging`).

use serde::de::Deserializer;
use serde::Deserialize;

use super::fields::{self, json_error, Int, Text};
use super::time::{epoch_ms, iso_ms};
use crate::record::{Dhcp, Dns, Endpoints, Flow, Http, Parsed, Record, Transport};

/// `ts` as Zeek writes it: a number or an ISO 8601 string.
#[derive(Debug, Clone, Copy)]
struct Ts(Option<i64>, bool);

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Ts;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("epoch seconds or an ISO 8601 time")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ts, E> {
                Ok(Ts(epoch_ms(v), true))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ts, E> {
                Ok(Ts(epoch_ms(v as f64), true))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ts, E> {
                Ok(Ts(epoch_ms(v as f64), true))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ts, E> {
                Ok(Ts(iso_ms(v), false))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(borrow, rename = "_path")]
    path: Option<Text<'a>>,
    ts: Option<Ts>,
    #[serde(borrow, rename = "id.orig_h")]
    orig_h: Option<Text<'a>>,
    #[serde(rename = "id.orig_p")]
    orig_p: Option<u16>,
    #[serde(borrow, rename = "id.resp_h")]
    resp_h: Option<Text<'a>>,
    #[serde(rename = "id.resp_p")]
    resp_p: Option<u16>,
    #[serde(borrow)]
    proto: Option<Text<'a>>,
    #[serde(borrow)]
    orig_l2_addr: Option<Text<'a>>,
    #[serde(borrow)]
    resp_l2_addr: Option<Text<'a>>,
    // conn
    duration: Option<f64>,
    orig_bytes: Option<i64>,
    resp_bytes: Option<i64>,
    orig_pkts: Option<i64>,
    resp_pkts: Option<i64>,
    #[serde(borrow)]
    conn_state: Option<Text<'a>>,
    #[serde(borrow)]
    history: Option<Text<'a>>,
    // dns
    #[serde(borrow)]
    query: Option<Text<'a>>,
    #[serde(borrow)]
    qtype_name: Option<Text<'a>>,
    #[serde(borrow)]
    rcode_name: Option<Text<'a>>,
    #[serde(borrow)]
    answers: Option<Vec<Text<'a>>>,
    // dhcp
    #[serde(borrow)]
    mac: Option<Text<'a>>,
    #[serde(borrow)]
    assigned_addr: Option<Text<'a>>,
    #[serde(borrow)]
    client_addr: Option<Text<'a>>,
    #[serde(borrow)]
    host_name: Option<Text<'a>>,
    // http
    #[serde(borrow)]
    method: Option<Text<'a>>,
    #[serde(borrow)]
    host: Option<Text<'a>>,
    #[serde(borrow)]
    uri: Option<Text<'a>>,
    #[serde(borrow)]
    user_agent: Option<Text<'a>>,
    status_code: Option<Int>,
}

/// Parses one Zeek JSON line.
pub fn parse(line: &str) -> Result<Parsed, String> {
    let z: Entry = serde_json::from_str(line).map_err(|e| json_error("Zeek", &e))?;
    let path = z
        .path
        .as_deref()
        .ok_or("missing `_path` (the log's name)")?;
    let record = match path {
        "conn" => conn(&z)?,
        "dns" => dns(&z)?,
        "dhcp" => dhcp(&z)?,
        "http" => http(&z)?,
        _ => return Ok(Parsed::Skipped),
    };
    Ok(Parsed::Records(vec![record]))
}

fn ts(z: &Entry) -> Result<i64, String> {
    match z.ts {
        None => Err("missing `ts`".into()),
        Some(Ts(Some(ms), _)) => Ok(ms),
        Some(Ts(None, true)) => Err("`ts` is not a time in epoch seconds".into()),
        Some(Ts(None, false)) => Err("`ts` is not an ISO 8601 time".into()),
    }
}

fn endpoints(z: &Entry, default_proto: Transport) -> Result<Endpoints, String> {
    Ok(Endpoints {
        src_ip: fields::ip("id.orig_h", z.orig_h.as_deref())?,
        src_port: z.orig_p.unwrap_or(0),
        dst_ip: fields::ip("id.resp_h", z.resp_h.as_deref())?,
        dst_port: z.resp_p.unwrap_or(0),
        proto: z.proto.as_deref().map_or(default_proto, Transport::parse),
        src_mac: fields::mac("orig_l2_addr", z.orig_l2_addr.as_deref())?,
        dst_mac: fields::mac("resp_l2_addr", z.resp_l2_addr.as_deref())?,
    })
}

/// The responder answered: for TCP a state past the handshake (`S1`, `SF`, `S2`, `S3`, `RSTO`,
/// `RSTR`) or, without a state, its SYN-ACK in the history (`h`); otherwise any packet back.
fn established(z: &Entry, proto: Transport) -> bool {
    let state = z.conn_state.as_deref().unwrap_or_default();
    match proto {
        Transport::Tcp => {
            if state.is_empty() {
                z.history.as_deref().is_some_and(|h| h.contains('h'))
            } else {
                matches!(state, "S1" | "SF" | "S2" | "S3" | "RSTO" | "RSTR")
            }
        }
        Transport::Udp => z.resp_pkts.unwrap_or(0) > 0 || state == "SF",
        _ => false,
    }
}

fn conn(z: &Entry) -> Result<Record, String> {
    let at = endpoints(z, Transport::Other)?;
    let duration_ms = match z.duration {
        Some(d) if d.is_finite() && d >= 0.0 => (d * 1000.0).round() as i64,
        Some(d) => return Err(format!("`duration` is not a length of time: {d}")),
        None => 0,
    };
    Ok(Record::Flow(Flow {
        ts: ts(z)?,
        established: established(z, at.proto),
        at,
        bytes_out: z.orig_bytes.unwrap_or(0),
        bytes_in: z.resp_bytes.unwrap_or(0),
        packets_out: z.orig_pkts.unwrap_or(0),
        packets_in: z.resp_pkts.unwrap_or(0),
        duration_ms,
        flow_id: None,
    }))
}

fn dns(z: &Entry) -> Result<Record, String> {
    let answers: Vec<&str> = z.answers.iter().flatten().map(|a| &**a).collect();
    Ok(Record::Dns(Dns {
        ts: ts(z)?,
        at: endpoints(z, Transport::Udp)?,
        qtype: fields::text(&z.qtype_name),
        query: fields::text(&z.query),
        answer: answers.join(","),
        rcode: fields::text(&z.rcode_name),
    }))
}

fn dhcp(z: &Entry) -> Result<Record, String> {
    let mac = fields::mac("mac", z.mac.as_deref())?.ok_or("a `dhcp` entry needs `mac`")?;
    let assigned = fields::ip("assigned_addr", z.assigned_addr.as_deref())?;
    let client = fields::ip("client_addr", z.client_addr.as_deref())?;
    let ip = assigned
        .filter(|ip| !ip.is_unspecified())
        .or(client.filter(|ip| !ip.is_unspecified()));
    Ok(Record::Dhcp(Dhcp {
        ts: ts(z)?,
        mac,
        ip,
        hostname: fields::text(&z.host_name),
    }))
}

fn http(z: &Entry) -> Result<Record, String> {
    Ok(Record::Http(Http {
        ts: ts(z)?,
        at: endpoints(z, Transport::Tcp)?,
        method: fields::text(&z.method),
        host: fields::text(&z.host),
        uri: fields::text(&z.uri),
        user_agent: fields::text(&z.user_agent),
        status: z.status_code.map_or(0, |s| s.0),
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
    fn conn_states_tell_services() {
        let conn = |state: &str, proto: &str, resp_pkts: i64| {
            let line = format!(
                r#"{{"_path":"conn","ts":1591367999.305988,"uid":"CMdzit1AMNsmfAIiQc","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"{proto}","service":"dns","duration":0.066851,"orig_bytes":62,"resp_bytes":141,"conn_state":"{state}","missed_bytes":0,"history":"Dd","orig_pkts":2,"orig_ip_bytes":118,"resp_pkts":{resp_pkts},"resp_ip_bytes":197}}"#
            );
            match one(&line) {
                Record::Flow(f) => f,
                _ => panic!(),
            }
        };
        let f = conn("SF", "udp", 2);
        assert!(f.established);
        assert_eq!(f.ts, 1_591_367_999_305);
        assert_eq!(f.duration_ms, 67);
        assert_eq!(
            (f.bytes_out, f.bytes_in, f.packets_out, f.packets_in),
            (62, 141, 2, 2)
        );
        assert_eq!(f.at.proto, Transport::Udp);
        assert!(!conn("S0", "udp", 0).established);
        assert!(conn("SF", "tcp", 4).established);
        assert!(conn("RSTR", "tcp", 4).established);
        assert!(!conn("REJ", "tcp", 1).established);
        assert!(!conn("S0", "tcp", 0).established);
    }

    #[test]
    fn dns_dhcp_http_and_time_spellings() {
        let dns = r#"{"_path":"dns","ts":"2020-06-05T14:39:59.305988Z","uid":"C1","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","trans_id":8555,"query":"testmyids.com","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["31.3.245.133"],"TTLs":[3600.0],"rejected":false}"#;
        let Record::Dns(d) = one(dns) else { panic!() };
        assert_eq!(d.ts, 1_591_367_999_305);
        assert_eq!(
            (
                d.query.as_str(),
                d.qtype.as_str(),
                d.answer.as_str(),
                d.rcode.as_str()
            ),
            ("testmyids.com", "A", "31.3.245.133", "NOERROR")
        );
        let dhcp = r#"{"_path":"dhcp","ts":1591367999000,"uids":["C2"],"client_addr":"192.168.4.76","server_addr":"192.168.4.1","mac":"00:0c:29:e8:a4:11","host_name":"ubuntu-desk","domain":"localdomain","assigned_addr":"192.168.4.76","lease_time":86400.0,"msg_types":["REQUEST","ACK"]}"#;
        let Record::Dhcp(d) = one(dhcp) else { panic!() };
        assert_eq!(d.ts, 1_591_367_999_000);
        assert_eq!(d.mac, "00:0C:29:E8:A4:11");
        assert_eq!(d.hostname, "ubuntu-desk");
        let http = r#"{"_path":"http","ts":1591367999.5,"uid":"C3","id.orig_h":"192.168.4.76","id.orig_p":46378,"id.resp_h":"31.3.245.133","id.resp_p":80,"trans_depth":1,"method":"GET","host":"testmyids.com","uri":"/","version":"1.1","user_agent":"curl/7.47.0","request_body_len":0,"response_body_len":39,"status_code":200,"status_msg":"OK"}"#;
        let Record::Http(h) = one(http) else { panic!() };
        assert_eq!(
            (h.method.as_str(), h.host.as_str(), h.uri.as_str(), h.status),
            ("GET", "testmyids.com", "/", 200)
        );
        assert_eq!(h.at.proto, Transport::Tcp);
    }

    #[test]
    fn other_logs_skip_and_bad_lines_say_why() {
        assert_eq!(
            parse(r#"{"_path":"ssl","ts":1591367999.5,"server_name":"x"}"#),
            Ok(Parsed::Skipped)
        );
        for (line, needle) in [
            ("{", "not valid Zeek JSON"),
            (r#"{"ts":1.0,"query":"x"}"#, "missing `_path`"),
            (r#"{"_path":"dns","query":"x"}"#, "missing `ts`"),
            (
                r#"{"_path":"dns","ts":"noon"}"#,
                "`ts` is not an ISO 8601 time",
            ),
            (r#"{"_path":"dns","ts":-5}"#, "`ts` is not a time"),
            (
                r#"{"_path":"conn","ts":1.0,"id.resp_h":"::g"}"#,
                "`id.resp_h` is not an IP address",
            ),
            (r#"{"_path":"dhcp","ts":1.0}"#, "needs `mac`"),
        ] {
            let err = parse(line).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }
}
