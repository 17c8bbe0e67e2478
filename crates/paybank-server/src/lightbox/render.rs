//! Rendering the Lightbox templates with the context each page expects.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment, Value};
use paybank_core::demo_bank::search_banks;
use paybank_core::lightbox::{session_accounts, session_bank, Step};

use crate::app::AppState;
use crate::lightbox_flow::FlowState;

pub const STYLESHEET: &str = include_str!("../../templates/lightbox/lightbox.css");

const TEMPLATES: [(&str, &str); 8] = [
    (
        "layout.html",
        include_str!("../../templates/lightbox/layout.html"),
    ),
    (
        "select_bank.html",
        include_str!("../../templates/lightbox/select_bank.html"),
    ),
    (
        "login.html",
        include_str!("../../templates/lightbox/login.html"),
    ),
    (
        "mfa.html",
        include_str!("../../templates/lightbox/mfa.html"),
    ),
    (
        "select_account.html",
        include_str!("../../templates/lightbox/select_account.html"),
    ),
    (
        "confirm.html",
        include_str!("../../templates/lightbox/confirm.html"),
    ),
    (
        "message.html",
        include_str!("../../templates/lightbox/message.html"),
    ),
    (
        "error.html",
        include_str!("../../templates/lightbox/error.html"),
    ),
];

/// The template set, compiled once at start-up.
pub fn templates() -> Environment<'static> {
    let mut environment = Environment::new();
    for (name, source) in TEMPLATES {
        environment
            .add_template(name, source)
            .expect("the built-in templates are valid");
    }
    environment
}

/// The page for the session's current step.
pub fn step_page(
    state: &AppState,
    flow: &FlowState,
    query: Option<&str>,
) -> Result<String, minijinja::Error> {
    let session = &flow.session;
    let payment = &flow.chain.payment;
    let echo: serde_json::Value = serde_json::from_str(&payment.establish_json).unwrap_or_default();
    let finish_label = match echo
        .pointer("/metadata/finishButtonLabelType")
        .and_then(|v| v.as_str())
    {
        Some("pay") => "Pay",
        Some("deposit") => "Deposit",
        Some("withdraw") => "Withdraw",
        _ => "Continue",
    };
    let display_amount = echo
        .get("displayAmount")
        .and_then(|v| v.as_str().map(str::to_owned))
        .or_else(|| (!payment.amount.is_zero()).then(|| payment.amount.to_display()));
    let common = context! {
        page => session.step.name(),
        session_path => format!("/lightbox/{}", session.session_id),
        csrf_token => session.csrf_token,
        merchant_name => flow.merchant.name,
        transaction_id => session.transaction_id.to_string(),
        display_amount => display_amount,
        currency => payment.currency,
        description => payment.description,
        finish_label => finish_label,
        error => session.error.map(|error| error.message()),
        can_cancel => !session.step.is_final(),
    };
    let (template, page) = page_context(flow, query);
    state
        .templates
        .get_template(template)?
        .render(context! { ..page, ..common })
}

fn page_context(flow: &FlowState, query: Option<&str>) -> (&'static str, Value) {
    let session = &flow.session;
    let bank = session_bank(session).map(|bank| context! { id => bank.id, name => bank.name });
    let accounts: Vec<Value> = session_accounts(session)
        .iter()
        .enumerate()
        .map(|(index, account)| {
            context! {
                index => index,
                name => account.name,
                type_label => if account.account_type == 2 { "Savings" } else { "Checking" },
                masked_number => format!("••••{}", &account.account_number[account.account_number.len().saturating_sub(4)..]),
                balance => account.balance.to_display(),
            }
        })
        .collect();
    match session.step {
        Step::SelectBank => {
            let query = query.unwrap_or_default();
            let banks: Vec<Value> = search_banks(query)
                .into_iter()
                .map(
                    |bank| context! { id => bank.id, name => bank.name, subtitle => bank.subtitle },
                )
                .collect();
            (
                "select_bank.html",
                context! { query => query, banks => banks },
            )
        }
        Step::Login => ("login.html", context! { bank => bank }),
        Step::Mfa => (
            "mfa.html",
            context! { bank => bank, prompt => "Enter the code your bank sent to your phone. In the sandbox any code works except “error”." },
        ),
        Step::SelectAccount => (
            "select_account.html",
            context! { bank => bank, accounts => accounts },
        ),
        Step::Confirm => {
            let account = session
                .account_index
                .and_then(|index| accounts.get(usize::from(index)).cloned());
            (
                "confirm.html",
                context! { bank => bank, account => account },
            )
        }
        Step::Finished | Step::Canceled | Step::Expired => ("message.html", final_context(flow)),
    }
}

fn final_context(flow: &FlowState) -> Value {
    let (title, message, label) = match flow.session.step {
        Step::Finished => (
            "All set",
            "Your bank account is connected.",
            "Return to the merchant",
        ),
        Step::Canceled => (
            "Canceled",
            "You canceled. Nothing was authorized.",
            "Return to the merchant",
        ),
        _ => (
            "Session expired",
            "This session timed out before it was finished. Nothing was authorized.",
            "Return to the merchant",
        ),
    };
    context! {
        title => title,
        message => message,
        continue_url => flow.session.redirect_url,
        continue_label => label,
        retry => false,
    }
}

/// An error page with the HTTP status in its title, as the mobile SDKs expect.
pub fn error_page(state: &AppState, status: StatusCode, title: &str, message: &str) -> Response {
    let context = context! { status => status.as_u16(), title => title, message => message };
    let html = state
        .templates
        .get_template("error.html")
        .and_then(|template| template.render(context))
        .unwrap_or_else(|_| format!("<!doctype html><title>{} Error</title>", status.as_u16()));
    // No merchant is known on an error page, so framing stays open: it shows nothing to steal.
    with_page_headers((status, Html(html)).into_response(), None)
}

/// The security headers of every hosted page: a strict Content-Security-Policy (frames and
/// form targets limited to `merchant_sources` when given) and no caching.
pub fn with_page_headers(mut response: Response, merchant_sources: Option<&str>) -> Response {
    let mut policy = String::from(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'",
    );
    if let Some(sources) = merchant_sources {
        policy.push_str(&format!(
            "; form-action 'self' {sources}; frame-ancestors 'self' {sources}"
        ));
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
