//! Service operations shared by the API, the hosted pages and the workers: load a payment
//! chain, run a core rule on it, commit the change; reload and retry when the chain moved.

use std::sync::Arc;

use paybank_core::change::Change;
use paybank_core::ids::{PaymentId, TransactionId};
use paybank_core::model::{Merchant, PaymentChain, TimestampMs};
use paybank_core::rules::{Ctx, RuleError};
use paybank_store::{ChainOf, StoreError, WriteSet};

use crate::app::AppState;
use crate::ids::IDS_PER_COMMAND;

/// How often a command is retried when another writer changed its chain first.
const CONFLICT_RETRIES_MAX: usize = 8;

/// Why a service operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("duplicate {0}")]
    Duplicate(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> ServiceError {
        match error {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Duplicate(what) => ServiceError::Duplicate(what),
            other => ServiceError::Store(other),
        }
    }
}

/// Loads the chain holding `transaction_id`, provided it belongs to `merchant`.
pub async fn merchant_chain(
    state: &AppState,
    merchant: &Merchant,
    transaction_id: TransactionId,
) -> Result<PaymentChain, ServiceError> {
    let chain = state.store.chain_of_transaction(transaction_id).await?;
    of_merchant(chain, merchant)
}

/// As [`merchant_chain`], for a chain about to be changed (see `Store::chain_to_change`).
async fn merchant_chain_to_change(
    state: &AppState,
    merchant: &Merchant,
    of: ChainOf,
) -> Result<PaymentChain, ServiceError> {
    of_merchant(state.store.chain_to_change(of).await?, merchant)
}

/// The chain, if there is one and it is `merchant`'s: another merchant's chain is not found.
fn of_merchant(
    chain: Option<PaymentChain>,
    merchant: &Merchant,
) -> Result<PaymentChain, ServiceError> {
    match chain {
        Some(chain) if chain.payment.merchant_id == merchant.merchant_id => Ok(chain),
        _ => Err(ServiceError::NotFound),
    }
}

/// Runs `rule` on the chain `of` names (a transaction's, whole or for a new child) and commits
/// its change, retrying on conflict. Returns the chain as committed (as much of it as was
/// read) and the change (whose new transactions the caller reports).
pub async fn change_chain<F>(
    state: &AppState,
    merchant: &Merchant,
    of: ChainOf,
    mut rule: F,
) -> Result<(PaymentChain, Arc<Change>), ServiceError>
where
    F: FnMut(&mut Ctx<'_>, &PaymentChain) -> Result<Change, RuleError>,
{
    for _ in 0..CONFLICT_RETRIES_MAX {
        let chain = merchant_chain_to_change(state, merchant, of).await?;
        let mut ids = state
            .ids
            .reserve(state.store.as_ref(), IDS_PER_COMMAND)
            .await?;
        let mut ctx = Ctx {
            merchant,
            policy: &state.policy,
            ids: &mut ids,
            now: state.clock.now(),
        };
        let change = Arc::new(rule(&mut ctx, &chain)?);
        let write = WriteSet {
            change: Some(Arc::clone(&change)),
            ..WriteSet::default()
        };
        match state.commit(write).await {
            Ok(()) => return Ok((chain.into_changed(&change), change)),
            Err(StoreError::Conflict) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ServiceError::Store(StoreError::Conflict))
}

/// The merchant a chain belongs to (workers and hosted pages act on its behalf).
pub async fn chain_merchant(
    state: &AppState,
    chain: &PaymentChain,
) -> Result<Arc<Merchant>, ServiceError> {
    state
        .store
        .merchant(chain.payment.merchant_id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Runs `rule` on a payment chain at `now` on the workers' behalf and commits its change,
/// retrying on conflict. Returns the committed change, or None when the rule had nothing to do.
pub async fn change_chain_at<F>(
    state: &AppState,
    payment_id: PaymentId,
    now: TimestampMs,
    mut rule: F,
) -> Result<Option<Arc<Change>>, ServiceError>
where
    F: FnMut(&mut Ctx<'_>, &PaymentChain) -> Option<Change>,
{
    for _ in 0..CONFLICT_RETRIES_MAX {
        let Some(chain) = state
            .store
            .chain_to_change(ChainOf::Payment(payment_id))
            .await?
        else {
            return Ok(None);
        };
        let merchant = chain_merchant(state, &chain).await?;
        let mut ids = state
            .ids
            .reserve(state.store.as_ref(), IDS_PER_COMMAND)
            .await?;
        let mut ctx = Ctx {
            merchant: &merchant,
            policy: &state.policy,
            ids: &mut ids,
            now,
        };
        let Some(change) = rule(&mut ctx, &chain).map(Arc::new) else {
            return Ok(None);
        };
        let write = WriteSet {
            change: Some(Arc::clone(&change)),
            ..WriteSet::default()
        };
        match state.commit(write).await {
            Ok(()) => return Ok(Some(change)),
            Err(StoreError::Conflict) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ServiceError::Store(StoreError::Conflict))
}
