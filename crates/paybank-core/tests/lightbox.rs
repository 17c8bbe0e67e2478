//! The Lightbox state machine: each step and input, back and cancel, Demo Bank's keyphrases,
//! expiry, and how an authorized account becomes the payment's grant.

mod support;

use paybank_core::codes::TransactionStatus;
use paybank_core::demo_bank::{account_token, Behaviour, SLEEP_SECONDS_MAX};
use paybank_core::lightbox::{
    advance, grant, session_accounts, Advance, Effect, Input, InputRejected, LightboxError, Step,
};
use support::journey::*;
use support::*;

// The ordinary journey: choosing a bank starts the payment, login and account choice move
// through the pages, and confirming authorizes the chosen account.
#[test]
fn the_happy_path_walks_from_bank_to_confirmation() {
    let inputs = [
        select("demo bank"),
        login("jane", "secret"),
        Input::SelectAccount { index: 1 },
        Input::Confirm,
    ];
    let mut session = fresh_session();
    let expected_steps = [
        Step::Login,
        Step::SelectAccount,
        Step::Confirm,
        Step::Finished,
    ];
    for (input, expected_step) in inputs.into_iter().zip(expected_steps) {
        let Advance {
            session: next,
            effect,
            delay_seconds,
        } = advance(&session, input, NOW).expect("accepted");
        assert_eq!(
            (next.step, next.error, delay_seconds),
            (expected_step, None, 0)
        );
        assert_eq!(next.updated_at, NOW);
        match expected_step {
            Step::Login => assert_eq!(
                effect,
                Effect::Started {
                    bank_name: "Demo Bank"
                }
            ),
            Step::Finished => assert!(matches!(effect, Effect::Authorized(_))),
            _ => assert_eq!(effect, Effect::None),
        }
        session = next;
    }
    assert_eq!(session.bank_id.as_deref(), Some("200005501"));
    assert_eq!(session.username.as_deref(), Some("jane"));
    assert_eq!(session.account_index, Some(1));
}

// Each page takes only its own inputs: anything else is WrongStep and leaves the session alone;
// Back and Cancel work everywhere until the session is final.
#[test]
fn each_step_accepts_only_its_own_inputs() {
    let inputs = [
        select("200005501"),
        login("jane", "secret"),
        mfa("123456"),
        Input::SelectAccount { index: 0 },
        Input::Confirm,
    ];
    let accepted: [(Step, &[usize]); 5] = [
        (Step::SelectBank, &[0]),
        (Step::Login, &[0, 1]),
        (Step::Mfa, &[2]),
        (Step::SelectAccount, &[3]),
        (Step::Confirm, &[4]),
    ];
    for (step, allowed) in accepted {
        let session = at_step(step);
        for (index, input) in inputs.iter().enumerate() {
            let result = advance(&session, input.clone(), NOW);
            match allowed.contains(&index) {
                true => assert!(result.is_ok(), "{input:?} on {step:?}"),
                false => assert_eq!(
                    result,
                    Err(InputRejected::WrongStep),
                    "{input:?} on {step:?}"
                ),
            }
        }
        for input in [Input::Back, Input::Cancel] {
            assert!(advance(&session, input, NOW).is_ok(), "{step:?}");
        }
    }
}

// A bank that does not exist is refused, on the bank page and on the login page alike.
#[test]
fn an_unknown_bank_is_rejected() {
    for step in [Step::SelectBank, Step::Login] {
        let result = advance(&at_step(step), select("999999999"), NOW);
        assert_eq!(result, Err(InputRejected::UnknownBank), "{step:?}");
    }
}

// A finished, canceled or expired session takes no more input, not even Back or Cancel.
#[test]
fn a_final_session_rejects_every_input() {
    let (finished, _) = drive([
        select("200005501"),
        login("jane", "secret"),
        Input::SelectAccount { index: 0 },
        Input::Confirm,
    ]);
    let (canceled, _) = drive([Input::Cancel]);
    let (expired, _) = drive([select("200005501"), login("jane", "SessionTimeout")]);
    for session in [finished, canceled, expired] {
        assert!(session.step.is_final());
        for input in [
            select("200005501"),
            Input::Confirm,
            Input::Back,
            Input::Cancel,
        ] {
            let result = advance(&session, input, NOW + 2 * SESSION_TTL_MS);
            assert_eq!(
                result,
                Err(InputRejected::SessionFinished),
                "{:?}",
                session.step
            );
        }
    }
}

