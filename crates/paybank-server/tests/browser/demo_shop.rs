//! The demo shop a new user is pointed to: checkout with the overlay and with the widget, the
//! receipt that checks the redirect signature, the notifications it received, and capture.

use std::time::Duration;

use crate::harness::{Browser, Screen};
use crate::helpers::TestApp;
use crate::steps::{choose_account_and_confirm, log_in, log_in_to_demo_bank};

/// The demo needs its event notifications delivered, so the workers run.
async fn demo_app() -> TestApp {
    TestApp::spawn_with(|config| config.workers.enabled = true).await
}

/// Reloads the page until `css` appears (notifications arrive a moment after each change).
async fn reload_until(browser: &Browser, css: &str) {
    for _ in 0..50 {
        let found = browser
            .js(&format!("return document.querySelector('{css}') !== null;"))
            .await;
        if found == serde_json::Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        browser.client.refresh().await.expect("reload");
    }
    panic!("{css} never appeared");
}

#[tokio::test]
async fn the_demo_shop_takes_a_payment_through_the_overlay_to_a_verified_receipt_and_captures_it() {
    let app = demo_app().await;
    let browser = Browser::start("demo_overlay", Screen::Desktop).await;
    let url = app.url.clone();
    browser
        .run(|browser| async move {
            browser.goto(&format!("{url}/demo")).await;
            browser.screenshot_for_docs("demo-checkout").await;
            browser.click("#pay-overlay").await;
            browser.enter_frame("[data-paybank=lightbox-frame]").await;
            log_in_to_demo_bank(&browser).await;
            choose_account_and_confirm(&browser).await;
            browser.wait_url(&format!("{url}/demo/return?")).await;
            browser.leave_frames().await;
            let status = browser.find("#signature-status").await;
            assert_eq!(
                status.attr("data-valid").await.ok().flatten().as_deref(),
                Some("true")
            );
            assert!(browser
                .text("#transaction-status")
                .await
                .contains("Authorized"));
            let order_url = format!(
                "{url}/demo/orders/{}",
                browser.text("#transaction-id").await
            );
            browser.goto(&order_url).await;
            reload_until(&browser, "#events li[data-event-type=Authorize]").await;
            browser.click("#capture").await;
            let notice = browser.text("#notice").await;
            assert!(notice.to_lowercase().contains("captur"), "{notice}");
            reload_until(&browser, "#captures li").await;
        })
        .await;
}

#[tokio::test]
async fn the_demo_shop_widget_opens_the_lightbox_on_the_chosen_bank() {
    let app = demo_app().await;
    let browser = Browser::start("demo_widget", Screen::Desktop).await;
    let url = app.url.clone();
    browser
        .run(|browser| async move {
            browser.goto(&format!("{url}/demo")).await;
            browser.click("#pay-widget").await;
            browser.enter_frame("#widget iframe").await;
            browser.click("a[data-bank-id=\"200005501\"]").await;
            browser.leave_frames().await;
            browser.enter_frame("[data-paybank=lightbox-frame]").await;
            browser.wait_page("login").await;
            log_in(&browser, "demo_widget", "secret123").await;
            browser.wait_page("select_account").await;
            choose_account_and_confirm(&browser).await;
            browser.wait_url(&format!("{url}/demo/return?")).await;
            browser.leave_frames().await;
            let status = browser.find("#signature-status").await;
            assert_eq!(
                status.attr("data-valid").await.ok().flatten().as_deref(),
                Some("true")
            );
        })
        .await;
}
