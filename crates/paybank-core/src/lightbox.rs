//! The Lightbox state machine: one set of rules behind the hosted pages, the mobile endpoints
//! and the headless sandbox authorization, so the three can never disagree.

use crate::authorization::AuthorizationGrant;
use crate::demo_bank::{self, BankInfo, Behaviour, DemoAccount, LoginFailure};
use crate::ids::{PaymentId, TransactionId};
use crate::model::{BankAccount, TimestampMs};

/// Where the consumer is in the journey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    SelectBank,
    Login,
    Mfa,
    SelectAccount,
    Confirm,
    Finished,
    Canceled,
    Expired,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Self::SelectBank,
        Self::Login,
        Self::Mfa,
        Self::SelectAccount,
        Self::Confirm,
        Self::Finished,
        Self::Canceled,
        Self::Expired,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::SelectBank => "select_bank",
            Self::Login => "login",
            Self::Mfa => "mfa",
            Self::SelectAccount => "select_account",
            Self::Confirm => "confirm",
            Self::Finished => "finished",
            Self::Canceled => "canceled",
            Self::Expired => "expired",
        }
    }

    pub fn from_name(name: &str) -> Option<Step> {
        Self::ALL.into_iter().find(|step| step.name() == name)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Finished | Self::Canceled | Self::Expired)
    }
}

/// A consumer's Lightbox session. Holds no password: only what the login means to the bank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LightboxSession {
    /// Unguessable; the URL of the hosted pages carries it.
    pub session_id: String,
    pub payment_id: PaymentId,
    pub transaction_id: TransactionId,
    pub step: Step,
    pub bank_id: Option<String>,
    pub username: Option<String>,
    pub behaviour: Option<Behaviour>,
    pub account_index: Option<u8>,
    /// The error the current page shows, if the last input failed.
    pub error: Option<LightboxError>,
    pub csrf_token: String,
    pub expires_at: TimestampMs,
    /// Where the browser goes once the session is final.
    pub redirect_url: Option<String>,
    pub updated_at: TimestampMs,
}

/// What the consumer did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    SelectBank { bank_id: String },
    Login { username: String, password: String },
    Mfa { answer: String },
    SelectAccount { index: u8 },
    Confirm,
    Back,
    Cancel,
}

/// A failure the consumer sees on the page and can usually recover from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LightboxError {
    WrongCredentials,
    AccountLocked,
    NoEligibleAccounts,
    BankUnavailable,
    MfaFailed,
    UnknownAccount,
    ConnectionFailed,
    IpBlocked,
    BankActionRequired,
    NotSupported,
}

impl LightboxError {
    pub fn name(self) -> &'static str {
        match self {
            Self::WrongCredentials => "wrong_credentials",
            Self::AccountLocked => "account_locked",
            Self::NoEligibleAccounts => "no_eligible_accounts",
            Self::BankUnavailable => "bank_unavailable",
            Self::MfaFailed => "mfa_failed",
            Self::UnknownAccount => "unknown_account",
            Self::ConnectionFailed => "connection_failed",
            Self::IpBlocked => "ip_blocked",
            Self::BankActionRequired => "bank_action_required",
            Self::NotSupported => "not_supported",
        }
    }

    pub fn from_name(name: &str) -> Option<LightboxError> {
        [
            Self::WrongCredentials,
            Self::AccountLocked,
            Self::NoEligibleAccounts,
            Self::BankUnavailable,
            Self::MfaFailed,
            Self::UnknownAccount,
            Self::ConnectionFailed,
            Self::IpBlocked,
            Self::BankActionRequired,
            Self::NotSupported,
        ]
        .into_iter()
        .find(|error| error.name() == name)
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::WrongCredentials => "The username or password is incorrect. Please try again.",
            Self::AccountLocked => {
                "Your online banking is locked. Contact your bank, or choose another bank."
            }
            Self::NoEligibleAccounts => {
                "We found no eligible checking or savings account at this bank."
            }
            Self::BankUnavailable => {
                "Your bank cannot be reached right now. Try again later or choose another bank."
            }
            Self::MfaFailed => "That security code is incorrect. Please try again.",
            Self::UnknownAccount => "Choose one of the accounts listed.",
            Self::ConnectionFailed => {
                "We could not connect to your bank. Try again, or choose another bank."
            }
            Self::IpBlocked => {
                "Your bank blocked this connection. Try again later, or choose another bank."
            }
            Self::BankActionRequired => {
                "Your bank needs you to take an action on its website first. Log in there, then try again."
            }
            Self::NotSupported => "This bank or account type is not supported. Choose another bank.",
        }
    }

    /// Bank-side errors are shown on the bank error page (UC09); the others on the form.
    fn is_bank_error(self) -> bool {
        matches!(
            self,
            Self::AccountLocked
                | Self::NoEligibleAccounts
                | Self::BankUnavailable
                | Self::ConnectionFailed
                | Self::IpBlocked
                | Self::BankActionRequired
                | Self::NotSupported
        )
    }
}

