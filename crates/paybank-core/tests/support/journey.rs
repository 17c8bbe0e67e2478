//! Lightbox journeys for the tests: a fresh session, the consumer's inputs, and helpers that
//! walk a session to a page or all the way to an authorized account.

use paybank_core::ids::{PaymentId, TransactionId};
use paybank_core::lightbox::{advance, AuthorizedAccount, Effect, Input, LightboxSession, Step};
use paybank_core::model::TimestampMs;

use super::MONDAY_NOON;

pub const NOW: TimestampMs = MONDAY_NOON;
pub const SESSION_TTL_MS: i64 = 30 * 60_000;

pub fn fresh_session() -> LightboxSession {
    LightboxSession {
        session_id: "c2Vzc2lvbg".to_owned(),
        payment_id: PaymentId(1_000_000_000_001),
        transaction_id: TransactionId(1_000_000_000_002),
        step: Step::SelectBank,
        bank_id: None,
        username: None,
        behaviour: None,
        account_index: None,
        error: None,
        csrf_token: "csrf".to_owned(),
        expires_at: NOW + SESSION_TTL_MS,
        redirect_url: None,
        updated_at: NOW,
    }
}

pub fn select(bank: &str) -> Input {
    Input::SelectBank {
        bank_id: bank.to_owned(),
    }
}

pub fn login(username: &str, password: &str) -> Input {
    Input::Login {
        username: username.to_owned(),
        password: password.to_owned(),
    }
}

pub fn mfa(answer: &str) -> Input {
    Input::Mfa {
        answer: answer.to_owned(),
    }
}

/// Applies inputs in order from a fresh session; each must be accepted.
pub fn drive(inputs: impl IntoIterator<Item = Input>) -> (LightboxSession, Vec<Effect>) {
    let mut session = fresh_session();
    let mut effects = Vec::new();
    for input in inputs {
        let described = format!("{input:?} on {:?}", session.step);
        let step = advance(&session, input, NOW + 1_000).expect(&described);
        session = step.session;
        effects.push(step.effect);
    }
    (session, effects)
}

/// A session at the given page, reached the ordinary way with a default login.
pub fn at_step(step: Step) -> LightboxSession {
    let path = [
        select("200005501"),
        login("jane", "2fa"),
        mfa("123456"),
        Input::SelectAccount { index: 0 },
    ];
    let taken = match step {
        Step::SelectBank => 0,
        Step::Login => 1,
        Step::Mfa => 2,
        Step::SelectAccount => 3,
        _ => 4,
    };
    let (session, _) = drive(path.into_iter().take(taken));
    assert_eq!(session.step, step);
    session
}

/// Logs in as `username` with `password` and confirms account `index`.
pub fn authorize(username: &str, password: &str, index: u8) -> AuthorizedAccount {
    let inputs = [
        select("Demo Bank"),
        login(username, password),
        Input::SelectAccount { index },
        Input::Confirm,
    ];
    let (session, effects) = drive(inputs);
    assert_eq!(session.step, Step::Finished);
    match effects.last() {
        Some(Effect::Authorized(authorized)) => authorized.clone(),
        other => panic!("expected an authorization, got {other:?}"),
    }
}
