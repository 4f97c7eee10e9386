//! Identity shared by both surfaces: tenants have users, users have permissions, API keys carry
//! their user's permissions; sensors use separate agent tokens.

pub mod auth;
pub mod perms;
pub mod rate;
pub mod store;
pub mod tokens;

pub use auth::{AgentPrincipal, Authed, Principal};
pub use perms::{need, Perm, PermKey};

pub use crate::ids::{AgentId, ApiKeyId, TenantId, UserId};
