//! The signed redirects back to the merchant after the Lightbox (client-flows §3).

use paybank_core::model::{Merchant, PaymentChain};
use paybank_core::signature::{signed_redirect_url, HmacAlgorithm};

/// Where the browser goes once the consumer authorized.
pub fn return_url(merchant: &Merchant, chain: &PaymentChain) -> String {
    let authorization = chain.authorization();
    let transaction_id = authorization.transaction_id.to_string();
    let status = authorization.status.code().to_string();
    let payment_type = chain.payment.payment_type.code().to_string();
    let signed = [
        ("transactionId", transaction_id.as_str()),
        ("transactionType", "1"),
        (
            "merchantReference",
            authorization.merchant_reference.as_str(),
        ),
        ("status", status.as_str()),
        ("payment.paymentType", payment_type.as_str()),
        ("payment.paymentProvider.type", "1"),
        ("payment.account.verified", "true"),
        ("panel", "1"),
    ];
    let key = merchant.access_key.as_str();
    signed_redirect_url(
        &chain.payment.return_url,
        &signed,
        &[],
        HmacAlgorithm::Sha1,
        key,
    )
}

/// Where the browser goes when the consumer canceled or the session expired.
pub fn cancel_url(merchant: &Merchant, chain: &PaymentChain) -> String {
    let authorization = chain.authorization();
    let transaction_id = authorization.transaction_id.to_string();
    let status = authorization.status.code().to_string();
    let payment_type = chain.payment.payment_type.code().to_string();
    let signed = [
        ("transactionId", transaction_id.as_str()),
        ("transactionType", "1"),
        (
            "merchantReference",
            authorization.merchant_reference.as_str(),
        ),
        ("status", status.as_str()),
        ("payment.paymentType", payment_type.as_str()),
        ("panel", "1"),
        (
            "payment.paymentProviderTransaction.status",
            authorization.provider.status.as_str(),
        ),
    ];
    let key = merchant.access_key.as_str();
    signed_redirect_url(
        &chain.payment.cancel_url,
        &signed,
        &[],
        HmacAlgorithm::Sha1,
        key,
    )
}
