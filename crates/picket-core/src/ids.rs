//! The id newtypes of the identity model, so that ids of different tables cannot be swapped.
//! They sit apart from `identity` because storage (`db`) takes a [`TenantId`] too.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for sea_query::Value {
            fn from(id: $name) -> sea_query::Value {
                id.0.into()
            }
        }
    };
}

id_type!(
    /// A tenant: the unit of isolation. Another tenant's rows answer 404.
    TenantId
);
id_type!(UserId);
id_type!(ApiKeyId);
id_type!(AgentId);
