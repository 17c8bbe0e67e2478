//! A story about reading many chains at once, as PostgreSQL's chain reader gathers them.

use std::sync::Arc;

use paybank_core::ids::{PaymentId, TransactionId};
use paybank_core::model::PaymentChain;
use paybank_store::Store;

use crate::support::*;

pub async fn many_chains_read_at_once(store: Arc<dyn Store>) {
    // Proves chain reads made all at once, by payment and by transaction, with repeats and ids
    // that exist nowhere, each get their own chain (PostgreSQL gathers such reads into shared
    // statements; SQLite reads each inline).
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let mut expected = Vec::new();
    for idx in 0..12 {
        let loaded = authorized(&store, &mut world, &format!("MANY-{idx}"), T0).await;
        let loaded = captured_times(&store, &mut world, loaded, idx % 3).await;
        for txn in &loaded.transactions {
            expected.push((
                ReadBy::Transaction(txn.transaction_id),
                Some(loaded.clone()),
            ));
        }
        expected.push((ReadBy::Payment(loaded.payment.payment_id), Some(loaded)));
    }
    expected.push((ReadBy::Payment(PaymentId(1)), None));
    expected.push((ReadBy::Transaction(TransactionId(2)), None));
    let asked: Vec<_> = (0..4).flat_map(|_| expected.iter().cloned()).collect();
    let mut reads = tokio::task::JoinSet::new();
    for (position, (by, _)) in asked.iter().enumerate() {
        let (store, by) = (store.clone(), *by);
        reads.spawn(async move { (position, by.read(&store).await) });
    }
    while let Some(read) = reads.join_next().await {
        let (position, read) = read.expect("the read task");
        let (by, chain) = &asked[position];
        assert_eq!(&read, chain, "read by {by:?}");
    }
}

#[derive(Clone, Copy, Debug)]
enum ReadBy {
    Payment(PaymentId),
    Transaction(TransactionId),
}

impl ReadBy {
    async fn read(self, store: &Arc<dyn Store>) -> Option<PaymentChain> {
        let read = match self {
            ReadBy::Payment(id) => store.chain(id).await,
            ReadBy::Transaction(id) => store.chain_of_transaction(id).await,
        };
        read.expect("read a chain")
    }
}

/// `chain` after `times` captures of $1.00, each committed.
async fn captured_times(
    store: &Arc<dyn Store>,
    world: &mut World,
    mut chain: PaymentChain,
    times: usize,
) -> PaymentChain {
    for idx in 0..times {
        let reference = format!("{}-CAPTURE-{idx}", chain.payment.merchant_reference);
        let now = T0 + 100 + i64::try_from(idx).expect("small index");
        capture_dollar(store, world, &chain, reference, now).await;
        chain = crate::support::chain(store, chain.payment.payment_id).await;
    }
    chain
}
