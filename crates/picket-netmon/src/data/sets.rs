//! The six data-management datasets (§8): their keys, tables, labels and ZIP entries, and the
//! filters each one documents with every name a filter may go by.

use picket_core::db::schema::Table;
use picket_core::db::table::OwnedTable;

use crate::datasets::{
    DhcpRecords, DnsRecords, HttpRecords, NetworkAlerts, ServerAlerts, TcpRecords,
};

/// How a filter value is compared with its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Case-insensitive equality, or LIKE when the value holds `%`/`_` (§1.7).
    Text,
    /// Contains: the value with `%` on both sides.
    Contains,
    /// An integer, exactly.
    Int,
    /// A MAC in any notation, or a pattern over one.
    Mac,
    /// An IP on the first column or a MAC on the second (alert source / destination).
    IpOrMac,
    /// A country code of the remote IP; needs a GeoIP database.
    GeoIp,
}

/// One documented filter of a dataset.
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    /// The documented name (first) and every accepted alias: documented aliases, the stored
    /// column name, and the Web UI form's spelling (`srcip`, `dport`, `useragent`).
    pub names: &'static [&'static str],
    pub how: Match,
    /// Columns compared; several mean "any of them matches".
    pub columns: &'static [&'static str],
}

impl Filter {
    pub fn name(&self) -> &'static str {
        self.names[0]
    }
}

/// One dataset of data management.
#[derive(Debug, Clone, Copy)]
pub struct Dataset {
    /// The key in requests and responses (`dns_metadata`).
    pub key: &'static str,
    /// Prefix of the Web UI form's field names (`dns_` in `dns_query`).
    pub form_prefix: &'static str,
    /// The stored table's declaration (columns in schema order).
    pub table: &'static Table,
    /// Human label in delete results.
    pub label: &'static str,
    /// Entry name in the export ZIP.
    pub entry: &'static str,
    pub filters: &'static [Filter],
    /// The 15-minute aggregate kept for this dataset, if any.
    pub aggregate: Option<super::aggregates::Aggregate>,
}

impl Dataset {
    pub fn by_key(key: &str) -> Option<&'static Dataset> {
        ALL.iter().find(|d| d.key == key)
    }

    pub fn filter(&self, name: &str) -> Option<&'static Filter> {
        self.filters.iter().find(|f| f.names.contains(&name))
    }

    /// The stored table, reached with the tenant.
    pub fn owned(&self) -> OwnedTable {
        OwnedTable::new(self.table)
    }
}

const SOURCE: Filter = Filter {
    names: &["source", "src", "srcip", "src_ip"],
    how: Match::Text,
    columns: &["src_ip"],
};
const DESTINATION: Filter = Filter {
    names: &["destination", "dst", "dstip", "dst_ip"],
    how: Match::Text,
    columns: &["dst_ip"],
};
const SOURCE_PORT: Filter = Filter {
    names: &["source_port", "src_port", "sport", "srcport"],
    how: Match::Int,
    columns: &["src_port"],
};
const DESTINATION_PORT: Filter = Filter {
    names: &["destination_port", "dst_port", "dport", "dstport"],
    how: Match::Int,
    columns: &["dst_port"],
};
const LEVEL: Filter = Filter {
    names: &["level"],
    how: Match::Int,
    columns: &["level"],
};

