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
        ],
        indexes: &[Index::new("network_alerts_tenant_ts", &["tenant_id", "ts"])],
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
        indexes: &[Index::new("server_alerts_tenant_ts", &["tenant_id", "ts"])],
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
