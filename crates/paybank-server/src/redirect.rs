//! The signed redirects back to the merchant after the Lightbox (client-flows §3).

use paybank_core::codes::TransactionStatus;
use paybank_core::model::{Merchant, PaymentChain};
use paybank_core::signature::{signed_redirect_url, HmacAlgorithm};

/// Where the browser goes once the Lightbox is over: `returnUrl` when the consumer authorized,
/// `cancelUrl` when they canceled or the session expired.
pub fn final_url(merchant: &Merchant, chain: &PaymentChain) -> String {
    let authorization = chain.authorization();
    let authorized = authorization.status == TransactionStatus::Authorized;
    let transaction_id = authorization.transaction_id.to_string();
    let status = authorization.status.code().to_string();
    let payment_type = chain.payment.payment_type.code().to_string();
    let mut signed = vec![
        ("transactionId", transaction_id.as_str()),
        ("transactionType", "1"),
        (
            "merchantReference",
            authorization.merchant_reference.as_str(),
        ),
        ("status", status.as_str()),
        ("payment.paymentType", payment_type.as_str()),
    ];
    let base_url = match authorized {
        true => {
            signed.extend([
                ("payment.paymentProvider.type", "1"),
                ("payment.account.verified", "true"),
                ("panel", "1"),
            ]);
            &chain.payment.return_url
        }
        false => {
            let provider_status = authorization.provider.status.as_str();
            signed.extend([
                ("panel", "1"),
                ("payment.paymentProviderTransaction.status", provider_status),
            ]);
            &chain.payment.cancel_url
        }
    };
    signed_redirect_url(
        base_url,
        &signed,
        &[],
        HmacAlgorithm::Sha1,
        &merchant.access_key,
    )
}
