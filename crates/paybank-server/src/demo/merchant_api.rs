//! The shop's client of the merchant API: plain HTTP to `{public_url}/api/v1` with Basic
//! `accessId:accessKey`, exactly what a merchant's server sends.

use anyhow::Context;
use axum::http::StatusCode;
use paybank_core::model::Merchant;
use serde_json::Value;

use super::DemoError;
use crate::app::AppState;

/// The merchant API as the demo merchant calls it.
pub(super) struct MerchantApi<'a> {
    /// The server's outbound client: it has a timeout and does not follow redirects.
    http: &'a reqwest::Client,
    base_url: String,
    merchant: &'a Merchant,
}

impl<'a> MerchantApi<'a> {
    pub(super) fn new(state: &'a AppState, merchant: &'a Merchant) -> MerchantApi<'a> {
        MerchantApi {
            http: &state.http,
            base_url: format!("{}/api/v1", state.public_url),
            merchant,
        }
    }

    /// `GET /transactions/{id}`: the transaction object.
    pub(super) async fn transaction(&self, id: &str) -> Result<Value, DemoError> {
        let url = format!("{}/transactions/{id}", self.base_url);
        self.send(self.http.get(url)).await
    }

    /// `GET /transactions?originalTransactionId={id}&transactionType=3`: an authorization's
    /// latest captures, oldest first.
    pub(super) async fn captures_of(
        &self,
        id: &str,
        count: usize,
    ) -> Result<Vec<Value>, DemoError> {
        let url = format!(
            "{}/transactions?originalTransactionId={id}&transactionType=3&count={count}",
            self.base_url
        );
        let listed = self.send_json(self.http.get(url)).await?;
        let mut captures = listed["transactions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        captures.reverse();
        Ok(captures)
    }

    /// `POST /transactions/{id}/capture`, form-encoded as merchants send it; the split token
    /// is percent-encoded because it contains `+`, `/` and `=`.
    pub(super) async fn capture(
        &self,
        id: &str,
        merchant_reference: &str,
        amount: &str,
        split_token: Option<&str>,
    ) -> Result<Value, DemoError> {
        let mut fields = vec![
            ("merchantReference", merchant_reference),
            ("amount", amount),
        ];
        if let Some(split_token) = split_token {
            fields.push(("splitToken", split_token));
        }
        self.post_form(&format!("/transactions/{id}/capture"), &fields)
            .await
    }

    /// `POST /transactions/{id}/refund` against a completed capture.
    pub(super) async fn refund(&self, capture_id: &str, amount: &str) -> Result<Value, DemoError> {
        let path = format!("/transactions/{capture_id}/refund");
        self.post_form(&path, &[("amount", amount)]).await
    }

    async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Result<Value, DemoError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().copied())
            .finish();
        let request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(body);
        self.send(request).await
    }

    /// Sends a call and reads `{"transaction": …}`, or the error envelope as [`DemoError::Api`].
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, DemoError> {
        let answer = self.send_json(request).await?;
        match answer.get("transaction") {
            Some(transaction) if transaction.is_object() => Ok(transaction.clone()),
            _ => Err(anyhow::anyhow!("the merchant API's answer has no transaction").into()),
        }
    }

    /// Sends a call and reads its JSON answer, or the error envelope as [`DemoError::Api`].
    async fn send_json(&self, request: reqwest::RequestBuilder) -> Result<Value, DemoError> {
        let merchant = self.merchant;
        let response = request
            .basic_auth(&merchant.access_id, Some(&merchant.access_key))
            .send()
            .await
            .context("calling the merchant API")?;
        let status = response.status();
        let text = response
            .text()
            .await
            .context("reading the merchant API's answer")?;
        let answer: Value =
            serde_json::from_str(&text).context("the merchant API did not answer JSON")?;
        if !status.is_success() {
            return Err(api_error(status, &answer));
        }
        Ok(answer)
    }
}

/// The first error of the provider's envelope `{"errors":[{code, message, …}]}`.
fn api_error(status: StatusCode, answer: &Value) -> DemoError {
    let error = &answer["errors"][0];
    DemoError::Api {
        status,
        code: error["code"].as_u64().unwrap_or_default(),
        message: error["message"]
            .as_str()
            .unwrap_or("the request was refused")
            .to_owned(),
    }
}
