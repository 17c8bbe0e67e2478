//! The payment rules one command at a time: authorization, capture, preauthorization, refund,
//! cancel, refresh and the settlement steps, checked against contract §3, §5 and §6.

#[path = "rules/capture.rs"]
mod capture_rules;
#[path = "rules/refund.rs"]
mod refund_rules;
#[path = "rules/settlement.rs"]
mod settlement_rules;
mod support;

use paybank_core::authorization::{self, AuthorizationGrant};
use paybank_core::change::{ReferenceClaim, Timer, TimerKind};
use paybank_core::codes::{PaymentType, TransactionStatus as S, TransactionType};
use paybank_core::ids::TransactionId;
use paybank_core::rules::RuleError;
use paybank_core::split_token::split_token_hash;
use support::*;

pub const TTL_MS: i64 = 90 * DAY_MS;

pub fn event_summary(change: &paybank_core::change::Change) -> Vec<(&str, TransactionId)> {
    let events = change.events.iter();
    events
        .map(|event| (event.event_type.as_str(), event.transaction_id))
        .collect()
}
// Establish writes a New authorization, one Establish event with the parameters in the order
// of the contract's example, and the timer that expires the Lightbox session.
#[test]
fn establish_creates_a_new_authorization_an_establish_event_and_a_session_timer() {
    let mut world = World::single();
    let request = establish_request(PaymentType::Deferred, cents(10_000), "order-1");
    let change = authorization::establish(&mut world.ctx(), request);
    assert_eq!(change.check(), Ok(()));
    assert_eq!(change.expected_version, None);
    let [txn] = change.transactions.as_slice() else {
        panic!("one transaction")
    };
    assert_eq!(
        (txn.transaction_type, txn.status),
        (TransactionType::Authorize, S::New)
    );
    assert_eq!(txn.transaction_id, change.payment.authorization_id);
    let [event] = change.events.as_slice() else {
        panic!("one event")
    };
    let (event_id, txn_id, now) = (
        event.event_id.to_string(),
        txn.transaction_id.to_string(),
        MONDAY_NOON.to_string(),
    );
    let expected = [
        ("merchantId", "1002463580"),
        ("merchantReference", "order-1"),
        ("paymentType", "2"),
        ("transactionType", "1"),
        ("eventId", event_id.as_str()),
        ("eventType", "Establish"),
        ("objectId", txn_id.as_str()),
        ("objectType", "Transaction"),
        ("message", ""),
        ("timeZone", "Etc/UTC"),
        ("createdAt", now.as_str()),
        ("accessId", "access-1002463580"),
        ("paymentProviderTransaction.status", "SW010"),
        ("paymentProviderTransaction.statusMessage", "Established"),
        ("status", "0"),
        ("statusMessage", "New"),
    ];
    let params: Vec<(&str, &str)> = event
        .params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect();
    assert_eq!(params, expected);
    assert_eq!(
        event.notification_url.as_deref(),
        Some("https://m1002463580.example/notify")
    );
    let session_timer = Timer::new(TimerKind::ExpireSession, txn, MONDAY_NOON + 30 * 60_000);
    assert_eq!(session_timer.timer_id, format!("expire-session:{txn_id}"));
    assert_eq!(change.timers, [session_timer]);
    assert!(change.postings.is_empty() && change.reference_claims.is_empty());
}

// Choosing a bank moves New to Pending with an Update naming the bank; choosing again is a no-op.
#[test]
fn starting_moves_new_to_pending_with_an_update_naming_the_bank() {
    let mut bench = Bench::establish(PaymentType::Deferred, cents(10_000));
    let chain = bench.chain();
    let change = authorization::start_authorization(&mut bench.world.ctx(), &chain, "Demo Bank");
    let change = change
        .expect("an open authorization")
        .expect("New moves on");
    let chain = bench.commit(&change);
    assert_eq!(chain.authorization().status, S::Pending);
    let [event] = change.events.as_slice() else {
        panic!("one event")
    };
    assert_eq!(event.event_type, "Update");
    assert_eq!(param(event, "fiName").as_deref(), Some("Demo Bank"));
    assert_eq!(param(event, "status").as_deref(), Some("1"));
    let again = authorization::start_authorization(&mut bench.world.ctx(), &chain, "Demo Bank");
    assert_eq!(again, Ok(None));
}