pub const ALL: &[Dataset] = &[
    Dataset {
        key: "network_alerts",
        form_prefix: "na_",
        table: &NetworkAlerts::DECLARED,
        label: "network alerts",
        entry: "networkalerts.csv",
        filters: &[
            Filter {
                names: &["source", "src", "srcip", "src_ip", "src_mac"],
                how: Match::IpOrMac,
                columns: &["src_ip", "src_mac"],
            },
            Filter {
                names: &["destination", "dst", "dstip", "dst_ip", "dst_mac"],
                how: Match::IpOrMac,
                columns: &["dst_ip", "dst_mac"],
            },
            DESTINATION_PORT,
            LEVEL,
            Filter {
                names: &["type", "alert_type", "alerttype"],
                how: Match::Text,
                columns: &["type"],
            },
            Filter {
                names: &["search"],
                how: Match::Contains,
                columns: &["subject", "message", "dst_ip"],
            },
        ],
        aggregate: None,
    },
    Dataset {
        key: "syslog_alerts",
        form_prefix: "sl_",
        table: &ServerAlerts::DECLARED,
        label: "server alerts",
        entry: "syslogalerts.csv",
        filters: &[
            Filter {
                names: &["hostname", "host"],
                how: Match::Text,
                columns: &["hostname"],
            },
            LEVEL,
            // `search` and `line` look inside the full log line; `message` is the title (§7.2).
            Filter {
                names: &["search", "line"],
                how: Match::Contains,
                columns: &["line"],
            },
            Filter {
                names: &["message", "title"],
                how: Match::Text,
                columns: &["title"],
            },
        ],
        aggregate: None,
    },
    Dataset {
        key: "dns_metadata",
        form_prefix: "dns_",
        table: &DnsRecords::DECLARED,
        label: "DNS metadata",
        entry: "metadata_dns.csv",
        filters: &[
            SOURCE,
            DESTINATION,
            Filter {
                names: &["qtype", "type"],
                how: Match::Text,
                columns: &["qtype"],
            },
            Filter {
                names: &["query", "domain"],
                how: Match::Text,
                columns: &["query"],
            },
        ],
        aggregate: Some(super::aggregates::DNS),
    },
    Dataset {
        key: "tcp_metadata",
        form_prefix: "tcp_",
        table: &TcpRecords::DECLARED,
        label: "TCP metadata",
        entry: "metadata_connections.csv",
        filters: &[
            SOURCE,
            DESTINATION,
            SOURCE_PORT,
            DESTINATION_PORT,
            Filter {
                names: &["geoip", "country"],
                how: Match::GeoIp,
                columns: &[],
            },
        ],
        aggregate: Some(super::aggregates::TCP),
    },
    Dataset {
        key: "dhcp_metadata",
        form_prefix: "dhcp_",
        table: &DhcpRecords::DECLARED,
        label: "DHCP metadata",
        entry: "dhcpflow.csv",
        filters: &[
            Filter {
                names: &["mac"],
                how: Match::Mac,
                columns: &["mac"],
            },
            Filter {
                names: &["hostname", "host"],
                how: Match::Text,
                columns: &["hostname"],
            },
            Filter {
                names: &["ip"],
                how: Match::Text,
                columns: &["ip"],
            },
        ],
        aggregate: None,
    },
    Dataset {
        key: "http_metadata",
        form_prefix: "http_",
        table: &HttpRecords::DECLARED,
        label: "HTTP metadata",
        entry: "httpflow.csv",
        filters: &[
            SOURCE,
            DESTINATION,
            SOURCE_PORT,
            DESTINATION_PORT,
            Filter {
                names: &["host"],
                how: Match::Text,
                columns: &["host"],
            },
            Filter {
                names: &["uri", "url"],
                how: Match::Text,
                columns: &["uri"],
            },
            Filter {
                names: &["user_agent", "useragent", "ua"],
                how: Match::Text,
                columns: &["user_agent"],
            },
        ],
        aggregate: None,
    },
];

/// The keys, for error messages.
pub fn keys() -> String {
    ALL.iter().map(|d| d.key).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dataset_names_declared_columns() {
        for d in ALL {
            let t = d.table;
            for f in d.filters {
                for c in f.columns {
                    assert!(t.column(c).is_some(), "{}.{c}", d.key);
                }
            }
        }
    }

    #[test]
    fn documented_web_form_names_resolve() {
        let na = Dataset::by_key("network_alerts").unwrap();
        assert_eq!(na.filter("srcip").unwrap().name(), "source");
        let tcp = Dataset::by_key("tcp_metadata").unwrap();
        assert_eq!(tcp.filter("dport").unwrap().name(), "destination_port");
        let http = Dataset::by_key("http_metadata").unwrap();
        assert_eq!(http.filter("useragent").unwrap().name(), "user_agent");
    }
}
