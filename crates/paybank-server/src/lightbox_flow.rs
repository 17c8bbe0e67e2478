//! Driving a Lightbox session through the core state machine, with the payment change the
//! inputs imply committed together with the session: one input per request for the hosted
//! pages ([`lightbox_input`]), every input of a request in one commit for the headless sandbox
//! authorization ([`lightbox_inputs`]).

use std::sync::Arc;
use std::time::Duration;

use paybank_core::authorization::{
    cancel_authorization, complete_authorization, expire_authorization, start_authorization,
};
use paybank_core::change::Change;
use paybank_core::ids::MerchantId;
use paybank_core::lightbox::{
    advance, grant, Advance, Effect, Input, InputRejected, LightboxSession, Step,
};
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
    let applied =
        lightbox_inputs(state, session_id, &[input], |_, _| true, |_| false, None).await?;
    // One input that always applies is either applied or refused with an error, so None does
    // not come back; if it ever did, nothing was written.
    applied.ok_or(FlowError::UnknownSession)
}

/// Applies consumer inputs in turn, each that `applies` to the step the last one left, until
/// one leaves a session `stop` holds, and commits the session and the payment's change once.
/// The headless sandbox authorization is several inputs in one request: one commit (one flush)
/// instead of one per input. None when no input applied. With an `owner`, a session whose
/// payment is another merchant's is `UnknownSession`, before any input is applied.
pub async fn lightbox_inputs(
    state: &AppState,
    session_id: &str,
    inputs: &[Input],
    applies: impl Fn(Step, &Input) -> bool,
    stop: impl Fn(&LightboxSession) -> bool,
    owner: Option<MerchantId>,
) -> Result<Option<FlowState>, FlowError> {
    let mut delayed = false;
    for _ in 0..CONFLICT_RETRIES_MAX {
        let start = load(state, session_id, true).await?;
        if owner.is_some_and(|owner| owner != start.merchant.merchant_id) {
            return Err(FlowError::UnknownSession);
        }
        let run = run_inputs(state, &start, inputs, &applies, &stop, &mut delayed).await?;
        let Some(run) = run else {
            return Ok(None);
        };
        let chain = match &run.change {
            Some(change) => start.chain.into_changed(change),
            None => start.chain,
        };
        let write = WriteSet {
            rail: crate::rails::banks::account_opening(run.change.as_ref()),
            change: run.change.map(Arc::new),
            session: Some(run.session.clone()),
            ..WriteSet::default()
        };
        match state.commit(write).await {
            Ok(()) => {
                if let Some(rejected) = run.rejected {
                    return Err(rejected.into());
                }
                return Ok(Some(FlowState {
                    session: run.session,
                    chain,
                    merchant: start.merchant,
                }));
            }
            Err(StoreError::Conflict) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(FlowError::Service(ServiceError::Store(
        StoreError::Conflict,
    )))
}

/// What inputs did to a session and its payment, not yet committed, and the input refused
/// after them, if one was: what came before it is kept, as when each input was its own request.
struct Run {
    session: LightboxSession,
    change: Option<Change>,
    rejected: Option<InputRejected>,
}

/// Runs the inputs in memory from `start`; each sees the session and chain the last left.
async fn run_inputs(
    state: &AppState,
    start: &FlowState,
    inputs: &[Input],
    applies: &impl Fn(Step, &Input) -> bool,
    stop: &impl Fn(&LightboxSession) -> bool,
    delayed: &mut bool,
) -> Result<Option<Run>, FlowError> {
    let mut flow = FlowState {
        session: start.session.clone(),
        chain: start.chain.clone(),
        merchant: Arc::clone(&start.merchant),
    };
    let mut joined: Option<Change> = None;
    let mut applied = false;
    let mut rejected = None;
    for input in inputs {
        if !applies(flow.session.step, input) {
            continue;
        }
        let advanced = match advance_in_time(state, &flow.session, input, delayed).await {
            Ok(advanced) => advanced,
            Err(FlowError::Rejected(refused)) if applied => {
                rejected = Some(refused);
                break;
            }
            Err(error) => return Err(error),
        };
        applied = true;
        if let Some(change) = effect_change(state, &flow, &advanced.effect).await? {
            flow.chain = flow.chain.into_changed(&change);
            joined = Some(match joined {
                Some(earlier) => earlier.then(change),
                None => change,
            });
        }
        flow.session = advanced.session;
        if flow.session.step.is_final() {
            flow.session.redirect_url = Some(redirect::final_url(&flow.merchant, &flow.chain));
        }
        if stop(&flow.session) {
            break;
        }
    }
    Ok(applied.then_some(Run {
        session: flow.session,
        change: joined,
        rejected,
    }))
}

/// Advances the session by one input; when the bank takes its time (Demo Bank's `Sleep`
/// user, as a slow bank would), waits that long, once per request, and advances again at the
/// later time.
async fn advance_in_time(
    state: &AppState,
    session: &LightboxSession,
    input: &Input,
    delayed: &mut bool,
) -> Result<Advance, FlowError> {
    let advanced = advance(session, input.clone(), state.clock.now())?;
    if advanced.delay_seconds == 0 || *delayed {
        return Ok(advanced);
    }
    tokio::time::sleep(Duration::from_secs(u64::from(advanced.delay_seconds))).await;
    *delayed = true;
    Ok(advance(session, input.clone(), state.clock.now())?)
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
) -> Result<Option<Change>, ServiceError> {
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