/// What a step asks of the payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    /// A bank was chosen: the authorization becomes Pending.
    Started {
        bank_name: &'static str,
    },
    Authorized(AuthorizedAccount),
    Canceled {
        user_cancel_code: &'static str,
    },
    Expired,
}

/// The account the consumer authorized, with what the bank's keyphrase asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizedAccount {
    pub bank: &'static BankInfo,
    pub account: DemoAccount,
    pub behaviour: Behaviour,
}

/// An input that does not fit the session's state: a stale form or a crafted request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputRejected {
    #[error("the session is already finished")]
    SessionFinished,
    #[error("this action is not available on the current page")]
    WrongStep,
    #[error("unknown bank")]
    UnknownBank,
}

/// The session after an input, what it means for the payment, and how long the bank stalls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advance {
    pub session: LightboxSession,
    pub effect: Effect,
    pub delay_seconds: u32,
}

/// Applies one input. Expiry is checked first, so a late input expires the session instead.
pub fn advance(
    session: &LightboxSession,
    input: Input,
    now: TimestampMs,
) -> Result<Advance, InputRejected> {
    if session.step.is_final() {
        return Err(InputRejected::SessionFinished);
    }
    let mut next = session.clone();
    next.updated_at = now;
    if now >= session.expires_at {
        next.step = Step::Expired;
        return Ok(Advance {
            session: next,
            effect: Effect::Expired,
            delay_seconds: 0,
        });
    }
    next.error = None;
    let (effect, delay_seconds) = match input {
        Input::Cancel => {
            next.step = Step::Canceled;
            let user_cancel_code = user_cancel_code(session);
            (Effect::Canceled { user_cancel_code }, 0)
        }
        Input::Back => (go_back(&mut next), 0),
        other => apply_forward(&mut next, other)?,
    };
    Ok(Advance {
        session: next,
        effect,
        delay_seconds,
    })
}

fn apply_forward(next: &mut LightboxSession, input: Input) -> Result<(Effect, u32), InputRejected> {
    match (next.step, input) {
        (Step::SelectBank | Step::Login, Input::SelectBank { bank_id }) => {
            let bank = demo_bank::bank_by_id_or_name(&bank_id).ok_or(InputRejected::UnknownBank)?;
            next.bank_id = Some(bank.id.to_owned());
            next.step = Step::Login;
            Ok((
                Effect::Started {
                    bank_name: bank.name,
                },
                0,
            ))
        }
        (Step::Login, Input::Login { username, password }) => Ok(login(next, &username, &password)),
        (Step::Mfa, Input::Mfa { answer }) => {
            match answer.trim().eq_ignore_ascii_case("error") || answer.trim().is_empty() {
                true => next.error = Some(LightboxError::MfaFailed),
                false => next.step = Step::SelectAccount,
            }
            Ok((Effect::None, 0))
        }
        (Step::SelectAccount, Input::SelectAccount { index }) => {
            match usize::from(index) < session_accounts(next).len() {
                true => {
                    next.account_index = Some(index);
                    next.step = Step::Confirm;
                }
                false => next.error = Some(LightboxError::UnknownAccount),
            }
            Ok((Effect::None, 0))
        }
        (Step::Confirm, Input::Confirm) => authorize(next).map(|effect| (effect, 0)),
        _ => Err(InputRejected::WrongStep),
    }
}

