//! Stories about reading chains: many at once, as PostgreSQL's chain reader gathers them, and
//! the chains about to be changed, which SQLite reads on its writer's connection.

use std::sync::Arc;

use paybank_core::capture::{self, PreauthorizationRequest};
use paybank_core::ids::{PaymentId, TransactionId};
use paybank_core::model::{ChainTotals, PaymentChain};
use paybank_core::money::Amount;
use paybank_store::{ChainOf, Store};

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
            let of = ChainOf::Transaction(txn.transaction_id);
            expected.push((
                ReadBy::Transaction(txn.transaction_id),
                Some(loaded.clone()),
            ));
            expected.push((ReadBy::ToChange(of), Some(loaded.clone())));
            let of = ChainOf::ForNewChild(txn.transaction_id);
            let part = part_for_new_child(&loaded);
            expected.push((ReadBy::ToChange(of), Some(part)));
        }
        let of = ChainOf::Payment(loaded.payment.payment_id);
        expected.push((ReadBy::ToChange(of), Some(loaded.clone())));
        expected.push((ReadBy::Payment(loaded.payment.payment_id), Some(loaded)));
    }
    expected.push((ReadBy::Payment(PaymentId(1)), None));
    expected.push((ReadBy::Transaction(TransactionId(2)), None));
    expected.push((ReadBy::ToChange(ChainOf::Payment(PaymentId(1))), None));
    expected.push((
        ReadBy::ToChange(ChainOf::Transaction(TransactionId(2))),
        None,
    ));
    let nowhere = ChainOf::ForNewChild(TransactionId(2));
    expected.push((ReadBy::ToChange(nowhere), None));
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

/// Proves a chain read to be changed, asked for while other payments' commits are in flight,
/// sees every commit acknowledged before it was asked for, and matches the chain an ordinary
/// read finds. On SQLite such reads go to the writer's queue among the commits, and are
/// answered before the batch they arrived with begins.
pub async fn chains_to_change_see_acknowledged_commits(store: Arc<dyn Store>) {
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let mut tasks = tokio::task::JoinSet::new();
    for idx in 0..8u64 {
        let loaded = authorized(&store, &mut world, &format!("TO-CHANGE-{idx}"), T0).await;
        let mut world = World::new(world.merchant.clone(), 100_000 * (idx + 1));
        let store = store.clone();
        tasks.spawn(async move {
            let authorization = ChainOf::Transaction(loaded.transactions[0].transaction_id);
            for round in 0..5 {
                let chain = ReadBy::ToChange(authorization).read(&store).await;
                let chain = chain.expect("the chain exists");
                let before = chain.transactions.len();
                let reference = format!("{}-{round}", chain.payment.merchant_reference);
                capture_dollar(&store, &mut world, &chain, reference, T0 + 10 + round).await;
                let of = ChainOf::Payment(chain.payment.payment_id);
                let after = ReadBy::ToChange(of).read(&store).await.expect("the chain");
                assert_eq!(after.transactions.len(), before + 1, "the capture is seen");
                let read = ReadBy::Payment(chain.payment.payment_id).read(&store).await;
                assert_eq!(read, Some(after), "an ordinary read finds the same chain");
            }
        });
    }
    while let Some(task) = tasks.join_next().await {
        task.expect("a payment's captures");
    }
}

