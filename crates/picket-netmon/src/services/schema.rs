//! The three tables of the services slice: discovered services, allowed-service entries and
//! exclude rules. IP columns carry a numeric sort key beside them (see
//! [`crate::addr::ip_sort_key`]).

use picket_core::db::schema::{ColType, Column, Index, OnDelete, Table};
use sea_query::Iden;

#[derive(Iden, Clone, Copy)]
pub(super) enum Services {
    Table,
    Id,
    TenantId,
    ServiceIp,
    ServiceIpKey,
    ServicePort,
    Proto,
    FirstSeen,
    LastSeen,
}

#[derive(Iden, Clone, Copy)]
pub(super) enum AllowedServices {
    Table,
    Id,
    TenantId,
    NetworkId,
    ServiceIp,
    ServicePort,
    Proto,
    Name,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub(super) enum ServiceExcludeRules {
    Table,
    Id,
    TenantId,
    Ip,
    PortFrom,
    PortTo,
    Proto,
    Comment,
    CreatedAt,
}

const fn tenant() -> Column {
    Column::new("tenant_id", ColType::BigInt).references("tenants", "id", OnDelete::Cascade)
}

pub const TABLES: &[Table] = &[
    Table {
        name: "services",
        columns: &[
            Column::serial("id"),
            tenant(),
            Column::new("service_ip", ColType::Text),
            Column::new("service_ip_key", ColType::Text),
            Column::new("service_port", ColType::BigInt),
            Column::new("proto", ColType::Text),
            Column::new("first_seen", ColType::BigInt),
            Column::new("last_seen", ColType::BigInt),
        ],
        indexes: &[
            // One row per (ip, port, proto) in a tenant: 409 on the API, upsert for sensors.
            Index::unique(
                "services_tenant_ip_port_proto",
                &["tenant_id", "service_ip", "service_port", "proto"],
            ),
            Index::new("services_tenant_ip_key", &["tenant_id", "service_ip_key"]),
            Index::new("services_tenant_port", &["tenant_id", "service_port"]),
            Index::new("services_tenant_proto", &["tenant_id", "proto"]),
            Index::new("services_tenant_first_seen", &["tenant_id", "first_seen"]),
            Index::new("services_tenant_last_seen", &["tenant_id", "last_seen"]),
        ],
    },
    Table {
        name: "allowed_services",
        columns: &[
            Column::serial("id"),
            tenant(),
            // The most specific network holding the entry when it was made; deleting that
            // network deletes the entry (in the same statement). NULL: tenant-wide.
            Column::new("network_id", ColType::BigInt)
                .nullable()
                .references("networks", "id", OnDelete::Cascade),
            // A canonical address, a canonical CIDR block, or `*`.
            Column::new("service_ip", ColType::Text),
            Column::new("service_port", ColType::BigInt),
            Column::new("proto", ColType::Text),
            Column::new("name", ColType::Text).default("''"),
            Column::new("created_at", ColType::BigInt),
        ],
        indexes: &[
            Index::unique(
                "allowed_services_tenant_ip_port_proto",
                &["tenant_id", "service_ip", "service_port", "proto"],
            ),
            // Serves the cascade from `networks`.
            Index::new("allowed_services_network", &["network_id"]),
        ],
    },
    Table {
        name: "service_exclude_rules",
        columns: &[
            Column::serial("id"),
            tenant(),
            // A canonical address or CIDR block.
            Column::new("ip", ColType::Text),
            // Both NULL: every port.
            Column::new("port_from", ColType::BigInt).nullable(),
            Column::new("port_to", ColType::BigInt).nullable(),
            // NULL: tcp and udp.
            Column::new("proto", ColType::Text).nullable(),
            Column::new("comment", ColType::Text).default("''"),
            Column::new("created_at", ColType::BigInt),
        ],
        indexes: &[Index::new("service_exclude_rules_tenant", &["tenant_id"])],
    },
];
