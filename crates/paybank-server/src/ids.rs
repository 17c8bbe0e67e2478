//! Id allocation: blocks of the deployment-wide counter, permuted into unguessable ids.

use paybank_core::ids::{permute_counter, IdSource};
use paybank_store::{Store, StoreResult};
use tokio::sync::Mutex;

/// Counter values taken from the database at a time; a node wastes at most this many on exit.
const BLOCK_SIZE: u64 = 1024;

/// Hands out ids from a reserved block, refilling it from the store.
pub struct IdAllocator {
    key: [u64; 4],
    /// The next unused counter value and the end of the block (exclusive).
    block: Mutex<(u64, u64)>,
}

/// Ids reserved for one command; the core draws from them through [`IdSource`]. Each is
/// permuted when drawn, since most commands draw fewer than they reserve.
pub struct ReservedIds {
    /// The next unused counter value and the end of the reservation (exclusive).
    next: u64,
    end: u64,
    key: [u64; 4],
}

/// More ids than any single rule draws; unused ones are simply skipped.
pub const IDS_PER_COMMAND: usize = 8;

impl IdAllocator {
    pub fn new(key: [u64; 4]) -> IdAllocator {
        IdAllocator {
            key,
            block: Mutex::new((0, 0)),
        }
    }

    pub async fn reserve(&self, store: &dyn Store, count: usize) -> StoreResult<ReservedIds> {
        let count = count as u64;
        let mut block = self.block.lock().await;
        if block.1 - block.0 < count {
            let first = store.reserve_ids(BLOCK_SIZE.max(count)).await?;
            *block = (first, first + BLOCK_SIZE.max(count));
        }
        let ids = ReservedIds {
            next: block.0,
            end: block.0 + count,
            key: self.key,
        };
        block.0 += count;
        Ok(ids)
    }
}

impl IdSource for ReservedIds {
    fn next_id(&mut self) -> u64 {
        assert!(
            self.next < self.end,
            "a command draws fewer ids than IDS_PER_COMMAND"
        );
        self.next += 1;
        permute_counter(self.next - 1, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u64; 4] = [1, 2, 3, 4];

    /// Ids come out in counter order, each permuted, and a command cannot draw past its share.
    #[test]
    fn reserved_ids_are_drawn_in_counter_order() {
        let mut ids = ReservedIds {
            next: 40,
            end: 43,
            key: KEY,
        };
        let drawn: Vec<u64> = (0..3).map(|_| ids.next_id()).collect();
        let expected: Vec<u64> = (40..43).map(|c| permute_counter(c, KEY)).collect();
        assert_eq!(drawn, expected);
        let past_the_end = std::panic::catch_unwind(move || ids.next_id());
        assert!(past_the_end.is_err(), "a fourth id from a share of three");
    }
}