// Back goes from Confirm to the account list and from every other page to the bank list,
// forgetting the bank and login; it also clears a shown error.
#[test]
fn back_returns_to_the_previous_page() {
    let cases = [
        (vec![], Step::SelectBank),
        (vec![select("200005501")], Step::SelectBank),
        (
            vec![select("200005501"), login("jane", "LoginError")],
            Step::SelectBank,
        ),
        (
            vec![select("200005501"), login("jane", "2fa")],
            Step::SelectBank,
        ),
        (
            vec![select("200005501"), login("jane", "secret")],
            Step::SelectBank,
        ),
        (
            vec![
                select("200005501"),
                login("jane", "secret"),
                Input::SelectAccount { index: 1 },
            ],
            Step::SelectAccount,
        ),
    ];
    for (inputs, expected) in cases {
        let (session, _) = drive(inputs);
        let from = session.step;
        let back = advance(&session, Input::Back, NOW).expect("Back is always accepted");
        assert_eq!(
            (back.session.step, back.effect),
            (expected, Effect::None),
            "{from:?}"
        );
        assert_eq!(back.session.error, None);
        match expected {
            Step::SelectBank => assert_eq!(
                (
                    back.session.bank_id,
                    back.session.username,
                    back.session.behaviour
                ),
                (None, None, None)
            ),
            _ => assert_eq!(back.session.account_index, Some(1)),
        }
    }
}

// Canceling reports the page the consumer left from: UC01 bank list, UC02 login, UC03 failed
// login, UC06 MFA, UC08 accounts and confirmation, UC09 any bank error page.
#[test]
fn cancel_reports_the_page_it_came_from() {
    let bank = || select("200005501");
    let cases = [
        (vec![], "UC01"),
        (vec![bank()], "UC02"),
        (vec![bank(), login("jane", "LoginError")], "UC03"),
        (vec![bank(), login("jane", "WrongCredentials")], "UC03"),
        (vec![bank(), login("jane", "AccountLocked")], "UC09"),
        (vec![bank(), login("jane", "NoEligibleAccounts")], "UC09"),
        (vec![bank(), login("jane", "Unavailable")], "UC09"),
        (vec![bank(), login("jane", "2FA")], "UC06"),
        (vec![bank(), login("jane", "2FA"), mfa("error")], "UC06"),
        (vec![bank(), login("jane", "secret")], "UC08"),
        (
            vec![
                bank(),
                login("jane", "secret"),
                Input::SelectAccount { index: 9 },
            ],
            "UC08",
        ),
        (
            vec![
                bank(),
                login("jane", "secret"),
                Input::SelectAccount { index: 0 },
            ],
            "UC08",
        ),
    ];
    for (inputs, code) in cases {
        let (session, _) = drive(inputs);
        let from = (session.step, session.error);
        let canceled = advance(&session, Input::Cancel, NOW).expect("Cancel is always accepted");
        assert_eq!(canceled.session.step, Step::Canceled, "{from:?}");
        let expected = Effect::Canceled {
            user_cancel_code: code,
        };
        assert_eq!(canceled.effect, expected, "{from:?}");
    }
}

// The login keyphrases of contract §7 keep the consumer on the login page with their error,
// except SessionTimeout, which expires the session.
#[test]
fn login_keyphrases_show_their_error_or_expire_the_session() {
    use LightboxError::*;
    let cases = [
        ("LoginError", WrongCredentials),
        ("WrongCredentials", WrongCredentials),
        ("wrongcredentials", WrongCredentials),
        ("AccountLocked", AccountLocked),
        ("NoEligibleAccounts", NoEligibleAccounts),
        ("Unavailable", BankUnavailable),
        ("ConnectError", ConnectionFailed),
        ("connectionerror", ConnectionFailed),
        ("BlockedIpError", IpBlocked),
        ("BankAction", BankActionRequired),
        ("NotSupported", NotSupported),
        ("ab", WrongCredentials),
    ];
    for (password, error) in cases {
        let (session, effects) = drive([select("200005501"), login("jane", password)]);
        assert_eq!(
            (session.step, session.error),
            (Step::Login, Some(error)),
            "{password}"
        );
        assert_eq!(
            (session.behaviour, effects.last()),
            (None, Some(&Effect::None)),
            "{password}"
        );
    }
    let (timed_out, effects) = drive([select("200005501"), login("jane", "SessionTimeout")]);
    assert_eq!(
        (timed_out.step, effects.last()),
        (Step::Expired, Some(&Effect::Expired))
    );
}

