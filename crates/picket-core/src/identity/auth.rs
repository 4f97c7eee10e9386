//! Authentication extractors. [`Principal`] is an API key's user (both API surfaces);
//! [`AgentPrincipal`] is a sensor's agent token (ingest prefix only). A token of one kind is
//! never accepted where the other is expected.
//!
//! Check order on every route: 401 (token), then 403 (permission, [`Principal::require`]),
//! then 404 (row) in the handler.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use super::perms::{self, Perm, PermKey};
use super::store;
use super::tokens;
use super::{AgentId, ApiKeyId, TenantId, UserId};
use crate::error::ApiError;
use crate::time::now_ms;
use crate::AppState;

/// `last_used_at` / `last_seen_at` are written at most this often per key, so reads stay reads.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// The authenticated user behind an API key.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub key_id: ApiKeyId,
    pub perms: Vec<Perm>,
}

impl Principal {
    pub fn has(&self, perm: Perm) -> bool {
        self.perms.contains(&perm)
    }

    /// 403 unless the key's user holds `perm`.
    pub fn require(&self, perm: Perm) -> Result<(), ApiError> {
        if self.has(perm) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this API key lacks permission `{perm}`"
            )))
        }
    }
}

/// The token a request presents: `Authorization: Bearer <t>` (scheme in any case) or
/// `X-API-Key: <t>`.
pub fn presented_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Some((scheme, token)) = v.split_once(char::is_whitespace) {
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
                return Some(token.trim());
            }
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn record_tenant(tenant: TenantId) {
    tracing::Span::current().record("tenant", tenant.0);
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let token = presented_token(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized(
                "missing API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
            )
        })?;
        let invalid = || ApiError::unauthorized("invalid, expired or revoked API key");
        if !token.starts_with(tokens::API_KEY_PREFIX) {
            return Err(invalid());
        }
        let hash = tokens::hash(token);
        let row = store::find_api_key(&state.db, &hash)
            .await?
            .ok_or_else(invalid)?;
        let now = now_ms();
        if !tokens::hashes_equal(&row.key_hash, &hash)
            || row.revoked_at.is_some()
            || row.expires_at.is_some_and(|e| e <= now)
            || row.disabled
        {
            return Err(invalid());
        }
        if let Err(secs) = state.rate.check(row.key_id.0) {
            return Err(ApiError::rate_limited(secs));
        }
        if row
            .last_used_at
            .is_none_or(|t| now - t >= TOUCH_INTERVAL_MS)
        {
            if let Err(e) = store::touch_api_key(&state.db, row.key_id, now).await {
                tracing::warn!(error = %e, "could not record key use");
            }
        }
        record_tenant(row.tenant_id);
        let principal = Principal {
            tenant_id: row.tenant_id,
            user_id: row.user_id,
            key_id: row.key_id,
            perms: if row.is_admin {
                Perm::ALL.to_vec()
            } else {
                perms::decode(&row.permissions)
            },
        };
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

/// A [`Principal`] already checked for permission `P`: as an extractor it answers 401, then
/// 403, before any other extractor of the handler can answer 400 or the handler 404.
#[derive(Debug, Clone)]
pub struct Authed<P>(pub Principal, std::marker::PhantomData<P>);

impl<P> std::ops::Deref for Authed<P> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<P: PermKey + Send + Sync> FromRequestParts<AppState> for Authed<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        principal.require(P::PERM)?;
        Ok(Authed(principal, std::marker::PhantomData))
    }
}

/// The sensor behind an agent token.
#[derive(Debug, Clone)]
pub struct AgentPrincipal {
    pub id: AgentId,
    pub tenant_id: TenantId,
    pub name: String,
    /// Public agent hash, shown as `agent` on alerts.
    pub agent: String,
}

impl FromRequestParts<AppState> for AgentPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = presented_token(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("missing agent token: send `Authorization: Bearer <token>`")
        })?;
        let invalid = || ApiError::unauthorized("invalid or revoked agent token");
        if !token.starts_with(tokens::AGENT_TOKEN_PREFIX) {
            return Err(invalid());
        }
        let hash = tokens::hash(token);
        let row = store::find_agent(&state.db, &hash)
            .await?
            .ok_or_else(invalid)?;
        if !tokens::hashes_equal(&row.token_hash, &hash) || row.revoked_at.is_some() {
            return Err(invalid());
        }
        let now = now_ms();
        if row
            .last_seen_at
            .is_none_or(|t| now - t >= TOUCH_INTERVAL_MS)
        {
            if let Err(e) = store::touch_agent(&state.db, row.id, now).await {
                tracing::warn!(error = %e, "could not record agent contact");
            }
        }
        record_tenant(row.tenant_id);
        Ok(AgentPrincipal {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
            agent: row.agent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn both_header_forms_any_scheme_case() {
        assert_eq!(
            presented_token(&headers(&[("authorization", "Bearer abc")])),
            Some("abc")
        );
        assert_eq!(
            presented_token(&headers(&[("authorization", "bEaReR   abc ")])),
            Some("abc")
        );
        assert_eq!(
            presented_token(&headers(&[("x-api-key", "abc")])),
            Some("abc")
        );
        assert_eq!(
            presented_token(&headers(&[
                ("authorization", "Basic Zm9v"),
                ("x-api-key", "k")
            ])),
            Some("k")
        );
        assert_eq!(
            presented_token(&headers(&[("authorization", "Bearer")])),
            None
        );
        assert_eq!(presented_token(&headers(&[])), None);
    }
}
