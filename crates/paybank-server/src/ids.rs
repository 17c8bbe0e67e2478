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

/// Ids reserved for one command; the core draws from them through [`IdSource`].
pub struct ReservedIds {
    ids: Vec<u64>,
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
        let ids = (block.0..block.0 + count)
            .rev()
            .map(|counter| permute_counter(counter, self.key))
            .collect();
        block.0 += count;
        Ok(ReservedIds { ids })
    }
}

impl IdSource for ReservedIds {
    fn next_id(&mut self) -> u64 {
        self.ids
            .pop()
            .expect("a command draws fewer ids than IDS_PER_COMMAND")
    }
}
