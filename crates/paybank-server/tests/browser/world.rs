//! What a browser test runs against: a paybank server, a merchant, and the merchant's website
//! on another origin (one of the merchant's allowed origins).

use paybank_core::model::Merchant;
use paybank_server::merchants::{create_merchant, NewMerchant};
use paybank_server::Config;
use serde_json::json;

use crate::client::{sign_establish, text, Body};
use crate::helpers::{unique_suffix, TestApp};
use crate::site::Site;

pub struct World {
    pub app: TestApp,
    pub site: Site,
    pub merchant: Merchant,
}

impl World {
    pub async fn new() -> World {
        World::with(|_| {}).await
    }

    pub async fn with(configure: impl FnOnce(&mut Config)) -> World {
        let app = TestApp::spawn_with(configure).await;
        let site = Site::spawn(&app.url).await;
        let new = NewMerchant {
            name: "Browser Shop".to_owned(),
            notification_url: Some(app.receiver.notify_url()),
            allowed_origins: vec![site.url.clone(), app.receiver.url.clone()],
            split_token_enabled: true,
            payouts_from_settled_only: false,
        };
        let merchant = create_merchant(&app.state, new)
            .await
            .expect("create merchant");
        app.receiver
            .trust(&merchant.access_id, &merchant.access_key);
        site.sell_for(merchant.clone());
        World {
            app,
            site,
            merchant,
        }
    }

    /// Establishes through the API, returning to the site; gives the Lightbox URL to open
    /// as a plain page and the transaction id.
    pub async fn lightbox_url(&self) -> (String, String) {
        self.lightbox_url_with(json!({})).await
    }

    /// Like [`World::lightbox_url`], with this `metadata` in the establish data.
    pub async fn lightbox_url_with(&self, metadata: serde_json::Value) -> (String, String) {
        let reference = format!("page-{}", unique_suffix());
        let mut data = self.app.establish_data(&self.merchant, &reference, "12.34");
        data["metadata"] = metadata;
        data["returnUrl"] = json!(format!("{}/return", self.site.url));
        data["cancelUrl"] = json!(format!("{}/cancel", self.site.url));
        sign_establish(&mut data, &self.merchant.access_key);
        let reply = self
            .app
            .post_establish(&self.merchant, Body::Json(data))
            .await
            .ok()
            .json;
        (
            text(&reply["url"]),
            text(&reply["transaction"]["transactionId"]),
        )
    }

    /// The authorization's status code as the API reports it.
    pub async fn status(&self, transaction_id: &str) -> String {
        let transaction = self.app.transaction(&self.merchant, transaction_id).await;
        text(&transaction["status"])
    }
}
