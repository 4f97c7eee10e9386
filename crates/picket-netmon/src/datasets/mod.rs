//! The network datasets as stored. Every row carries its tenant; every time is Unix ms in `ts`.
//! Each table's `(tenant_id, ts)` index serves time ranges and the first/last record times.

use picket_core::db::counts::{Counted, TextKey};
use picket_core::db::partitions::Partitioned;
use picket_core::db::schema::{OnDelete, Table};

/// A dataset `about` reports on: table, its key column, and whether it has a time column.
#[derive(Debug, Clone, Copy)]
pub struct Dataset {
    /// Key in the `about` document.
    pub about_key: &'static str,
    pub table: &'static str,
    pub has_times: bool,
}

pub const ABOUT_DATASETS: &[Dataset] = &[
    Dataset {
        about_key: "network_alerts",
        table: NetworkAlerts::DECLARED.name,
        has_times: false,
    },
    Dataset {
        about_key: "tcp_records",
        table: TcpRecords::DECLARED.name,
        has_times: true,
    },
    Dataset {
        about_key: "dns_records",
        table: DnsRecords::DECLARED.name,
        has_times: true,
    },
    Dataset {
        about_key: "dhcp_records",
        table: DhcpRecords::DECLARED.name,
        has_times: true,
    },
    Dataset {
        about_key: "http_records",
        table: HttpRecords::DECLARED.name,
        has_times: true,
    },
];

picket_core::table! {
    pub enum NetworkAlerts in "network_alerts", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Ts: BigInt,
        Agent: Text .default("''"),
        AgentName: Text .default("''"),
        SrcMac: Text .default("''"),
        DstMac: Text .default("''"),
        SrcIp: Text .default("''"),
        DstIp: Text .default("''"),
        SrcPort: BigInt .default("0"),
        DstPort: BigInt .default("0"),
        Level: BigInt .default("0"),
        Type: Text .default("''"),
        Subject: Text .default("''"),
        Message: Text .default("''"),
        FlowId: BigInt .nullable(),
        // Numeric sort keys of `src_ip` / `dst_ip` (`addr::ip_sort_key`), written with the row.
        SrcIpKey: Text .default("''"),
        DstIpKey: Text .default("''"),
    }
    indexes {
        index network_alerts_tenant_ts (TenantId, Ts),
        index network_alerts_tenant_level_ts (TenantId, Level, Ts),
        index network_alerts_tenant_type_ts (TenantId, Type, Ts),
        index network_alerts_tenant_agent_ts (TenantId, Agent, Ts),
        // Also covers `unique` source and pair: GROUP BY src_ip[, dst_ip] reads only this
        // index (on a million alerts, 0.3 s instead of 7 s through table lookups).
        index network_alerts_tenant_src_dst_ip (TenantId, SrcIp, DstIp),
        index network_alerts_tenant_dst_ip_port (TenantId, DstIp, DstPort),
        index network_alerts_tenant_dst_port_ts (TenantId, DstPort, Ts),
        index network_alerts_tenant_src_mac (TenantId, SrcMac),
        index network_alerts_tenant_dst_mac (TenantId, DstMac),
        index network_alerts_tenant_src_key (TenantId, SrcIpKey, SrcMac, Ts),
        index network_alerts_tenant_dst_key (TenantId, DstIpKey, DstMac, Ts),
        index network_alerts_tenant_subject_ts (TenantId, Subject, Ts),
        // A sensor's capture upload names the agent's alerts by flow id.
        index network_alerts_tenant_agent_flow (TenantId, Agent, FlowId),
    }
    text_indexes {
        // `search` (§ network alerts): the destination `ip:port` (which contains the
        // destination IP), the subject and the message.
        network_alerts_text {
            endpoint: "{t}dst_ip || ':' || CAST({t}dst_port AS TEXT)",
            subject: "{t}subject",
            message: "{t}message",
        },
    }
}

picket_core::table! {
    pub enum NetworkPcaps in "network_pcaps", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        AlertId: BigInt .references("network_alerts", "id", OnDelete::Cascade),
        Data: Bytes,
        CreatedAt: BigInt,
    }
    indexes {
        unique network_pcaps_alert (AlertId),
        // Retention deletes a tenant's captures by their own age, oldest first.
        index network_pcaps_tenant_created (TenantId, CreatedAt),
    }
}

picket_core::table! {
    pub enum ServerAlerts in "server_alerts", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Ts: BigInt,
        Agent: Text .default("''"),
        AgentName: Text .default("''"),
        Hostname: Text .default("''"),
        Level: BigInt .default("0"),
        Type: Text .default("''"),
        Title: Text .default("''"),
        Line: Text .default("''"),
    }
    indexes {
        index server_alerts_tenant_ts (TenantId, Ts),
        index server_alerts_tenant_level_ts (TenantId, Level, Ts),
        index server_alerts_tenant_type_ts (TenantId, Type, Ts),
        index server_alerts_tenant_agent_ts (TenantId, Agent, Ts),
        index server_alerts_tenant_hostname_ts (TenantId, Hostname, Ts),
        index server_alerts_tenant_title_ts (TenantId, Title, Ts),
    }
    text_indexes {
        // `search`: the log line.
        server_alerts_text { line: "{t}line" },
    }
}