// Choosing a bank and authorizing, joined into one change with `then`, end where committing them
// in turn does: the same chain (the payment's version moved once), both events in order, the
// claim, the session timer retired; and the joined change is conditional on the version the
// first one read. A timer the first schedules and the second retires is not written.
#[test]
fn two_changes_joined_end_where_committing_them_in_turn_does() {
    let mut bench = Bench::establish(PaymentType::Deferred, cents(10_000));
    let chain = bench.chain();
    let started = authorization::start_authorization(&mut bench.world.ctx(), &chain, "Demo Bank")
        .expect("an open authorization")
        .expect("New moves on");
    let pending = chain.with_change(&started);
    let grant = grant(cents(1_000_000), Some(SPLIT_TOKEN));
    let completed = authorization::complete_authorization(&mut bench.world.ctx(), &pending, grant)
        .expect("a Pending authorization completes");
    let mut in_turn = pending.with_change(&completed);
    in_turn.payment.record_version = started.payment.record_version;
    let joined = started.clone().then(completed.clone());
    assert_eq!(joined.expected_version, started.expected_version);
    assert_eq!(chain.with_change(&joined), in_turn);
    let authorization_id = bench.authorization_id();
    assert_eq!(
        event_summary(&joined),
        [
            ("Update", authorization_id),
            ("Authorize", authorization_id)
        ]
    );
    assert_eq!(joined.reference_claims, completed.reference_claims);
    assert_eq!(joined.timers_done, completed.timers_done);

    let session_timer = Timer::new(TimerKind::ExpireSession, in_turn.authorization(), 0);
    let mut scheduling = started;
    scheduling.timers.push(session_timer.clone());
    let joined = scheduling.then(completed);
    assert!(!joined.timers.contains(&session_timer));
    assert!(joined.timers_done.contains(&session_timer.timer_id));
}

// Completing authorizes (2, SW020), claims the reference, retires the session timer, keeps only
// a hash of the split token, and hands the token out in the Authorize event and nowhere else.
#[test]
fn completing_authorizes_with_the_split_token_in_the_authorize_event_only() {
    let mut bench = Bench::establish(PaymentType::Deferred, cents(10_000));
    bench.world.now += 60_000;
    let change = bench.complete(grant(cents(50_000), Some(SPLIT_TOKEN)));
    let chain = bench.chain();
    let auth = chain.authorization();
    assert_eq!(
        (auth.status, auth.provider.status.as_str()),
        (S::Authorized, "SW020")
    );
    let [event] = change.events.as_slice() else {
        panic!("one event")
    };
    assert_eq!(event.event_type, "Authorize");
    assert_eq!(param(event, "splitToken").as_deref(), Some(SPLIT_TOKEN));
    assert_eq!(param(event, "fiName").as_deref(), Some("Demo Bank"));
    let claim = ReferenceClaim {
        merchant_id: auth.merchant_id,
        transaction_type: 1,
        merchant_reference: "order-1".to_owned(),
        transaction_id: auth.transaction_id,
    };
    assert_eq!(change.reference_claims, [claim]);
    assert_eq!(
        change.timers_done,
        [format!("expire-session:{}", auth.transaction_id)]
    );
    assert!(bench.store.timers.is_empty());
    let stored = chain.payment.split_token.clone().expect("a split token");
    assert_eq!(stored.hash_hex, split_token_hash(SPLIT_TOKEN));
    assert_eq!(
        (stored.expires_at, stored.refreshable),
        (bench.world.now + TTL_MS, true)
    );
    assert_eq!(
        chain.payment.account.map(|account| account.available),
        Some(cents(50_000))
    );
    bench.capture(Some(cents(1_000))).expect("a capture");
    let carrying: Vec<&str> = bench
        .store
        .events
        .iter()
        .filter(|event| param(event, "splitToken").is_some())
        .map(|event| event.event_type.as_str())
        .collect();
    assert_eq!(carrying, ["Authorize"]);
}

// Leaving the Lightbox cancels (7 with the page's UC code, Cancel) and running out of time
// expires (6, SW011, Expire), from New and from Pending alike; both retire the session timer.
#[test]
fn closing_an_open_authorization_cancels_or_expires_it() {
    let cases = [
        (false, Some("UC01"), S::Canceled, "UC01", "Cancel"),
        (true, Some("UC08"), S::Canceled, "UC08", "Cancel"),
        (false, None, S::Expired, "SW011", "Expire"),
        (true, None, S::Expired, "SW011", "Expire"),
    ];
    for (started, cancel_code, status, provider, event_type) in cases {
        let mut bench = Bench::establish(PaymentType::Deferred, cents(10_000));
        if started {
            let chain = bench.chain();
            let change =
                authorization::start_authorization(&mut bench.world.ctx(), &chain, "Demo Bank");
            bench.commit(&change.unwrap().unwrap());
        }
        let chain = bench.chain();
        let mut ctx = bench.world.ctx();
        let change = match cancel_code {
            Some(code) => authorization::cancel_authorization(&mut ctx, &chain, code),
            None => authorization::expire_authorization(&mut ctx, &chain),
        };
        let chain = bench.commit(&change.expect("an open authorization closes"));
        let auth = chain.authorization().clone();
        assert_eq!(
            (auth.status, auth.provider.status.as_str()),
            (status, provider)
        );
        assert_eq!(
            bench
                .store
                .events
                .last()
                .map(|event| event.event_type.as_str()),
            Some(event_type)
        );
        assert!(
            bench.store.timers.is_empty(),
            "{event_type}: session timer retired"
        );
        let late = authorization::complete_authorization(
            &mut bench.world.ctx(),
            &chain,
            grant(cents(1), None),
        );
        assert_eq!(late, Err(RuleError::WrongStatus(status.name())));
    }
}

