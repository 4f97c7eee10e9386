//! Secret tokens: 256 random bits behind a recognisable prefix, stored only as a SHA-256 hash.
//!
//! A slow password hash buys nothing here: the secret has full entropy, so the hash only has to
//! be one-way. Lookup is by hash; the final comparison is constant-time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of API keys (both surfaces).
pub const API_KEY_PREFIX: &str = "pkt_";
/// Prefix of sensor agent tokens.
pub const AGENT_TOKEN_PREFIX: &str = "pka_";

/// Characters of a token shown in listings to tell keys apart (prefix + 8 hex digits).
pub const DISPLAY_LEN: usize = 12;

pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    format!("{prefix}{}", hex::encode(bytes))
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn display_prefix(token: &str) -> String {
    token.chars().take(DISPLAY_LEN).collect()
}

pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A random public identifier (agent hashes): 16 hex digits.
pub fn public_id() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_hashed() {
        let a = generate(API_KEY_PREFIX);
        let b = generate(API_KEY_PREFIX);
        assert!(a.starts_with("pkt_"));
        assert_eq!(a.len(), 4 + 64);
        assert_ne!(a, b);
        assert_eq!(hash(&a).len(), 64);
        assert!(hashes_equal(&hash(&a), &hash(&a)));
        assert!(!hashes_equal(&hash(&a), &hash(&b)));
        assert_eq!(display_prefix(&a).len(), DISPLAY_LEN);
    }
}
