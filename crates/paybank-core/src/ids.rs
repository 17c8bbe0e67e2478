//! Identifiers: typed numeric ids and the keyed permutation that turns a counter into an id.
//!
//! Ids are 13-digit numbers starting with `1`: unique across the deployment (they come from one
//! database counter), never reused, and not sequential, so one merchant cannot read another's
//! volume from the gaps between its own ids.

use std::fmt;
use std::str::FromStr;

/// Counters below this bound map to distinct ids; the permutation works on twelve digits.
pub const ID_COUNTER_MAX: u64 = 1_000_000_000_000;
const HALF_DOMAIN: u64 = 1_000_000;
const ID_BASE: u64 = 1_000_000_000_000;
const FEISTEL_ROUNDS: usize = 4;

macro_rules! numeric_id {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = ();

            /// Accepts 1 to 15 ASCII digits, the provider's documented id shape.
            fn from_str(text: &str) -> Result<Self, ()> {
                if text.is_empty() || text.len() > 15 || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(());
                }
                text.parse().map($name).map_err(|_| ())
            }
        }
    };
}

numeric_id!(
    TransactionId,
    "A transaction (authorization, capture, refund, …)."
);
numeric_id!(
    PaymentId,
    "A payment: an authorization and every transaction under it."
);
numeric_id!(MerchantId, "A merchant account.");
numeric_id!(
    EventId,
    "An event notification; stable across delivery attempts."
);

/// Maps a counter to a 13-digit id with a keyed Feistel permutation over twelve digits.
/// A permutation is a bijection, so distinct counters always give distinct ids.
pub fn permute_counter(counter: u64, key: [u64; FEISTEL_ROUNDS]) -> u64 {
    assert!(counter < ID_COUNTER_MAX, "id counter exhausted");
    let mut left = counter / HALF_DOMAIN;
    let mut right = counter % HALF_DOMAIN;
    for round_key in key {
        let mixed = (left + round_function(right, round_key)) % HALF_DOMAIN;
        left = right;
        right = mixed;
    }
    ID_BASE + left * HALF_DOMAIN + right
}

/// The counter an id was made from by [`permute_counter`] with the same key, or `None` when
/// the id is outside the permutation's range (not thirteen digits starting with `1`).
pub fn unpermute_id(id: u64, key: [u64; FEISTEL_ROUNDS]) -> Option<u64> {
    let digits = id
        .checked_sub(ID_BASE)
        .filter(|digits| *digits < ID_COUNTER_MAX)?;
    let mut left = digits / HALF_DOMAIN;
    let mut right = digits % HALF_DOMAIN;
    for round_key in key.into_iter().rev() {
        let earlier_left = (right + HALF_DOMAIN - round_function(left, round_key)) % HALF_DOMAIN;
        right = left;
        left = earlier_left;
    }
    Some(left * HALF_DOMAIN + right)
}

/// How ids are kept in a database: as the counter they were made from, so that rows made
/// together sit together in every index keyed by an id, and an index grows at its end rather
/// than at random places. The mapping is one to one for every id up to `i64::MAX`: ids from
/// the permutation become their counter (0 to 10^12 - 1), smaller ids become negative, and
/// larger ones (never made here) stay as they are. No id maps to a value in [10^12, 2·10^12)
/// or below -10^12, so such a value (a public id left unconverted, say) reads as no id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredIds {
    key: [u64; FEISTEL_ROUNDS],
}

impl StoredIds {
    /// The order of the deployment whose ids were made with `key`.
    pub fn new(key: [u64; FEISTEL_ROUNDS]) -> StoredIds {
        StoredIds { key }
    }

    /// The deployment's key, which the ids are made with ([`permute_counter`]).
    pub fn key(&self) -> [u64; FEISTEL_ROUNDS] {
        self.key
    }

    /// What the database keeps for `id`. Ids are at most fifteen digits, so every id fits.
    pub fn stored(&self, id: u64) -> i64 {
        let stored = match unpermute_id(id, self.key) {
            Some(counter) => counter,
            None if id < ID_BASE => return -(id as i64) - 1,
            None => id,
        };
        i64::try_from(stored).expect("ids have at most fifteen digits")
    }

    /// The id the database's `stored` value stands for, or `None` when no id maps to it.
    pub fn id(&self, stored: i64) -> Option<u64> {
        let value = stored.unsigned_abs();
        match stored {
            ..0 => Some(value - 1).filter(|id| *id < ID_BASE),
            0..ID_COUNTER_MAX_I64 => Some(permute_counter(value, self.key)),
            _ if value >= 2 * ID_BASE => Some(value),
            _ => None,
        }
    }
}

