//! SQLite only: the chains the writer read or wrote lately, kept in its memory, so the chain
//! read before a change (a capture, a refund, a Lightbox input) of a chain it has seen lately
//! needs no statement and no decoding.
//!
//! Why it stays true: every write to a payment chain goes through this writer, and it puts
//! each committed change into the chains it keeps (the payment as written, its transactions
//! replaced or added) exactly as a read would find them after the commit. Commits by another
//! process or connection are caught by `PRAGMA data_version` before chains are handed out,
//! and then everything kept is dropped. Should a kept chain ever be behind all the same, the
//! change made from it carries the payment's old version, and the version check of the update
//! refuses it (`Conflict`), and the chain is dropped. Debug builds (the tests) read every
//! chain handed out from here again from the database and compare the two.
//!
//! A chain is kept whole (every transaction, as [`crate::chain_read::BY_PAYMENT`] reads it) or
//! as the part a new child needs (the payment and its authorization,
//! [`crate::chain_read::FOR_NEW_CHILD`]); a part answers only reads for a new child.

use std::collections::HashMap;

use paybank_core::change::Change;
use paybank_core::ids::StoredIds;
use paybank_core::model::{PaymentChain, Transaction};

use crate::chain_batch::ChainKey;
use crate::chain_read::{in_creation_order, needs_whole};

/// How much the writer keeps by default, counted in rows (a payment and each transaction
/// kept with it are one each): about 1 KB a row, so some 64 MB at most.
pub(crate) const KEPT_ROWS_MAX: usize = 65_536;

/// The chains kept, by their payment's stored id, and the payment each transaction id they
/// answer for belongs to.
pub(crate) struct ChainCache {
    chains: HashMap<i64, Kept>,
    payment_of: HashMap<i64, i64>,
    /// What is kept, in rows (see [`Kept::rows`]).
    rows: usize,
    rows_max: usize,
    ids: StoredIds,
    /// The database's `data_version` when the writer last looked, if it could tell.
    data_version: Option<i64>,
}

struct Kept {
    chain: PaymentChain,
    whole: bool,
    /// The stored ids of the transactions this chain answers for in `payment_of`.
    keys: Vec<i64>,
}

impl Kept {
    /// The payment and each transaction are a row; ids answered for beyond the transactions
    /// held (a part asked for by its children's ids) count as rows too, so they stay bounded.
    fn rows(&self) -> usize {
        let held = self.chain.transactions.len();
        1 + held + self.keys.len().saturating_sub(held)
    }
}

impl ChainCache {
    pub(crate) fn new(ids: StoredIds, rows_max: usize) -> ChainCache {
        ChainCache {
            chains: HashMap::new(),
            payment_of: HashMap::new(),
            rows: 0,
            rows_max,
            ids,
            data_version: None,
        }
    }

    /// Whether the database's data version (`PRAGMA data_version`, which moves when another
    /// connection commits) is still the one seen last; records `version` for next time. An
    /// unknown version is never the same.
    pub(crate) fn data_version_is(&mut self, version: Option<i64>) -> bool {
        let same = version.is_some() && version == self.data_version;
        self.data_version = version;
        same
    }

    /// Drops everything kept.
    pub(crate) fn clear(&mut self) {
        self.chains.clear();
        self.payment_of.clear();
        self.rows = 0;
    }

    /// The chain a read by `key` would find now, when it is kept.
    pub(crate) fn get(&self, key: ChainKey) -> Option<PaymentChain> {
        let payment_id = match key {
            ChainKey::Payment(payment_id) => payment_id,
            ChainKey::Transaction(id) | ChainKey::ForNewChild(id) => *self.payment_of.get(&id)?,
        };
        let kept = self.chains.get(&payment_id)?;
        match key {
            ChainKey::ForNewChild(_) if !needs_whole(&kept.chain) => Some(part_of(&kept.chain)),
            _ if kept.whole => Some(kept.chain.clone()),
            _ => None,
        }
    }

    /// Keeps what a read by `key` found in the database.
    pub(crate) fn keep_read(&mut self, key: ChainKey, chain: &PaymentChain) {
        // A read for a new child reads the chain whole when the part would not do.
        let whole = !matches!(key, ChainKey::ForNewChild(_)) || needs_whole(chain);
        let payment_id = self.ids.stored(chain.payment.payment_id.0);
        // A part read again whole answers for the ids the part did.
        let keys = self
            .take(payment_id)
            .map_or_else(Vec::new, |earlier| earlier.keys);
        let mut kept = Kept {
            chain: chain.clone(),
            whole,
            keys,
        };
        let mut ids: Vec<i64> = Vec::new();
        if let ChainKey::Transaction(id) | ChainKey::ForNewChild(id) = key {
            ids.push(id);
        }
        if whole {
            let held = kept.chain.transactions.iter();
            ids.extend(held.map(|txn| self.ids.stored(txn.transaction_id.0)));
        }
        self.answer_for(&mut kept, payment_id, ids);
        self.keep(payment_id, kept);
    }

