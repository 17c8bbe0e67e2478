//! Driving a Lightbox session: one input at a time, through the core state machine, with the
//! payment change it implies committed together with the session. The hosted pages and the
//! headless sandbox authorization both go through [`lightbox_input`].

use std::sync::Arc;
use std::time::Duration;

use paybank_core::authorization::{
    cancel_authorization, complete_authorization, expire_authorization, start_authorization,
};
use paybank_core::lightbox::{advance, grant, Effect, Input, InputRejected, LightboxSession};
use paybank_core::model::{Merchant, PaymentChain};
use paybank_core::rules::{Ctx, RuleError};
use paybank_store::{ChainOf, StoreError, WriteSet};

use crate::app::AppState;
use crate::ids::IDS_PER_COMMAND;
use crate::random::random_split_token;
use crate::redirect;
use crate::service::{chain_merchant, ServiceError};

/// How often an input is retried when the payment changed underneath it.
const CONFLICT_RETRIES_MAX: usize = 8;

/// The session and payment after an input.
pub struct FlowState {
    pub session: LightboxSession,
    pub chain: PaymentChain,
    pub merchant: Arc<Merchant>,
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("unknown Lightbox session")]
    UnknownSession,
    #[error(transparent)]
    Rejected(#[from] InputRejected),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for FlowError {
    fn from(error: StoreError) -> FlowError {
        FlowError::Service(error.into())
    }
}

/// Loads a session with its payment and merchant.
pub async fn load_flow(state: &AppState, session_id: &str) -> Result<FlowState, FlowError> {
    load(state, session_id, false).await
}

/// Loads a session as [`load_flow`] does, its chain `to_change` (see `Store::chain_to_change`)
/// when an input is about to change it.
async fn load(state: &AppState, session_id: &str, to_change: bool) -> Result<FlowState, FlowError> {
    let session = state
        .store
        .lightbox_session(session_id)
        .await?
        .ok_or(FlowError::UnknownSession)?;
    let chain = match to_change {
        true => {
            let of = ChainOf::Payment(session.payment_id);
            state.store.chain_to_change(of).await?
        }
        false => state.store.chain(session.payment_id).await?,
    };
    let chain = chain.ok_or(FlowError::UnknownSession)?;
    let merchant = chain_merchant(state, &chain).await?;
    Ok(FlowState {
        session,
        chain,
        merchant,
    })
}

/// Applies one consumer input and commits the result.
pub async fn lightbox_input(
    state: &AppState,
    session_id: &str,
    input: Input,
) -> Result<FlowState, FlowError> {
    let mut delayed = false;
    for _ in 0..CONFLICT_RETRIES_MAX {
        let flow = load(state, session_id, true).await?;
        let now = state.clock.now();
        let advanced = advance(&flow.session, input.clone(), now)?;
        if advanced.delay_seconds > 0 && !delayed {
            // Demo Bank's `Sleep` user: the bank takes its time, as a slow bank would.
            tokio::time::sleep(Duration::from_secs(u64::from(advanced.delay_seconds))).await;
            delayed = true;
            continue;
        }
        let mut session = advanced.session;
        let change = effect_change(state, &flow, &advanced.effect).await?;
        let chain = match &change {
            Some(change) => flow.chain.with_change(change),
            None => flow.chain.clone(),
        };
        if session.step.is_final() {
            session.redirect_url = Some(redirect::final_url(&flow.merchant, &chain));
        }
        let write = WriteSet {
            rail: crate::rails::banks::account_opening(change.as_ref()),
            change: change.map(Arc::new),
            session: Some(session.clone()),
            ..WriteSet::default()
        };
        match state.commit(write).await {
            Ok(()) => {
                return Ok(FlowState {
                    session,
                    chain,
                    merchant: flow.merchant,
                })
            }
            Err(StoreError::Conflict) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(FlowError::Service(ServiceError::Store(
        StoreError::Conflict,
    )))
}

/// Expires a session whose time ran out, if it is not final yet (the page was reopened late).
pub async fn expire_if_due(state: &AppState, flow: FlowState) -> Result<FlowState, FlowError> {
    if flow.session.step.is_final() || state.clock.now() < flow.session.expires_at {
        return Ok(flow);
    }
    lightbox_input(state, &flow.session.session_id, Input::Back).await
}

/// The payment change an input's effect asks for; None when the payment stays as it is.
async fn effect_change(
    state: &AppState,
    flow: &FlowState,
    effect: &Effect,
) -> Result<Option<paybank_core::change::Change>, ServiceError> {
    if matches!(effect, Effect::None) {
        return Ok(None);
    }
    let mut ids = state
        .ids
        .reserve(state.store.as_ref(), IDS_PER_COMMAND)
        .await?;
    let mut ctx = Ctx {
        merchant: &flow.merchant,
        policy: &state.policy,
        ids: &mut ids,
        now: state.clock.now(),
    };
    let chain = &flow.chain;
    let result = match effect {
        Effect::None => Ok(None),
        Effect::Started { bank_name } => start_authorization(&mut ctx, chain, bank_name),
        Effect::Authorized(authorized) => {
            let split_token = flow.merchant.split_token_enabled.then(random_split_token);
            complete_authorization(&mut ctx, chain, grant(authorized, split_token)).map(Some)
        }
        Effect::Canceled { user_cancel_code } => {
            cancel_authorization(&mut ctx, chain, user_cancel_code).map(Some)
        }
        Effect::Expired => expire_authorization(&mut ctx, chain).map(Some),
    };
    match result {
        Ok(change) => Ok(change),
        // The authorization was already closed elsewhere (expired by the worker, canceled by
        // the merchant): the session still moves on, the payment stays as it is.
        Err(RuleError::WrongStatus(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}