// The other keyphrases log in: 2FA asks for a code, and the data phrases list the accounts with
// the balances they ask for and remember what the bank will do later.
#[test]
fn data_keyphrases_set_the_behaviour_and_the_balances() {
    let defaults: &[i64] = &[1_000_000, 2_500_000];
    let cases: [(&str, Step, Behaviour, &[i64]); 6] = [
        ("2FA", Step::Mfa, Behaviour::TwoFactor, defaults),
        (
            "NotEnoughFunds",
            Step::SelectAccount,
            Behaviour::NotEnoughFunds,
            &[0],
        ),
        (
            "Balance1000",
            Step::SelectAccount,
            Behaviour::Balance(cents(100_000)),
            &[100_000, 100_000],
        ),
        (
            "ExpiredSplitToken",
            Step::SelectAccount,
            Behaviour::ExpiredSplitToken,
            defaults,
        ),
        (
            "extendedreasoncode_10000",
            Step::SelectAccount,
            Behaviour::DeclineNextCapture("10000".into()),
            defaults,
        ),
        ("secret", Step::SelectAccount, Behaviour::Default, defaults),
    ];
    for (password, step, behaviour, balances) in cases {
        let (session, effects) = drive([select("200005501"), login("jane", password)]);
        assert_eq!((session.step, session.error), (step, None), "{password}");
        assert_eq!(session.behaviour, Some(behaviour), "{password}");
        assert_eq!(effects.last(), Some(&Effect::None), "{password}");
        let listed = session_accounts(&session);
        let shown: Vec<i64> = listed
            .iter()
            .map(|account| account.balance.minor())
            .collect();
        assert_eq!(shown, balances, "{password}");
    }
}

// The MFA page refuses "error" (and an empty answer) and stays put; a good answer moves on, and
// the login's behaviour carries through to the authorization.
#[test]
fn two_factor_fails_on_error_then_passes_with_a_good_answer() {
    let (session, _) = drive([select("200005501"), login("jane", "2FA")]);
    let mut session = session;
    for answer in ["error", " ERROR ", ""] {
        let next = advance(&session, mfa(answer), NOW).expect("an answer is accepted");
        assert_eq!(
            (next.session.step, next.session.error),
            (Step::Mfa, Some(LightboxError::MfaFailed)),
            "{answer:?}"
        );
        session = next.session;
    }
    let passed = advance(&session, mfa("123456"), NOW).expect("a good answer");
    assert_eq!(
        (passed.session.step, passed.session.error),
        (Step::SelectAccount, None)
    );
    let chosen =
        advance(&passed.session, Input::SelectAccount { index: 0 }, NOW).expect("an account");
    let done = advance(&chosen.session, Input::Confirm, NOW).expect("confirmed");
    let Effect::Authorized(authorized) = done.effect else {
        panic!("an authorization")
    };
    assert_eq!(authorized.behaviour, Behaviour::TwoFactor);
}

// Choosing an account that is not listed shows an error and stays on the list.
#[test]
fn an_unlisted_account_index_shows_an_error() {
    let (session, _) = drive([select("200005501"), login("jane", "NotEnoughFunds")]);
    let next = advance(&session, Input::SelectAccount { index: 1 }, NOW).expect("accepted");
    assert_eq!(
        (next.session.step, next.session.error),
        (Step::SelectAccount, Some(LightboxError::UnknownAccount))
    );
    let good = advance(&next.session, Input::SelectAccount { index: 0 }, NOW).expect("accepted");
    assert_eq!(
        (good.session.step, good.session.error),
        (Step::Confirm, None)
    );
}

// The Sleep user stalls the bank for the password's seconds, at most SLEEP_SECONDS_MAX.
#[test]
fn the_sleep_user_delays_the_login() {
    for (password, delay) in [("5", 5), ("30", 30), ("999", SLEEP_SECONDS_MAX)] {
        let session = at_step(Step::Login);
        let next = advance(&session, login("Sleep", password), NOW).expect("accepted");
        assert_eq!(
            (next.session.step, next.delay_seconds),
            (Step::SelectAccount, delay)
        );
    }
}

