//! Rendering the Lightbox templates with the context each page expects.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment, Value};
use paybank_core::demo_bank::{search_banks, BANKS};
use paybank_core::lightbox::{session_accounts, session_bank, Step};

use crate::app::AppState;
use crate::lightbox_flow::FlowState;
use crate::presentation::{IntegrationContext, Presentation};

pub const STYLESHEET: &str = include_str!("../../templates/lightbox/lightbox.css");
pub const SCRIPT: &str = include_str!("../../assets/lightbox.js");

const TEMPLATES: [(&str, &str); 17] = [
    (
        "head.html",
        include_str!("../../templates/lightbox/head.html"),
    ),
    (
        "credentials.html",
        include_str!("../../templates/lightbox/credentials.html"),
    ),
    (
        "bank_search.html",
        include_str!("../../templates/lightbox/bank_search.html"),
    ),
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
        "oauth_start.html",
        include_str!("../../templates/lightbox/oauth_start.html"),
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
    (
        "widget.html",
        include_str!("../../templates/lightbox/widget.html"),
    ),
    (
        "oauth_layout.html",
        include_str!("../../templates/lightbox/oauth_layout.html"),
    ),
    (
        "oauth_login.html",
        include_str!("../../templates/lightbox/oauth_login.html"),
    ),
    (
        "oauth_mfa.html",
        include_str!("../../templates/lightbox/oauth_mfa.html"),
    ),
    (
        "oauth_done.html",
        include_str!("../../templates/lightbox/oauth_done.html"),
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
    let presentation = Presentation::of_echo(&echo);
    let common = context! {
        page => page_name(flow),
        session_path => format!("/lightbox/{}", session.session_id),
        csrf_token => session.csrf_token,
        merchant_name => flow.merchant.name,
        transaction_id => session.transaction_id.to_string(),
        merchant_reference => flow.chain.authorization().merchant_reference,
        integration_context => presentation.integration_context.map(IntegrationContext::name),
        oauth_opening => IntegrationContext::oauth_opening(presentation.integration_context).name(),
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
        Step::SelectBank => ("select_bank.html", bank_list(query.unwrap_or_default())),
        Step::Login | Step::Mfa if session_bank(session).is_some_and(|bank| bank.oauth) => (
            "oauth_start.html",
            context! { bank => bank, oauth_path => format!("/oauth/login/{}", session.session_id) },
        ),
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

/// Every bank, with those that do not match the query hidden: the page filters as the
/// consumer types, and without JavaScript the search button does the same on the server.
pub fn bank_list(query: &str) -> Value {
    let matching = search_banks(query);
    let banks: Vec<Value> = BANKS
        .iter()
        .map(|bank| {
            let hidden = !matching.iter().any(|found| found.id == bank.id);
            context! { id => bank.id, name => bank.name, subtitle => bank.subtitle, hidden => hidden }
        })
        .collect();
    context! { query => query, banks => banks, no_match => matching.is_empty() }
}

/// The page name the SDK events report: the step, or `oauth` while a bank's own login window
/// is in charge.
fn page_name(flow: &FlowState) -> &'static str {
    let step = flow.session.step;
    let oauth = session_bank(&flow.session).is_some_and(|bank| bank.oauth);
    match step {
        Step::Login | Step::Mfa if oauth => "oauth",
        _ => step.name(),
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
    let outcome = match flow.session.step {
        Step::Finished => "return",
        _ => "cancel",
    };
    context! {
        title => title,
        message => message,
        outcome => outcome,
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
    // No merchant is known on an error page, so framing stays open: it shows nothing to steal,
    // and the SDK's overlay must be able to show why a payment could not start.
    with_page_headers((status, Html(html)).into_response(), None, &[])
}

/// A rendered hosted page with its security headers (see [`with_page_headers`]), or the 500
/// error page if the template failed.
pub fn html_page(
    state: &AppState,
    html: Result<String, minijinja::Error>,
    frame_ancestors: Option<&[String]>,
    form_targets: &[String],
) -> Response {
    match html {
        Ok(html) => with_page_headers(Html(html).into_response(), frame_ancestors, form_targets),
        Err(error) => {
            tracing::error!(%error, "rendering a hosted page failed");
            error_page(
                state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again.",
            )
        }
    }
}

/// The security headers of every hosted page: a strict Content-Security-Policy and no caching.
/// `frame_ancestors`: who may frame the page (`None`: anyone; empty: no one). `form_targets`:
/// where forms may lead besides paybank itself, redirects included.
pub fn with_page_headers(
    mut response: Response,
    frame_ancestors: Option<&[String]>,
    form_targets: &[String],
) -> Response {
    let mut policy = String::from(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'",
    );
    for target in form_targets {
        policy.push(' ');
        policy.push_str(target);
    }
    match frame_ancestors {
        Some([]) => policy.push_str("; frame-ancestors 'none'"),
        Some(origins) => policy.push_str(&format!("; frame-ancestors {}", origins.join(" "))),
        None => {}
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