/// Proves a chain's transactions come in creation order: by time, then by id as stored, read
/// any way, whatever order their ids were made in (ids are handed out in blocks, so a later
/// transaction may hold a lower id) and whatever order an index holds them in.
pub async fn chain_transactions_in_creation_order(store: Arc<dyn Store>) {
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    // Two blocks of ids: a low one and a high one.
    let mut blocks = [100, 5_000].map(|first| World::new(world.merchant.clone(), first));
    let mut chain = authorized(&store, &mut world, "ORDER", T0).await;
    let mut expected: Vec<String> = (chain.transactions.iter())
        .map(|txn| txn.merchant_reference.clone())
        .collect();
    // b and c share a time: the ids as stored decide, and test ids (below the permuted range)
    // are stored negated, so the high block's b comes first, as PostgreSQL's ORDER BY has it.
    let captures = [
        (0, "ORDER-a", T0 + 20),
        (1, "ORDER-b", T0 + 30),
        (0, "ORDER-c", T0 + 30),
    ];
    for (block, reference, now) in captures {
        let block = &mut blocks[block];
        capture_dollar(&store, block, &chain, reference.to_owned(), now).await;
        chain = crate::support::chain(&store, chain.payment.payment_id).await;
        expected.push(reference.to_owned());
    }
    let of_payment = ChainOf::Payment(chain.payment.payment_id);
    let reads = [
        ReadBy::Payment(chain.payment.payment_id),
        ReadBy::Transaction(chain.transactions[0].transaction_id),
        ReadBy::ToChange(of_payment),
    ];
    for by in reads {
        let read = by.read(&store).await.expect("the chain");
        let references: Vec<_> = (read.transactions.iter())
            .map(|txn| txn.merchant_reference.clone())
            .collect();
        assert_eq!(references, expected, "read by {by:?}");
    }
}

/// Proves a chain read for a new child, by any of its transactions, holds the payment, with
/// totals equal to its whole chain's, and only its authorization; that a capture made on
/// it moves the totals as one made on the whole chain would; and that a chain holding a
/// preauthorization is read whole.
pub async fn chains_for_new_children(store: Arc<dyn Store>) {
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let loaded = authorized(&store, &mut world, "CHILD", T0).await;
    let mut whole = captured_times(&store, &mut world, loaded, 3).await;
    assert_eq!(whole.payment.totals, ChainTotals::of(&whole.transactions));
    assert_eq!(whole.payment.totals.captures_held, Amount::from_minor(300));
    for txn in whole.transactions.clone() {
        let of = ChainOf::ForNewChild(txn.transaction_id);
        let part = ReadBy::ToChange(of).read(&store).await;
        let expected = part_for_new_child(&whole);
        assert_eq!(
            part,
            Some(expected),
            "read for a new child of {:?}",
            txn.transaction_id
        );
    }
    let of = ChainOf::ForNewChild(whole.payment.authorization_id);
    let part = ReadBy::ToChange(of).read(&store).await.expect("the part");
    let reference = "CHILD-ON-PART".to_owned();
    capture_dollar(&store, &mut world, &part, reference, T0 + 500).await;
    whole = crate::support::chain(&store, whole.payment.payment_id).await;
    assert_eq!(whole.transactions.len(), 5);
    assert_eq!(whole.payment.totals, ChainTotals::of(&whole.transactions));
    assert_eq!(whole.payment.totals.captures_held, Amount::from_minor(400));

    let request = PreauthorizationRequest {
        merchant_reference: "CHILD-PREAUTH".to_owned(),
        amount: Some(Amount::from_minor(100)),
        period_hours: 2,
        split_token: None,
        ip: "203.0.113.7".to_owned(),
    };
    let preauthorized = capture::preauthorize(&mut world.ctx(T0 + 600), &whole, request);
    put(&store, &preauthorized.expect("preauthorize"))
        .await
        .expect("commit");
    whole = crate::support::chain(&store, whole.payment.payment_id).await;
    assert_eq!(whole.payment.totals.preauthorizations, 1);
    let read = ReadBy::ToChange(of).read(&store).await;
    assert_eq!(
        read,
        Some(whole),
        "a chain with a preauthorization is read whole"
    );
}

/// What a read for a new child finds of `whole`, a chain without preauthorizations.
fn part_for_new_child(whole: &PaymentChain) -> PaymentChain {
    PaymentChain {
        payment: whole.payment.clone(),
        transactions: vec![whole.authorization().clone()],
    }
}

#[derive(Clone, Copy, Debug)]
enum ReadBy {
    Payment(PaymentId),
    Transaction(TransactionId),
    ToChange(ChainOf),
}

impl ReadBy {
    async fn read(self, store: &Arc<dyn Store>) -> Option<PaymentChain> {
        let read = match self {
            ReadBy::Payment(id) => store.chain(id).await,
            ReadBy::Transaction(id) => store.chain_of_transaction(id).await,
            ReadBy::ToChange(of) => store.chain_to_change(of).await,
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