// Once the session's time is up, any input — valid, invalid, Back or Cancel — expires it.
#[test]
fn expiry_wins_over_any_input_once_the_time_is_up() {
    let inputs = [
        select("200005501"),
        select("999999999"),
        login("jane", "secret"),
        mfa("123456"),
        Input::SelectAccount { index: 0 },
        Input::Confirm,
        Input::Back,
        Input::Cancel,
    ];
    for step in [
        Step::SelectBank,
        Step::Login,
        Step::Mfa,
        Step::SelectAccount,
        Step::Confirm,
    ] {
        let session = at_step(step);
        for input in &inputs {
            let before = advance(&session, input.clone(), session.expires_at - 1);
            assert_ne!(
                before.map(|next| next.effect),
                Ok(Effect::Expired),
                "{input:?} on {step:?}"
            );
            for now in [session.expires_at, session.expires_at + DAY_MS] {
                let late = advance(&session, input.clone(), now)
                    .expect("a late input expires the session");
                assert_eq!(
                    (late.session.step, late.effect, late.delay_seconds),
                    (Step::Expired, Effect::Expired, 0)
                );
                assert_eq!(late.session.updated_at, now);
            }
        }
    }
}

// The grant carries the chosen account as the payment records it: the bank, the account, the
// holder, a token stable per account, the balance, and the keyphrase's sandbox effects.
#[test]
fn grant_maps_the_authorized_account_onto_the_payment() {
    let authorized = authorize("jane", "Balance1000", 1);
    let granted = grant(&authorized, Some(SPLIT_TOKEN.to_owned()));
    let account = &granted.account;
    assert_eq!(
        (account.bank_id.as_str(), account.bank_name.as_str()),
        ("200005501", "Demo Bank")
    );
    assert_eq!(
        (account.account_name.as_str(), account.account_type),
        ("Demo Savings", 2)
    );
    assert_eq!(
        (
            account.routing_number.as_str(),
            account.name_on_account.as_str()
        ),
        ("310000004", "John Smith")
    );
    assert_eq!(account.account_number, authorized.account.account_number);
    assert_eq!(
        account.token,
        account_token("310000004", &account.account_number)
    );
    assert_eq!(account.available, cents(100_000));
    assert_eq!(granted.split_token.as_deref(), Some(SPLIT_TOKEN));
    assert_eq!(
        (
            granted.split_token_expired,
            granted.decline_next_capture.clone()
        ),
        (false, None)
    );
    let again = grant(&authorize("JANE", "secret", 1), None);
    assert_eq!(
        again.account.token, account.token,
        "the same account gives the same token"
    );
    assert_eq!(again.split_token, None);
    let checking = grant(&authorize("jane", "secret", 0), None);
    assert_ne!(checking.account.token, account.token);
    assert_ne!(
        grant(&authorize("john", "secret", 1), None).account.token,
        account.token
    );
    let expired = grant(
        &authorize("jane", "ExpiredSplitToken", 0),
        Some(SPLIT_TOKEN.to_owned()),
    );
    assert!(expired.split_token_expired);
    let declining = grant(&authorize("jane", "extendedreasoncode_10000", 0), None);
    assert_eq!(declining.decline_next_capture.as_deref(), Some("10000"));
    assert_eq!(
        grant(&authorize("jane", "NotEnoughFunds", 0), None)
            .account
            .available,
        cents(0)
    );
}

// A Lightbox grant drives the payment as the keyphrase promises: ExpiredSplitToken fails the
// capture with 326 and cannot be refreshed, and extendedreasoncode declines one capture with
// 390. (NotEnoughFunds opens an empty account at the bank, whose R01 return the server's rail
// tests cover.)
#[test]
fn keyphrase_grants_drive_the_payment_as_documented() {
    let expired = grant(
        &authorize("jane", "ExpiredSplitToken", 0),
        Some(SPLIT_TOKEN.to_owned()),
    );
    let mut bench = Bench::authorized_with(cents(10_000), expired);
    let failed = bench.capture(None).expect("a Failed capture");
    assert_eq!(
        (failed.status, failed.error_code),
        (TransactionStatus::Failed, Some(326))
    );
    let chain = bench.chain();
    let refreshed =
        paybank_core::authorization::refresh(&mut bench.world.ctx(), &chain, Some(SPLIT_TOKEN));
    assert_eq!(refreshed.map(|(_, success)| success), Ok(false));

    let declining = grant(
        &authorize("jane", "extendedreasoncode_10000", 0),
        Some(SPLIT_TOKEN.to_owned()),
    );
    let mut bench = Bench::authorized_with(cents(10_000), declining);
    let first = bench.capture(Some(cents(1_000))).expect("a Failed capture");
    assert_eq!(
        (first.status, first.error_code),
        (TransactionStatus::Failed, Some(390))
    );
    let second = bench.capture(Some(cents(1_000))).expect("a capture");
    assert_eq!(second.status, TransactionStatus::Authorized);
}
