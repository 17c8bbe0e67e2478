//! The JavaScript SDK on a merchant's page: the overlay from bank selection to the signed
//! redirect, the panel listener's events, `returnUrl: '#success'` with `return false`, the close
//! button, the legacy script names, and the messages an in-app host reads.

use paybank_core::signature::verify_redirect_url;
use std::time::Duration;

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use serde_json::Value;

use crate::harness::{Browser, Screen};
use crate::steps::{
    choose_account_and_confirm, choose_bank, log_in, log_in_to_demo_bank, open_overlay, DEMO_BANK,
    OAUTH_DEMO_BANK,
};
use crate::world::World;

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_overlay_takes_the_consumer_from_bank_selection_to_the_signed_return_url() {
    let world = World::new().await;
    let browser = Browser::start("sdk_overlay", Screen::Desktop).await;
    let (site, access_key) = (world.site.url.clone(), world.merchant.access_key.clone());
    browser
        .run(|browser| async move {
            browser.goto(&format!("{site}/checkout?mode=overlay")).await;
            browser.click("#pay").await;
            browser.find("[data-paybank=lightbox] iframe").await;
            browser.enter_frame("[data-paybank=lightbox-frame]").await;
            browser.wait_page("select_bank").await;
            browser.screenshot_for_docs("desktop-select_bank").await;
            choose_bank(&browser, DEMO_BANK, "login").await;
            browser.screenshot_for_docs("desktop-login").await;
            log_in(&browser, "browser_test01", "secret123").await;
            browser.wait_page("select_account").await;
            browser.screenshot_for_docs("desktop-select_account").await;
            browser
                .click("form[action$=\"/account\"] button[type=submit]")
                .await;
            browser.wait_page("confirm").await;
            browser.screenshot_for_docs("desktop-confirm").await;
            browser
                .click("form[action$=\"/confirm\"] button[type=submit]")
                .await;
            let landed = browser.wait_url(&format!("{site}/return?")).await;
            assert!(verify_redirect_url(&landed, &access_key), "{landed}");
            assert!(landed.contains("status=2"), "{landed}");
            browser.leave_frames().await;
            browser.wait_page("merchant-landing").await;
        })
        .await;
}

#[tokio::test]
async fn the_panel_listener_sees_every_step_and_can_keep_the_consumer_on_the_page() {
    let world = World::new().await;
    let browser = Browser::start("sdk_listener_hash", Screen::Desktop).await;
    let site = world.site.url.clone();
    browser
        .run(|browser| async move {
            open_overlay(&browser, &site, "mode=hash").await;
            choose_bank(&browser, OAUTH_DEMO_BANK, "oauth").await;
            browser
                .click("form[action$=\"/back\"] button[type=submit]")
                .await;
            log_in_to_demo_bank(&browser).await;
            choose_account_and_confirm(&browser).await;
            browser.leave_frames().await;
            let result = browser.wait_js("return window.__result || null;").await;
            let result = result.as_str().unwrap_or_default().to_owned();
            assert!(result.starts_with("#success?transactionId="), "{result}");
            // The listener returned false: the page stayed, and the overlay is gone.
            assert!(browser.url().await.starts_with(&format!("{site}/checkout")));
            let overlay = browser
                .js("return document.querySelector('[data-paybank=lightbox]') === null;")
                .await;
            assert_eq!(overlay, Value::Bool(true));
            let events = strings(&browser.js("return window.__events;").await);
            let expected_prefixes = [
                "open:",
                "event:load:select_bank",
                "event:bank_selected:select_bank:200005502",
                "event:load:oauth",
                "event:back:oauth",
                "event:load:select_bank",
                "event:bank_selected:select_bank:200005501",
                "event:load:login",
                "event:load:select_account",
                "event:load:confirm",
                "event:load:finished",
                "event:close:finished:return",
                "event:new_location:finished:#success",
                "close:",
            ];
            let mut position = 0;
            for prefix in expected_prefixes {
                let found = events[position..]
                    .iter()
                    .position(|event| event.starts_with(prefix));
                let found = found
                    .unwrap_or_else(|| panic!("{prefix} missing after #{position} in {events:?}"));
                position += found + 1;
            }
        })
        .await;
}

#[tokio::test]
async fn the_close_button_cancels_and_returns_to_the_cancel_url() {
    let world = World::new().await;
    let browser = Browser::start("sdk_close_button", Screen::Desktop).await;
    let site = world.site.url.clone();
    browser
        .run(|browser| async move {
            browser
                .goto(&format!(
                    "{site}/checkout?mode=overlay&script=pwmb.js&global=PayWithMyBank"
                ))
                .await;
            browser.click("#pay").await;
            browser.enter_frame("[data-paybank=lightbox-frame]").await;
            browser.wait_page("select_bank").await;
            browser.leave_frames().await;
            browser.click("[data-paybank=close]").await;
            let landed = browser.wait_url(&format!("{site}/cancel?")).await;
            assert!(landed.contains("status=7"), "{landed}");
            assert!(
                landed.contains("payment.paymentProviderTransaction.status=UC01"),
                "{landed}"
            );
        })
        .await;
}

#[tokio::test]
async fn an_app_reading_messages_gets_the_result_instead_of_a_navigation() {
    let world = World::new().await;
    let browser = Browser::start("sdk_in_app_notify", Screen::Phone).await;
    let site = world.site.url.clone();
    browser
        .run(|browser| async move {
            open_overlay(&browser, &site, "mode=notify").await;
            log_in_to_demo_bank(&browser).await;
            choose_account_and_confirm(&browser).await;
            browser.leave_frames().await;
            let script = "return window.__messages.filter(function (m) { return m.indexOf('PayWithMyBank.closePanel|') === 0; })[0] || null;";
            let close_panel = browser.wait_js(script).await;
            let close_panel = close_panel.as_str().unwrap_or_default();
            assert!(close_panel.starts_with("PayWithMyBank.closePanel|testapp://return?transactionId="), "{close_panel}");
            assert!(browser.url().await.starts_with(&format!("{site}/checkout")));
        })
        .await;
}

#[tokio::test]
async fn the_options_hide_the_close_button_and_let_the_panel_be_dragged() {
    let world = World::new().await;
    let browser = Browser::start("sdk_options", Screen::Desktop).await;
    let site = world.site.url.clone();
    browser
        .run(|browser| async move {
            browser.goto(&format!("{site}/checkout?mode=overlay&close=0")).await;
            browser.click("#pay").await;
            browser.find("[data-paybank=lightbox-frame]").await;
            let close = browser.js("return document.querySelector('[data-paybank=close]') === null;").await;
            assert_eq!(close, Value::Bool(true), "closeButton: false hides it");
            let bar = browser.find("[data-paybank=lightbox] > div > div").await;
            let drag = MouseActions::new("mouse".to_owned())
                .then(PointerAction::MoveToElement { element: bar, duration: None, x: -100, y: 0 })
                .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
                .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(100)), x: -200, y: 60 })
                .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
            browser.client.perform_actions(drag).await.expect("drag the panel");
            let moved = browser.js("return document.querySelector('[data-paybank=lightbox] > div').style.transform;").await;
            assert_eq!(moved, Value::from("translate(-200px, 60px)"));
        })
        .await;
}
