//! Write generations: a counter per (name, tenant) that triggers advance whenever a row of a
//! tenant in one of the name's watched tables is written, by anyone but a writer that paused
//! them in its own transaction.
//!
//! A process that keeps rows of those tables in memory across its own transactions (the threat
//! engine keeps the threats, assets and incident links around what it writes for a whole
//! pass) pauses the counters while it writes, so that its rows do not count one by one, and
//! advances the counters of the tenants it wrote once before it commits, knowing that advance
//! as its own (another holder, such as a second pass, learns of the writes from it); at the
//! start of its next transaction, a tenant whose generation moved further was written by
//! somebody else in between, and what is held of it is dropped.
//!
//! The pause is a row of `write_pauses` that the writer inserts and deletes inside one
//! transaction, so it is never committed: other writers never see it (PostgreSQL shows
//! uncommitted rows to their own transaction only; SQLite has one writer at a time), and a
//! transaction that fails leaves nothing paused.
//!
//! SQLite has row triggers only: one lookup of the pause per row written, and one upsert per
//! row by writers that do not pause. PostgreSQL runs one statement trigger per statement, which
//! upserts the distinct tenants of the statement's rows; the counter rows then stay locked until
//! that transaction ends, which orders other writers of one tenant's watched rows behind it.

use super::schema::{OnDelete, Table};

crate::table! {
    /// How often each tenant's rows of a [`super::watched::Watched`] set were written by writers that did not
    /// pause it; deleted with the tenant (whose deletion writes the watched rows, by cascade:
    /// the triggers count only writes of tenants that still exist).
    pub enum WriteGenerations in "write_generations", tenant_owned {
        Id: Serial,
        TenantId: BigInt .references("tenants", "id", OnDelete::Cascade),
        Name: Text,
        Gen: BigInt .default("0"),
    }
    indexes {
        unique write_generations_key (Name, TenantId),
    }
}

crate::table! {
    /// Names whose counters the current transaction paused (never committed: see the module).
    pub enum WritePauses in "write_pauses" {
        Name: Text .primary_key(),
    }
}

pub const TABLES: &[Table] = &[WriteGenerations::DECLARED, WritePauses::DECLARED];
