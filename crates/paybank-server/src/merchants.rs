//! Merchant accounts: creation with fresh credentials (CLI and first-start seeding).

use paybank_core::ids::{IdSource, MerchantId};
use paybank_core::model::Merchant;
use paybank_store::{StoreError, WriteSet};

use crate::app::AppState;
use crate::origins::{is_http_url, origin_of};
use crate::random::random_alphanumeric;

/// What a new merchant is created with.
#[derive(Clone, Debug)]
pub struct NewMerchant {
    pub name: String,
    pub notification_url: Option<String>,
    pub allowed_origins: Vec<String>,
    pub split_token_enabled: bool,
    /// Refuse deposits and refunds the merchant's settled funds cannot cover.
    pub payouts_from_settled_only: bool,
}

/// Creates a merchant with a fresh merchantId, accessId and accessKey.
pub async fn create_merchant(state: &AppState, new: NewMerchant) -> anyhow::Result<Merchant> {
    if new.name.trim().is_empty() {
        anyhow::bail!("the merchant name must not be empty");
    }
    if let Some(url) = &new.notification_url {
        anyhow::ensure!(
            is_http_url(url),
            "notification URL {url:?} must be an http(s) URL"
        );
    }
    for origin in &new.allowed_origins {
        anyhow::ensure!(
            origin_of(origin).is_some(),
            "allowed origin {origin:?} must look like https://host[:port]"
        );
    }
    let mut ids = state.ids.reserve(state.store.as_ref(), 1).await?;
    let merchant = Merchant {
        merchant_id: MerchantId(ids.next_id()),
        name: new.name.trim().to_owned(),
        access_id: random_alphanumeric(20),
        access_key: random_alphanumeric(32),
        notification_url: new.notification_url,
        allowed_origins: new.allowed_origins,
        split_token_enabled: new.split_token_enabled,
        payouts_from_settled_only: new.payouts_from_settled_only,
        created_at: state.clock.now(),
    };
    let write = WriteSet {
        merchant: Some(merchant.clone()),
        ..WriteSet::default()
    };
    match state.store.commit(write).await {
        Ok(()) => Ok(merchant),
        Err(StoreError::Duplicate(what)) => {
            anyhow::bail!("a merchant with the same credentials exists: {what}")
        }
        Err(error) => Err(error.into()),
    }
}