picket_core::table! {
    pub enum DnsRecords in "dns_records", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Ts: BigInt,
        Agent: Text .default("''"),
        SrcIp: Text .default("''"),
        DstIp: Text .default("''"),
        Qtype: Text .default("''"),
        Query: Text .default("''"),
        Answer: Text .default("''"),
        Rcode: Text .default("''"),
    }
    indexes {
        index dns_records_tenant_ts (TenantId, Ts),
    }
}

picket_core::table! {
    pub enum TcpRecords in "tcp_records", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Ts: BigInt,
        Agent: Text .default("''"),
        SrcIp: Text .default("''"),
        SrcPort: BigInt .default("0"),
        DstIp: Text .default("''"),
        DstPort: BigInt .default("0"),
        Proto: Text .default("''"),
        BytesOut: BigInt .default("0"),
        BytesIn: BigInt .default("0"),
        PacketsOut: BigInt .default("0"),
        PacketsIn: BigInt .default("0"),
        DurationMs: BigInt .default("0"),
    }
    indexes {
        index tcp_records_tenant_ts (TenantId, Ts),
    }
}

picket_core::table! {
    pub enum DhcpRecords in "dhcp_records", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Ts: BigInt,
        Agent: Text .default("''"),
        Mac: Text .default("''"),
        Ip: Text .default("''"),
        Hostname: Text .default("''"),
    }
    indexes {
        index dhcp_records_tenant_ts (TenantId, Ts),
    }
}

picket_core::table! {
    pub enum HttpRecords in "http_records", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Ts: BigInt,
        Agent: Text .default("''"),
        SrcIp: Text .default("''"),
        SrcPort: BigInt .default("0"),
        DstIp: Text .default("''"),
        DstPort: BigInt .default("0"),
        Method: Text .default("''"),
        Host: Text .default("''"),
        Uri: Text .default("''"),
        UserAgent: Text .default("''"),
        Status: BigInt .default("0"),
    }
    indexes {
        index http_records_tenant_ts (TenantId, Ts),
    }
}

pub const TABLES: &[Table] = &[
    NetworkAlerts::DECLARED,
    NetworkPcaps::DECLARED,
    ServerAlerts::DECLARED,
    DnsRecords::DECLARED,
    TcpRecords::DECLARED,
    DhcpRecords::DECLARED,
    HttpRecords::DECLARED,
];

/// The counts of network alerts per level and source endpoint (`row_counts.dataset`).
pub const NETWORK_ALERTS_BY_SOURCE: &str = "network_alerts.by_source";

/// The datasets whose rows `row_counts` keeps counted (per tenant, UTC day and the dimensions
/// the documented filters use most), so lists, searches and `about` answer exact totals
/// without reading every row.
pub const COUNTED: &[Counted] = &[
    Counted {
        table: NetworkAlerts::DECLARED.name,
        dataset: NetworkAlerts::DECLARED.name,
        time: "ts",
        int_key: Some("level"),
        text_key: Some(TextKey::Column("type")),
    },
    // The same alerts per level and source endpoint (IP and MAC), so that a `source` filter
    // (an address, a pattern or a device name) is answered from counts too.
    Counted {
        table: NetworkAlerts::DECLARED.name,
        dataset: NETWORK_ALERTS_BY_SOURCE,
        time: "ts",
        int_key: Some("level"),
        text_key: Some(TextKey::Endpoint {
            ip: "src_ip",
            mac: "src_mac",
        }),
    },
    Counted {
        table: ServerAlerts::DECLARED.name,
        dataset: ServerAlerts::DECLARED.name,
        time: "ts",
        int_key: Some("level"),
        text_key: Some(TextKey::Column("type")),
    },
    Counted {
        table: DnsRecords::DECLARED.name,
        dataset: DnsRecords::DECLARED.name,
        time: "ts",
        int_key: None,
        text_key: None,
    },
    Counted {
        table: TcpRecords::DECLARED.name,
        dataset: TcpRecords::DECLARED.name,
        time: "ts",
        int_key: None,
        text_key: None,
    },
    Counted {
        table: DhcpRecords::DECLARED.name,
        dataset: DhcpRecords::DECLARED.name,
        time: "ts",
        int_key: None,
        text_key: None,
    },
    Counted {
        table: HttpRecords::DECLARED.name,
        dataset: HttpRecords::DECLARED.name,
        time: "ts",
        int_key: None,
        text_key: None,
    },
];

/// The datasets split into one table per UTC week on PostgreSQL, so retention drops whole weeks
/// (`picket_core::db::partitions`): every dataset with a record time.
pub const PARTITIONED: &[Partitioned] = &[
    Partitioned {
        table: NetworkAlerts::DECLARED.name,
        time: "ts",
    },
    Partitioned {
        table: ServerAlerts::DECLARED.name,
        time: "ts",
    },
    Partitioned {
        table: DnsRecords::DECLARED.name,
        time: "ts",
    },
    Partitioned {
        table: TcpRecords::DECLARED.name,
        time: "ts",
    },
    Partitioned {
        table: DhcpRecords::DECLARED.name,
        time: "ts",
    },
    Partitioned {
        table: HttpRecords::DECLARED.name,
        time: "ts",
    },
];

/// The partitioning of `table`, if it is one of [`PARTITIONED`].
pub fn partitioning(table: &str) -> Option<&'static Partitioned> {
    PARTITIONED.iter().find(|p| p.table == table)
}