    /// Puts a committed change into the chain it changed: a new payment's chain is kept whole,
    /// a kept one is brought up to date, and any other is left unkept.
    pub(crate) fn committed(&mut self, change: &Change) {
        let payment_id = self.ids.stored(change.payment.payment_id.0);
        let mut kept = match (change.expected_version, self.take(payment_id)) {
            (None, earlier) => Kept {
                chain: PaymentChain {
                    payment: change.payment.clone(),
                    transactions: Vec::new(),
                },
                whole: true,
                keys: earlier.map_or_else(Vec::new, |earlier| earlier.keys),
            },
            (Some(_), Some(mut kept)) => {
                kept.chain.payment = change.payment.clone();
                kept
            }
            (Some(_), None) => return,
        };
        let mut ids = Vec::new();
        for txn in &change.transactions {
            if put(&mut kept.chain, txn, kept.whole) {
                ids.push(self.ids.stored(txn.transaction_id.0));
            }
        }
        if kept.whole {
            in_creation_order(&mut kept.chain.transactions, self.ids);
        }
        self.answer_for(&mut kept, payment_id, ids);
        self.keep(payment_id, kept);
    }

    /// Drops the chain of the payment a failed change was made for.
    pub(crate) fn forget(&mut self, change: &Change) {
        let payment_id = self.ids.stored(change.payment.payment_id.0);
        if let Some(kept) = self.take(payment_id) {
            self.unmap(&kept.keys);
        }
    }

    /// Makes reads by the transaction ids `ids` find `kept`, of the payment `payment_id`.
    fn answer_for(&mut self, kept: &mut Kept, payment_id: i64, ids: Vec<i64>) {
        for id in ids {
            if self.payment_of.insert(id, payment_id).is_none() {
                kept.keys.push(id);
            }
        }
    }

    /// Takes a chain out; the ids it answers for stay mapped, for it to be put back.
    fn take(&mut self, payment_id: i64) -> Option<Kept> {
        let kept = self.chains.remove(&payment_id)?;
        self.rows -= kept.rows();
        Some(kept)
    }

    fn unmap(&mut self, keys: &[i64]) {
        for id in keys {
            self.payment_of.remove(id);
        }
    }

    /// Keeps `kept`. When there is no room left, everything else is dropped, and the writer
    /// reads chains again until it has gathered those in use: cheaper than choosing which to
    /// drop, and unlike dropping the oldest, a set of chains a little larger than the room
    /// used round and round does not miss every time.
    fn keep(&mut self, payment_id: i64, kept: Kept) {
        let rows = kept.rows();
        if rows > self.rows_max {
            return self.unmap(&kept.keys);
        }
        if self.rows + rows > self.rows_max {
            self.clear();
            for &id in &kept.keys {
                self.payment_of.insert(id, payment_id);
            }
        }
        self.rows += rows;
        self.chains.insert(payment_id, kept);
    }
}

/// The part of `chain` a read for a new child finds: the payment and its authorization.
fn part_of(chain: &PaymentChain) -> PaymentChain {
    let authorization = (chain.transactions.iter())
        .find(|txn| txn.transaction_id == chain.payment.authorization_id)
        .cloned();
    PaymentChain {
        payment: chain.payment.clone(),
        transactions: authorization.into_iter().collect(),
    }
}