fn login(next: &mut LightboxSession, username: &str, password: &str) -> (Effect, u32) {
    match demo_bank::evaluate_login(username, password) {
        Ok((behaviour, delay_seconds)) => {
            next.step = match behaviour {
                Behaviour::TwoFactor => Step::Mfa,
                _ => Step::SelectAccount,
            };
            next.username = Some(username.trim().to_owned());
            next.behaviour = Some(behaviour);
            (Effect::None, delay_seconds)
        }
        Err(LoginFailure::SessionTimeout) => {
            next.step = Step::Expired;
            (Effect::Expired, 0)
        }
        Err(failure) => {
            next.error = Some(match failure {
                LoginFailure::AccountLocked => LightboxError::AccountLocked,
                LoginFailure::NoEligibleAccounts => LightboxError::NoEligibleAccounts,
                LoginFailure::Unavailable => LightboxError::BankUnavailable,
                LoginFailure::ConnectionFailed => LightboxError::ConnectionFailed,
                LoginFailure::IpBlocked => LightboxError::IpBlocked,
                LoginFailure::BankActionRequired => LightboxError::BankActionRequired,
                LoginFailure::NotSupported => LightboxError::NotSupported,
                LoginFailure::WrongCredentials | LoginFailure::SessionTimeout => {
                    LightboxError::WrongCredentials
                }
            });
            (Effect::None, 0)
        }
    }
}

fn authorize(next: &mut LightboxSession) -> Result<Effect, InputRejected> {
    let bank = session_bank(next).ok_or(InputRejected::UnknownBank)?;
    let index = usize::from(next.account_index.ok_or(InputRejected::WrongStep)?);
    let account = session_accounts(next)
        .into_iter()
        .nth(index)
        .ok_or(InputRejected::WrongStep)?;
    let behaviour = next.behaviour.clone().ok_or(InputRejected::WrongStep)?;
    next.step = Step::Finished;
    Ok(Effect::Authorized(AuthorizedAccount {
        bank,
        account,
        behaviour,
    }))
}

fn go_back(next: &mut LightboxSession) -> Effect {
    next.step = match next.step {
        Step::Confirm => Step::SelectAccount,
        _ => Step::SelectBank,
    };
    if next.step == Step::SelectBank {
        next.bank_id = None;
        next.username = None;
        next.behaviour = None;
        next.account_index = None;
    }
    Effect::None
}

/// The provider's user-cancel code for the page the consumer left from.
fn user_cancel_code(session: &LightboxSession) -> &'static str {
    match (session.step, session.error) {
        (_, Some(error)) if error.is_bank_error() => "UC09",
        (Step::Login, Some(_)) => "UC03",
        (Step::Login, None) => "UC02",
        (Step::Mfa, _) => "UC06",
        (Step::SelectAccount | Step::Confirm, _) => "UC08",
        _ => "UC01",
    }
}

pub fn session_bank(session: &LightboxSession) -> Option<&'static BankInfo> {
    session.bank_id.as_deref().and_then(demo_bank::bank)
}

/// The accounts the logged-in user sees, re-derived from bank, username and behaviour.
pub fn session_accounts(session: &LightboxSession) -> Vec<DemoAccount> {
    match (session_bank(session), &session.username, &session.behaviour) {
        (Some(bank), Some(username), Some(behaviour)) => {
            demo_bank::accounts(bank, username, behaviour)
        }
        _ => Vec::new(),
    }
}

/// Turns an authorized account into what the payment records. `split_token` comes from the
/// server's random source when the merchant uses split tokens.
pub fn grant(authorized: &AuthorizedAccount, split_token: Option<String>) -> AuthorizationGrant {
    let account = &authorized.account;
    let routing_number = authorized.bank.routing_number;
    AuthorizationGrant {
        account: BankAccount {
            bank_id: authorized.bank.id.to_owned(),
            bank_name: authorized.bank.name.to_owned(),
            account_name: account.name.to_owned(),
            account_type: account.account_type,
            account_number: account.account_number.clone(),
            routing_number: routing_number.to_owned(),
            name_on_account: demo_bank::ACCOUNT_HOLDER_NAME.to_owned(),
            token: demo_bank::account_token(routing_number, &account.account_number),
            available: account.balance,
            manual_entry: false,
        },
        split_token,
        split_token_expired: authorized.behaviour == Behaviour::ExpiredSplitToken,
        decline_next_capture: match &authorized.behaviour {
            Behaviour::DeclineNextCapture(code) => Some(code.clone()),
            _ => None,
        },
    }
}
