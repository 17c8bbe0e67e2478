//! Fills a scenario's database before its server starts: a merchant without split tokens and
//! authorized payments to read and capture, committed in-process through paybank's own rules
//! and store (many at once, so group commit packs them).

use std::path::Path;
use std::sync::Arc;

use paybank_core::authorization::{establish_authorized, AuthorizationGrant, EstablishRequest};
use paybank_core::codes::PaymentType;
use paybank_core::manual_entry::{bank_account, AccountDetails};
use paybank_core::model::Merchant;
use paybank_core::money::Amount;
use paybank_core::rules::Ctx;
use paybank_server::ids::IDS_PER_COMMAND;
use paybank_server::merchants::{create_merchant, NewMerchant};
use paybank_server::{AppState, Config};
use paybank_store::WriteSet;
use tokio::task::JoinSet;

/// Commits in flight at once while seeding.
const SEED_CONCURRENCY: usize = 256;

/// The seeded merchant and the ids of its authorizations.
pub struct Seeded {
    pub merchant: Merchant,
    pub authorizations: Vec<String>,
}

/// The configuration a scenario's server and seeder share.
pub fn config(data_dir: &Path, database_url: &str) -> Config {
    let mut config = Config::defaults();
    config.server.data_dir = data_dir.to_owned();
    config.server.database_url = database_url.to_owned();
    config.demo.enabled = false;
    config
}

/// Events each seeded payment queues for its merchant: Establish and Authorize.
pub const EVENTS_PER_SEEDED_PAYMENT: usize = 2;

/// Creates the merchant and `count` authorized Deferred payments of $1,000,000 each.
pub async fn seed(config: Config, count: usize) -> anyhow::Result<Seeded> {
    seed_for(config, count, None).await
}

/// As [`seed`], for a merchant whose event notifications go to `notification_url`: each
/// payment's events are then queued for delivery there once a server with workers runs.
pub async fn seed_for(
    config: Config,
    count: usize,
    notification_url: Option<String>,
) -> anyhow::Result<Seeded> {
    std::fs::create_dir_all(&config.server.data_dir)?;
    let store = paybank_server::open_store(&config.database_url(), &config).await?;
    let state = Arc::new(AppState::new(config, store).await?);
    let merchant = create_merchant(
        &state,
        NewMerchant {
            name: "Bench Shop".to_owned(),
            notification_url,
            allowed_origins: vec!["http://127.0.0.1".to_owned()],
            split_token_enabled: false,
            payouts_from_settled_only: false,
        },
    )
    .await?;
    let mut tasks = JoinSet::new();
    let mut authorizations = Vec::with_capacity(count);
    for n in 0..count {
        if tasks.len() >= SEED_CONCURRENCY {
            authorizations.push(next(&mut tasks).await?);
        }
        let (state, merchant) = (state.clone(), merchant.clone());
        tasks.spawn(async move { authorized_payment(&state, &merchant, n).await });
    }
    while !tasks.is_empty() {
        authorizations.push(next(&mut tasks).await?);
    }
    Ok(Seeded {
        merchant,
        authorizations,
    })
}

async fn next(tasks: &mut JoinSet<anyhow::Result<String>>) -> anyhow::Result<String> {
    tasks.join_next().await.expect("a task is running")?
}

/// One authorized payment on a Deferred authorization, as a Lightbox login would leave it.
async fn authorized_payment(
    state: &AppState,
    merchant: &Merchant,
    n: usize,
) -> anyhow::Result<String> {
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
    let request = EstablishRequest {
        payment_type: PaymentType::Deferred,
        merchant_reference: format!("bench-{n}"),
        currency: "USD".to_owned(),
        amount: Amount::from_minor(100_000_000),
        description: None,
        return_url: "http://127.0.0.1/return".to_owned(),
        cancel_url: "http://127.0.0.1/cancel".to_owned(),
        notification_url: None,
        establish_json: "{}".to_owned(),
        ip: "127.0.0.1".to_owned(),
    };
    let account = bank_account(&AccountDetails {
        routing_number: "310000004".to_owned(),
        account_number: format!("{:010}", 1_000_000 + n),
        account_type: 1,
        name_on_account: "Bench Consumer".to_owned(),
    });
    let grant = AuthorizationGrant {
        account: paybank_core::model::BankAccount {
            available: Amount::from_minor(100_000_000),
            ..account
        },
        split_token: None,
        split_token_expired: false,
        decline_next_capture: None,
    };
    let change = establish_authorized(&mut ctx, request, grant)
        .map_err(|error| anyhow::anyhow!("seeding: {error}"))?;
    let id = change.payment.authorization_id.to_string();
    state
        .commit(WriteSet {
            change: Some(change.into()),
            ..WriteSet::default()
        })
        .await?;
    Ok(id)
}
