//! The shop's templates, stylesheet and script, and how its pages and errors are rendered.

use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment, Value};

use super::DemoError;
use crate::app::AppState;

const STYLESHEET: &str = include_str!("../../templates/demo/demo.css");
const SCRIPT: &str = include_str!("../../templates/demo/demo.js");

const TEMPLATES: [(&str, &str); 5] = [
    (
        "layout.html",
        include_str!("../../templates/demo/layout.html"),
    ),
    (
        "checkout.html",
        include_str!("../../templates/demo/checkout.html"),
    ),
    (
        "order.html",
        include_str!("../../templates/demo/order.html"),
    ),
    (
        "rejected.html",
        include_str!("../../templates/demo/rejected.html"),
    ),
    (
        "error.html",
        include_str!("../../templates/demo/error.html"),
    ),
];

/// The shop's template set, compiled once; `.html` names turn HTML autoescaping on.
pub(super) fn templates() -> Result<Environment<'static>, minijinja::Error> {
    let mut environment = Environment::new();
    for (name, source) in TEMPLATES {
        environment.add_template(name, source)?;
    }
    Ok(environment)
}

/// Renders one of the shop's templates as a page with `status`.
pub(super) fn render(
    state: &AppState,
    status: StatusCode,
    template: &str,
    page: Value,
) -> Result<Response, DemoError> {
    let html = state
        .demo
        .templates
        .get_template(template)
        .and_then(|template| template.render(page))
        .map_err(anyhow::Error::from)?;
    Ok((status, Html(html)).into_response())
}

/// The page of a handler's outcome: the page itself, or the error page.
pub(super) fn respond(state: &AppState, outcome: Result<Response, DemoError>) -> Response {
    match outcome {
        Ok(response) => response,
        Err(error) => error_page(state, &error),
    }
}

fn error_page(state: &AppState, error: &DemoError) -> Response {
    let status = error.status();
    let page = context! { status => status.as_u16(), message => error.public_message() };
    render(state, status, "error.html", page).unwrap_or_else(|_| {
        // The error template is built in; if even it fails, plain text still says what happened.
        (status, "The demo shop could not show this page.").into_response()
    })
}

pub(super) async fn stylesheet() -> Response {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET).into_response()
}

pub(super) async fn script() -> Response {
    let content_type = "text/javascript; charset=utf-8";
    ([(CONTENT_TYPE, content_type)], SCRIPT).into_response()
}

/// Epoch milliseconds as `2025-03-14 16:05:12 UTC`, the simulated clock's time of an event.
pub(super) fn format_utc(epoch_ms: i64) -> String {
    const LABEL: &[time::format_description::FormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(epoch_ms.div_euclid(1000))
        .ok()
        .and_then(|moment| moment.format(LABEL).ok())
        .unwrap_or_else(|| format!("{epoch_ms} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_printed_as_utc_calendar_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_556_234_040_954), "2019-04-25 23:14:00 UTC");
        assert_eq!(format_utc(-1000), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn the_built_in_templates_compile() {
        assert!(templates().is_ok());
    }
}
