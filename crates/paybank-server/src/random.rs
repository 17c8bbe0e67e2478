//! Randomness for the server: session ids, CSRF tokens, split tokens, credentials.

use base64::Engine;
use rand::RngCore;

/// URL-safe random text carrying `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

/// Random alphanumeric text, for access ids and keys that people copy by hand.
pub fn random_alphanumeric(length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut buffer = vec![0u8; length];
    rand::thread_rng().fill_bytes(&mut buffer);
    buffer
        .iter()
        .map(|byte| ALPHABET[usize::from(*byte) % ALPHABET.len()] as char)
        .collect()
}

/// A fresh split token, shaped like the provider's.
pub fn random_split_token() -> String {
    let mut buffer = [0u8; 47];
    rand::thread_rng().fill_bytes(&mut buffer);
    paybank_core::split_token::split_token_from_bytes(&buffer)
}