const ID_COUNTER_MAX_I64: i64 = ID_COUNTER_MAX as i64;

/// Derives the four round keys from a deployment secret.
pub fn permutation_key(secret: &[u8]) -> [u64; FEISTEL_ROUNDS] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(secret);
    let mut key = [0u64; FEISTEL_ROUNDS];
    for (round_idx, chunk) in digest.chunks_exact(8).enumerate() {
        key[round_idx] = u64::from_le_bytes(chunk.try_into().expect("chunks of 8 bytes"));
    }
    key
}

/// SplitMix64 finaliser: cheap and well mixed, which is all a Feistel round needs here.
fn round_function(value: u64, round_key: u64) -> u64 {
    let mut z = value ^ round_key;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) % HALF_DOMAIN
}

/// Source of fresh ids for the core's pure functions; the server backs it with a database
/// counter, tests with a plain counter.
pub trait IdSource {
    fn next_id(&mut self) -> u64;

    fn transaction_id(&mut self) -> TransactionId {
        TransactionId(self.next_id())
    }

    fn event_id(&mut self) -> EventId {
        EventId(self.next_id())
    }

    fn payment_id(&mut self) -> PaymentId {
        PaymentId(self.next_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn ids_have_thirteen_digits_and_do_not_collide() {
        let key = permutation_key(b"test secret");
        let ids: HashSet<u64> = (0..50_000)
            .map(|counter| permute_counter(counter, key))
            .collect();
        assert_eq!(ids.len(), 50_000);
        assert!(ids.iter().all(|id| id.to_string().len() == 13));
    }

    #[test]
    fn consecutive_counters_do_not_give_consecutive_ids() {
        let key = permutation_key(b"test secret");
        let first = permute_counter(7, key);
        let second = permute_counter(8, key);
        assert!(first.abs_diff(second) > 1000);
    }

    #[test]
    fn parses_only_short_digit_strings() {
        assert_eq!(
            "1002593555".parse::<TransactionId>(),
            Ok(TransactionId(1002593555))
        );
        assert!("".parse::<TransactionId>().is_err());
        assert!("12a".parse::<TransactionId>().is_err());
        assert!("1234567890123456".parse::<TransactionId>().is_err());
    }

    #[test]
    fn stored_ids_come_in_counter_order() {
        let stored = StoredIds::new(permutation_key(b"test secret"));
        let key = permutation_key(b"test secret");
        for counter in [0, 1, 2, 999_999, 1_000_000, ID_COUNTER_MAX - 1] {
            let id = permute_counter(counter, key);
            assert_eq!(stored.stored(id), counter as i64);
            assert_eq!(stored.id(counter as i64), Some(id));
        }
    }

    #[test]
    fn ids_outside_the_permutation_are_stored_apart_from_counters() {
        let stored = StoredIds::new(permutation_key(b"k"));
        assert_eq!(stored.stored(0), -1);
        assert_eq!(stored.stored(ID_BASE - 1), -(ID_BASE as i64));
        assert_eq!(stored.stored(2 * ID_BASE), 2 * ID_BASE as i64);
        assert_eq!(stored.stored(999_999_999_999_999), 999_999_999_999_999);
        assert_eq!(stored.id(-1), Some(0));
        assert_eq!(stored.id(-(ID_BASE as i64) - 1), None);
        assert_eq!(stored.id(ID_BASE as i64), None);
        assert_eq!(stored.id(2 * ID_BASE as i64 - 1), None);
        assert_eq!(stored.id(i64::MIN), None);
    }

    proptest! {
        #[test]
        fn unpermute_inverts_the_permutation(counter in 0..ID_COUNTER_MAX, secret in any::<u64>()) {
            let key = permutation_key(&secret.to_le_bytes());
            prop_assert_eq!(unpermute_id(permute_counter(counter, key), key), Some(counter));
        }

        #[test]
        fn every_id_round_trips_through_storage(id in 0..1_000_000_000_000_000u64) {
            let stored = StoredIds::new(permutation_key(b"k"));
            prop_assert_eq!(stored.id(stored.stored(id)), Some(id));
        }

        #[test]
        fn storage_keeps_ids_apart(a in 0..1_000_000_000_000_000u64, b in 0..1_000_000_000_000_000u64) {
            let stored = StoredIds::new(permutation_key(b"k"));
            prop_assert_eq!(a == b, stored.stored(a) == stored.stored(b));
        }

        #[test]
        fn permutation_is_injective(a in 0..ID_COUNTER_MAX, b in 0..ID_COUNTER_MAX) {
            let key = permutation_key(b"k");
            prop_assert_eq!(a == b, permute_counter(a, key) == permute_counter(b, key));
        }
    }
}
