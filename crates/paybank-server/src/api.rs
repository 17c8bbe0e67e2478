//! The merchant REST API under `/api/v1`, with the provider's paths, envelopes and codes.

pub mod accounts;
pub mod body;
pub mod error;
pub mod events;
pub mod forcing;
pub mod rails;
pub mod sandbox;
pub mod settlement_report;
pub mod transactions;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use paybank_core::model::Merchant;
use paybank_core::signature::parse_basic_authorization;

use crate::app::AppState;
use crate::config::Config;
use error::{ApiError, CODE_NOT_FOUND};

/// The API's routes, each under its whole path. They are not nested under `/api/v1`: a nested
/// route strips the prefix from every request's URI, which rebuilds the URI and adds a layer of
/// boxed services per request.
pub fn routes(config: &Config) -> Router<AppState> {
    let api = Router::new()
        .route("/api/v1/establish", post(transactions::create_establish))
        .route("/api/v1/accounts/verify", post(accounts::verify))
        .route("/api/v1/accounts/tokenize", post(accounts::tokenize))
        .route("/api/v1/transactions", get(transactions::list_transactions))
        .route(
            "/api/v1/transactions/{transaction_id}",
            get(transactions::get_transaction),
        )
        .route(
            "/api/v1/transactions/{transaction_id}/capture",
            post(transactions::capture_transaction),
        )
        .route(
            "/api/v1/transactions/{transaction_id}/capture/preAuth",
            post(transactions::preauthorize_transaction),
        )
        .route(
            "/api/v1/transactions/{transaction_id}/deposit",
            post(transactions::deposit_transaction),
        )
        .route(
            "/api/v1/transactions/{transaction_id}/refund",
            post(transactions::refund_transaction),
        )
        .route(
            "/api/v1/transactions/{transaction_id}/cancel",
            post(transactions::cancel_transaction),
        )
        .route(
            "/api/v1/transactions/{transaction_id}/refresh",
            post(transactions::refresh_transaction),
        )
        .route("/api/v1/paybank/events", get(events::list_events))
        .route("/api/v1/paybank/events/{event_id}", get(events::get_event))
        .route(
            "/api/v1/paybank/events/{event_id}/resend",
            post(events::resend_event),
        )
        .merge(rails::paybank_routes());
    match config.sandbox.enabled {
        true => api.merge(sandbox::routes()).merge(rails::sandbox_routes()),
        false => api,
    }
}

/// Unknown paths answer in the API's error envelope.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        CODE_NOT_FOUND,
        None,
        "No such endpoint",
    )
}

/// The merchant behind HTTP Basic `accessId:accessKey`.
pub struct AuthMerchant(pub Arc<Merchant>);

impl FromRequestParts<AppState> for AuthMerchant {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<AuthMerchant, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        let credentials = parse_basic_authorization(header).ok_or_else(ApiError::unauthorized)?;
        let merchant = state
            .store
            .merchant_by_access_id(credentials.access_id())
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        let access_key = credentials.secret();
        if !constant_time_equal(merchant.access_key.as_bytes(), access_key.as_bytes()) {
            return Err(ApiError::unauthorized());
        }
        Ok(AuthMerchant(merchant))
    }
}

fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The caller's IP address, recorded on transactions (`ip`).
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<ClientIp, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| ip_text(address.ip()))
            .unwrap_or_else(|| "127.0.0.1".to_owned());
        Ok(ClientIp(ip))
    }
}

/// An address as `Display` writes it; an IPv4 one (nearly every caller's) by its four numbers,
/// since `Display` through the formatting machinery took 1.3k of the 62k instructions a
/// capture costs the runtime's thread (BENCHMARKS.md, Instructions per request).
fn ip_text(ip: std::net::IpAddr) -> String {
    let std::net::IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    let mut digits = itoa::Buffer::new();
    for (index, octet) in v4.octets().into_iter().enumerate() {
        if index > 0 {
            text.push('.');
        }
        text.push_str(digits.format(octet));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    #[test]
    fn ip_text_writes_addresses_as_display_does() {
        let addresses = [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)),
            IpAddr::V4(Ipv4Addr::new(255, 10, 9, 100)),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V6("2001:db8::8a2e:370:7334".parse().expect("an address")),
        ];
        for ip in addresses {
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }
}
