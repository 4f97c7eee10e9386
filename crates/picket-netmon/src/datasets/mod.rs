//! The network datasets as stored. Every row carries its tenant; every time is Unix ms in `ts`.
//! Each table's `(tenant_id, ts)` index serves time ranges and the first/last record times.

use picket_core::db::schema::{ColType, Column, Index, OnDelete, Table};

/// The owning tenant; rows go with it.
pub(crate) const fn tenant() -> Column {
    Column::new("tenant_id", ColType::BigInt).references("tenants", "id", OnDelete::Cascade)
}

pub(crate) const fn text(name: &'static str) -> Column {
    Column::new(name, ColType::Text).default("''")
}

pub(crate) const fn int(name: &'static str) -> Column {
    Column::new(name, ColType::BigInt).default("0")
}

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
        table: "network_alerts",
        has_times: false,
    },
    Dataset {
        about_key: "tcp_records",
        table: "tcp_records",
        has_times: true,
    },
    Dataset {
        about_key: "dns_records",
        table: "dns_records",
        has_times: true,
    },
    Dataset {
        about_key: "dhcp_records",
        table: "dhcp_records",
        has_times: true,
    },
    Dataset {
        about_key: "http_records",
        table: "http_records",
        has_times: true,
    },
];

pub const TABLES: &[Table] = &[
    Table {
        name: "network_alerts",
        columns: &[
            Column::serial("id"),
            tenant(),
            Column::new("ts", ColType::BigInt),
            text("agent"),
            text("agent_name"),
            text("src_mac"),
            text("dst_mac"),
            text("src_ip"),
            text("dst_ip"),
            int("src_port"),
            int("dst_port"),
            int("level"),
            text("type"),
            text("subject"),
            text("message"),
            Column::new("flow_id", ColType::BigInt).nullable(),
            // Numeric sort keys of `src_ip` / `dst_ip` (`addr::ip_sort_key`), written with the row.
            text("src_ip_key"),
            text("dst_ip_key"),
        ],
        // Alerts are written rarely and read in pages: an index per documented filter and sort.
        // `ts` follows most filter columns, so a filtered list is also read newest-first from
        // the index. `message` has none: long free text, searched only by "contains".
        indexes: &[
            Index::new("network_alerts_tenant_ts", &["tenant_id", "ts"]),
            Index::new(
                "network_alerts_tenant_level_ts",
                &["tenant_id", "level", "ts"],
            ),
            Index::new(
                "network_alerts_tenant_type_ts",
                &["tenant_id", "type", "ts"],
            ),
            Index::new(
                "network_alerts_tenant_agent_ts",
                &["tenant_id", "agent", "ts"],
            ),
            // Also covers `unique` source and pair: GROUP BY src_ip[, dst_ip] reads only this
            // index (on a million alerts, 0.3 s instead of 7 s through table lookups).
            Index::new(
                "network_alerts_tenant_src_dst_ip",
                &["tenant_id", "src_ip", "dst_ip"],
            ),
            Index::new(
                "network_alerts_tenant_dst_ip_port",
                &["tenant_id", "dst_ip", "dst_port"],
            ),
            Index::new(
                "network_alerts_tenant_dst_port_ts",
                &["tenant_id", "dst_port", "ts"],
            ),
            Index::new("network_alerts_tenant_src_mac", &["tenant_id", "src_mac"]),
            Index::new("network_alerts_tenant_dst_mac", &["tenant_id", "dst_mac"]),
            Index::new(
                "network_alerts_tenant_src_key",
                &["tenant_id", "src_ip_key", "src_mac", "ts"],
            ),
            Index::new(
                "network_alerts_tenant_dst_key",
                &["tenant_id", "dst_ip_key", "dst_mac", "ts"],
            ),
            Index::new(
                "network_alerts_tenant_subject_ts",
                &["tenant_id", "subject", "ts"],
            ),
        ],
    },
    Table {
        name: "network_pcaps",
        columns: &[
            Column::serial("id"),
            tenant(),
            Column::new("alert_id", ColType::BigInt).references(
                "network_alerts",
                "id",
                OnDelete::Cascade,
            ),
            Column::new("data", ColType::Bytes),
            Column::new("created_at", ColType::BigInt),
        ],
        indexes: &[Index::unique("network_pcaps_alert", &["alert_id"])],
    },
    Table {
        name: "server_alerts",
        columns: &[
            Column::serial("id"),
            tenant(),
            Column::new("ts", ColType::BigInt),
            text("agent"),
            text("agent_name"),
            text("hostname"),
            int("level"),
            text("type"),
            text("title"),
            text("line"),
        ],
        // As for network alerts; `line` has none (long free text, searched by "contains").
        indexes: &[
            Index::new("server_alerts_tenant_ts", &["tenant_id", "ts"]),
            Index::new(
                "server_alerts_tenant_level_ts",
                &["tenant_id", "level", "ts"],
            ),
            Index::new("server_alerts_tenant_type_ts", &["tenant_id", "type", "ts"]),
            Index::new(
                "server_alerts_tenant_agent_ts",
                &["tenant_id", "agent", "ts"],
            ),
            Index::new(
                "server_alerts_tenant_hostname_ts",
                &["tenant_id", "hostname", "ts"],
            ),
            Index::new(
                "server_alerts_tenant_title_ts",
                &["tenant_id", "title", "ts"],
            ),
        ],
    },
    Table {
        name: "dns_records",
        columns: &[
            Column::serial("id"),
            tenant(),
            Column::new("ts", ColType::BigInt),
            text("agent"),
            text("src_ip"),
            text("dst_ip"),
            text("qtype"),
            text("query"),
            text("answer"),
            text("rcode"),
        ],
        indexes: &[Index::new("dns_records_tenant_ts", &["tenant_id", "ts"])],
    },
    Table {
        name: "tcp_records",
        columns: &[
            Column::serial("id"),
            tenant(),
            Column::new("ts", ColType::BigInt),
            text("agent"),
            text("src_ip"),
            int("src_port"),
            text("dst_ip"),
            int("dst_port"),
            text("proto"),
            int("bytes_out"),
            int("bytes_in"),
            int("packets_out"),
            int("packets_in"),
            int("duration_ms"),
        ],
        indexes: &[Index::new("tcp_records_tenant_ts", &["tenant_id", "ts"])],
    },
    Table {
        name: "dhcp_records",
        columns: &[
            Column::serial("id"),
            tenant(),
            Column::new("ts", ColType::BigInt),
            text("agent"),
            text("mac"),
            text("ip"),
            text("hostname"),
        ],
        indexes: &[Index::new("dhcp_records_tenant_ts", &["tenant_id", "ts"])],
    },
    Table {
        name: "http_records",
        columns: &[
            Column::serial("id"),
            tenant(),
            Column::new("ts", ColType::BigInt),
            text("agent"),
            text("src_ip"),
            int("src_port"),
            text("dst_ip"),
            int("dst_port"),
            text("method"),
            text("host"),
            text("uri"),
            text("user_agent"),
            int("status"),
        ],
        indexes: &[Index::new("http_records_tenant_ts", &["tenant_id", "ts"])],
    },
];
