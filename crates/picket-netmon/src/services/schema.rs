//! The three tables of the services slice: discovered services, allowed-service entries and
//! exclude rules. IP columns carry a numeric sort key beside them (see
//! [`crate::addr::ip_sort_key`]).

use picket_core::db::schema::{OnDelete, Table};

picket_core::table! {
    pub(crate) enum Services in "services", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        ServiceIp: Text,
        ServiceIpKey: Text,
        ServicePort: BigInt,
        Proto: Text,
        FirstSeen: BigInt,
        LastSeen: BigInt,
    }
    indexes {
        // One row per (ip, port, proto) in a tenant: 409 on the API, upsert for sensors.
        unique services_tenant_ip_port_proto (TenantId, ServiceIp, ServicePort, Proto),
        index services_tenant_ip_key (TenantId, ServiceIpKey),
        index services_tenant_port (TenantId, ServicePort),
        index services_tenant_proto (TenantId, Proto),
        index services_tenant_first_seen (TenantId, FirstSeen),
        index services_tenant_last_seen (TenantId, LastSeen),
    }
}

picket_core::table! {
    pub(crate) enum AllowedServices in "allowed_services", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        // The most specific network holding the entry when it was made; deleting that
        // network deletes the entry (in the same statement). NULL: tenant-wide.
        NetworkId: BigInt .nullable() .references("networks", "id", OnDelete::Cascade),
        // A canonical address, a canonical CIDR block, or `*`.
        ServiceIp: Text,
        ServicePort: BigInt,
        Proto: Text,
        Name: Text .default("''"),
        CreatedAt: BigInt,
    }
    indexes {
        unique allowed_services_tenant_ip_port_proto (TenantId, ServiceIp, ServicePort, Proto),
        // Serves the cascade from `networks`.
        index allowed_services_network (NetworkId),
    }
}

picket_core::table! {
    pub(crate) enum ServiceExcludeRules in "service_exclude_rules", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        // A canonical address or CIDR block.
        Ip: Text,
        // Both NULL: every port.
        PortFrom: BigInt .nullable(),
        PortTo: BigInt .nullable(),
        // NULL: tcp and udp.
        Proto: Text .nullable(),
        Comment: Text .default("''"),
        CreatedAt: BigInt,
    }
    indexes {
        index service_exclude_rules_tenant (TenantId),
    }
}

pub const TABLES: &[Table] = &[
    Services::DECLARED,
    AllowedServices::DECLARED,
    ServiceExcludeRules::DECLARED,
];