/// Writes `txn` into `chain`: over its earlier copy, or, in a whole chain, as a new one. A
/// part holds only the authorization, so a new child of it is not added. Whether `txn` is
/// in the chain now.
fn put(chain: &mut PaymentChain, txn: &Transaction, whole: bool) -> bool {
    match (chain.transactions.iter_mut()).find(|held| held.transaction_id == txn.transaction_id) {
        Some(held) => *held = txn.clone(),
        None if whole || txn.transaction_id == chain.payment.authorization_id => {
            chain.transactions.push(txn.clone());
        }
        None => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use paybank_core::ids::TransactionId;

    use super::*;
    use crate::contract_support::{
        add_merchant, applied, authorized, capture_dollar, merchant, World, T0,
    };
    use crate::sql::{SqlStore, WriterOptions};
    use crate::test_support::{test_ids, SqliteFile, TEST_ID_SEED};
    use crate::{ChainOf, Store};

    fn stored(id: TransactionId) -> i64 {
        test_ids().stored(id.0)
    }

    fn by_payment(chain: &PaymentChain) -> ChainKey {
        ChainKey::Payment(test_ids().stored(chain.payment.payment_id.0))
    }

    fn authorization_of(chain: &PaymentChain) -> i64 {
        stored(chain.payment.authorization_id)
    }

    fn part(whole: &PaymentChain) -> PaymentChain {
        part_of(whole)
    }

    /// A new payment's change, and its chain as a read would find it after the commit.
    fn established(world: &mut World, reference: &str) -> (Change, PaymentChain) {
        let change = world.establish(reference, T0);
        let before = PaymentChain {
            payment: change.payment.clone(),
            transactions: Vec::new(),
        };
        let chain = applied(&before, &change);
        (change, chain)
    }

    #[test]
    fn a_new_payment_is_kept_whole_and_answers_every_read() {
        let mut world = World::new(merchant(1, false), 1_000);
        let (change, chain) = established(&mut world, "KEPT-1");
        let mut kept = ChainCache::new(test_ids(), KEPT_ROWS_MAX);
        kept.committed(&change);
        let authorization = authorization_of(&chain);
        assert_eq!(kept.get(by_payment(&chain)), Some(chain.clone()));
        assert_eq!(
            kept.get(ChainKey::Transaction(authorization)),
            Some(chain.clone())
        );
        assert_eq!(
            kept.get(ChainKey::ForNewChild(authorization)),
            Some(part(&chain))
        );
        assert_eq!(kept.get(ChainKey::Transaction(authorization + 1)), None);
    }

    #[test]
    fn a_kept_chain_follows_its_changes_and_an_unkept_one_stays_unkept() {
        let mut world = World::new(merchant(1, false), 1_000);
        let (change, chain) = established(&mut world, "KEPT-2");
        let started = world.start(&chain, T0 + 1);
        let mut kept = ChainCache::new(test_ids(), KEPT_ROWS_MAX);
        kept.committed(&change);
        kept.committed(&started);
        let now = applied(&chain, &started);
        assert_eq!(kept.get(by_payment(&chain)), Some(now.clone()));
        let completed = world.complete(&now, T0 + 2, None);
        kept.committed(&completed);
        assert_eq!(
            kept.get(by_payment(&chain)),
            Some(applied(&now, &completed))
        );

        let mut fresh = ChainCache::new(test_ids(), KEPT_ROWS_MAX);
        fresh.committed(&started);
        assert_eq!(
            fresh.get(by_payment(&chain)),
            None,
            "never read nor made here"
        );
        let authorization = authorization_of(&chain);
        assert_eq!(fresh.get(ChainKey::ForNewChild(authorization)), None);
    }

    #[test]
    fn a_part_answers_only_reads_for_a_new_child_and_follows_changes() {
        let mut world = World::new(merchant(1, false), 1_000);
        let (_, chain) = established(&mut world, "KEPT-3");
        let authorization = authorization_of(&chain);
        let mut kept = ChainCache::new(test_ids(), KEPT_ROWS_MAX);
        kept.keep_read(ChainKey::ForNewChild(authorization), &part(&chain));
        assert_eq!(
            kept.get(ChainKey::ForNewChild(authorization)),
            Some(part(&chain))
        );
        assert_eq!(
            kept.get(by_payment(&chain)),
            None,
            "a part is not the chain"
        );
        assert_eq!(kept.get(ChainKey::Transaction(authorization)), None);
        let started = world.start(&chain, T0 + 1);
        kept.committed(&started);
        assert_eq!(
            kept.get(ChainKey::ForNewChild(authorization)),
            Some(part(&applied(&chain, &started)))
        );
    }

    #[test]
    fn a_chain_with_preauthorizations_answers_reads_for_a_new_child_only_whole() {
        let mut world = World::new(merchant(1, false), 1_000);
        let (_, chain) = established(&mut world, "KEPT-4");
        let authorization = authorization_of(&chain);
        let mut kept = ChainCache::new(test_ids(), KEPT_ROWS_MAX);
        kept.keep_read(ChainKey::ForNewChild(authorization), &part(&chain));
        let mut started = world.start(&chain, T0 + 1);
        started.payment.totals.preauthorizations = 1;
        kept.committed(&started);
        assert_eq!(kept.get(ChainKey::ForNewChild(authorization)), None);

        let mut whole = applied(&chain, &started);
        whole.payment.totals.preauthorizations = 1;
        kept.keep_read(ChainKey::ForNewChild(authorization), &whole);
        let read = kept.get(ChainKey::ForNewChild(authorization));
        assert_eq!(
            read,
            Some(whole.clone()),
            "read whole, as the database does"
        );
        assert_eq!(kept.get(by_payment(&whole)), Some(whole));
    }

    #[test]
    fn a_failed_change_drops_its_chain() {
        let mut world = World::new(merchant(1, false), 1_000);
        let (change, chain) = established(&mut world, "KEPT-5");
        let mut kept = ChainCache::new(test_ids(), KEPT_ROWS_MAX);
        kept.committed(&change);
        kept.forget(&world.start(&chain, T0 + 1));
        assert_eq!(kept.get(by_payment(&chain)), None);
        let authorization = authorization_of(&chain);
        assert_eq!(kept.get(ChainKey::ForNewChild(authorization)), None);
    }

    #[test]
    fn a_chain_without_room_drops_the_others_and_one_too_large_is_not_kept() {
        let mut world = World::new(merchant(1, false), 1_000);
        let (first, first_chain) = established(&mut world, "KEPT-6");
        let (second, second_chain) = established(&mut world, "KEPT-7");
        // A new payment's chain is two rows: the payment and its authorization.
        let mut kept = ChainCache::new(test_ids(), 3);
        kept.committed(&first);
        kept.committed(&second);
        assert_eq!(kept.get(by_payment(&first_chain)), None);
        assert_eq!(
            kept.get(ChainKey::Transaction(authorization_of(&first_chain))),
            None
        );
        assert_eq!(
            kept.get(by_payment(&second_chain)),
            Some(second_chain.clone())
        );
        let authorization = authorization_of(&second_chain);
        assert_eq!(
            kept.get(ChainKey::Transaction(authorization)),
            Some(second_chain)
        );

        let mut small = ChainCache::new(test_ids(), 1);
        small.committed(&first);
        assert_eq!(small.get(by_payment(&first_chain)), None);
        assert!(small.payment_of.is_empty(), "no id answers for it either");
    }

    #[test]
    fn a_data_version_is_the_same_only_when_known_and_unmoved() {
        let mut kept = ChainCache::new(test_ids(), KEPT_ROWS_MAX);
        assert!(!kept.data_version_is(Some(3)), "nothing seen before");
        assert!(kept.data_version_is(Some(3)));
        assert!(!kept.data_version_is(Some(4)));
        assert!(!kept.data_version_is(None));
        assert!(!kept.data_version_is(None));
    }

    /// Proves a chain kept by one store's writer is not handed out after another process (here
    /// a second store on the same file) changed it: the writer sees the database's data
    /// version move and reads the chain again.
    #[tokio::test]
    async fn a_chain_changed_by_another_process_is_read_again() {
        let file = SqliteFile::create("kept-chains-elsewhere");
        let open = || SqlStore::open(&file.url, TEST_ID_SEED, WriterOptions::default());
        // Theirs first: opening a store may write (its id secret), and here only the changes
        // that follow are wanted.
        let theirs: Arc<dyn Store> = Arc::new(open().await.expect("open theirs"));
        let ours: Arc<dyn Store> = Arc::new(open().await.expect("open ours"));
        let mut world = World::new(merchant(1, false), 1_000);
        add_merchant(&ours, &world.merchant).await;
        let chain = authorized(&ours, &mut world, "ELSEWHERE", T0).await;
        let of = ChainOf::ForNewChild(chain.payment.authorization_id);
        let read = |store: Arc<dyn Store>| async move {
            let chain = store.chain_to_change(of).await.expect("read the chain");
            chain.expect("the chain exists")
        };
        let before = read(ours.clone()).await;
        assert_eq!(before.payment, chain.payment);
        assert_eq!(
            ours.writer_stats().chain_reads_kept,
            1,
            "kept since the commit"
        );

        let mut elsewhere = World::new(world.merchant.clone(), 50_000);
        let reference = "ELSEWHERE-CAPTURE".to_owned();
        capture_dollar(&theirs, &mut elsewhere, &before, reference, T0 + 10).await;
        let after = read(ours.clone()).await;
        assert_eq!(
            after.payment.record_version,
            before.payment.record_version + 1
        );
        assert_eq!(after.payment.totals.captures_held.minor(), 100);
        assert_eq!(ours.writer_stats().chain_reads_kept, 1, "read again");

        // Its own capture's change is kept again, and the next read finds it.
        let reference = "OURS-CAPTURE".to_owned();
        capture_dollar(&ours, &mut world, &after, reference, T0 + 20).await;
        let last = read(ours.clone()).await;
        assert_eq!(last.payment.totals.captures_held.minor(), 200);
        assert_eq!(ours.writer_stats().chain_reads_kept, 2);
    }
}
