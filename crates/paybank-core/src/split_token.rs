//! Split tokens: paybank keeps only a hash of the token it hands the merchant.

use sha2::{Digest, Sha256};

/// Hex SHA-256 of the token; what the store keeps and what a presented token is compared to.
pub fn split_token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Turns random bytes (from the server's RNG) into a token shaped like the provider's:
/// standard base64, so it contains `+`, `/` and `=` and must be URL-encoded by merchants.
/// Forty-seven bytes encode to 64 characters ending in one `=`.
pub fn split_token_from_bytes(random_bytes: &[u8; 47]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(random_bytes)
}