// An abandoned Lightbox session expires through its timer once its time is up.
#[test]
fn the_session_timer_expires_an_abandoned_authorization() {
    let mut bench = Bench::establish(PaymentType::Deferred, cents(10_000));
    bench.advance(30 * 60_000 - 1);
    assert_eq!(bench.chain().authorization().status, S::New);
    bench.advance(1);
    assert_eq!(bench.chain().authorization().status, S::Expired);
    assert_eq!(
        bench
            .store
            .events
            .last()
            .map(|event| event.event_type.as_str()),
        Some("Expire")
    );
}

// Canceling an authorization closes it: Canceled (7) while open, Voided (13) once authorized,
// and refused once closed.
#[test]
fn canceling_an_authorization_cancels_or_voids_it() {
    let mut open = Bench::establish(PaymentType::Deferred, cents(10_000));
    open.cancel(open.authorization_id())
        .expect("cancel an open authorization");
    assert_eq!(open.chain().authorization().status, S::Canceled);
    assert!(open.store.timers.is_empty());
    let mut authorized = Bench::authorized(cents(10_000));
    let auth = authorized.authorization_id();
    authorized.cancel(auth).expect("void an authorization");
    assert_eq!(authorized.chain().authorization().status, S::Voided);
    assert_eq!(
        authorized.cancel(auth),
        Err(RuleError::WrongStatus("Voided"))
    );
}

// Refresh checks the token as a capture does: missing or wrong is an error, a valid or expired
// token is renewed (success=true), and an ExpiredSplitToken one cannot be (success=false).
#[test]
fn refresh_renews_refreshable_split_tokens() {
    use RuleError::*;
    // Token sent, time since authorization, born expired, and the refresh outcome.
    type Case = (Option<&'static str>, i64, bool, Result<bool, RuleError>);
    let cases: [Case; 6] = [
        (None, 0, false, Err(SplitTokenMissing)),
        (Some(""), 0, false, Err(SplitTokenMissing)),
        (Some("d3Jvbmc="), 0, false, Err(SplitTokenInvalid)),
        (Some(SPLIT_TOKEN), DAY_MS, false, Ok(true)),
        (Some(SPLIT_TOKEN), TTL_MS + DAY_MS, false, Ok(true)),
        (Some(SPLIT_TOKEN), 0, true, Ok(false)),
    ];
    for (token, later_ms, born_expired, expected) in cases {
        let grant = AuthorizationGrant {
            split_token_expired: born_expired,
            ..grant(cents(1_000_000), Some(SPLIT_TOKEN))
        };
        let mut bench = Bench::authorized_with(cents(10_000), grant);
        bench.world.now += later_ms;
        let chain = bench.chain();
        let result = authorization::refresh(&mut bench.world.ctx(), &chain, token);
        assert_eq!(
            result.as_ref().map(|(_, success)| *success),
            expected.as_ref().copied(),
            "{token:?} +{later_ms}"
        );
        let Ok((change, success)) = result else {
            continue;
        };
        bench.commit(&change);
        let [event] = change.events.as_slice() else {
            panic!("one event")
        };
        let refresh_params =
            ["hardRefresh", "refreshPurpose", "success"].map(|key| param(event, key));
        assert_eq!(
            refresh_params,
            [
                Some("false".into()),
                Some("SplitToken".into()),
                Some(success.to_string())
            ]
        );
        let stored = bench.chain().payment.split_token.expect("a split token");
        let (expires_at, capture_status) = match success {
            true => (bench.world.now + TTL_MS, S::Authorized),
            false => (MONDAY_NOON, S::Failed),
        };
        assert_eq!(stored.expires_at, expires_at);
        assert_eq!(
            bench.capture(None).map(|txn| txn.status),
            Ok(capture_status)
        );
    }
    let mut open = Bench::establish(PaymentType::Deferred, cents(10_000));
    let chain = open.chain();
    let refused = authorization::refresh(&mut open.world.ctx(), &chain, Some(SPLIT_TOKEN));
    assert_eq!(refused.map(|(_, success)| success), Err(WrongStatus("New")));
}
