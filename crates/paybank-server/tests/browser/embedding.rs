//! The Lightbox inside other pages: the widget, the bank OAuth pop-up and its return through
//! `proceedToChooseAccount`, a phone-sized screen, and framing by a site that is not allowed.

use std::time::Duration;

use fantoccini::wd::WindowHandle;
use serde_json::Value;

use crate::harness::{Browser, Screen};
use crate::site::Site;
use crate::steps::{
    choose_account_and_confirm, choose_bank, finish_in_overlay, log_in, open_overlay,
    OAUTH_DEMO_BANK,
};
use crate::world::World;

#[tokio::test]
async fn the_widget_opens_the_lightbox_on_the_chosen_bank() {
    let world = World::new().await;
    let browser = Browser::start("widget_flow", Screen::Desktop).await;
    let site = world.site.url.clone();
    browser
        .run(|browser| async move {
            browser.goto(&format!("{site}/checkout?mode=widget")).await;
            browser.enter_frame("[data-paybank=widget-frame]").await;
            browser.wait_page("widget").await;
            browser.leave_frames().await;
            browser.screenshot_for_docs("desktop-widget").await;
            browser.enter_frame("[data-paybank=widget-frame]").await;
            browser.fill("#bank-search", "demo").await;
            browser.click("a[data-bank-id=\"200005501\"]").await;
            browser.leave_frames().await;
            browser.enter_frame("[data-paybank=lightbox-frame]").await;
            browser.wait_page("login").await;
            log_in(&browser, "widget_user", "secret123").await;
            browser.wait_page("select_account").await;
            choose_account_and_confirm(&browser).await;
            let landed = browser.wait_url(&format!("{site}/return?")).await;
            assert!(landed.contains("status=2"), "{landed}");
        })
        .await;
}

/// The window handle that is not `known`, once it appears.
async fn new_window(browser: &Browser, known: &WindowHandle) -> WindowHandle {
    for _ in 0..100 {
        let windows = browser.client.windows().await.expect("windows");
        if let Some(window) = windows.into_iter().find(|window| window != known) {
            return window;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no pop-up opened");
}

#[tokio::test]
async fn oauth_demo_bank_logs_in_in_a_pop_up_and_the_lightbox_continues() {
    let world = World::new().await;
    let browser = Browser::start("oauth_popup", Screen::Desktop).await;
    let site = world.site.url.clone();
    browser
        .run(|browser| async move {
            browser.goto(&format!("{site}/checkout?mode=overlay")).await;
            let checkout = browser.client.window().await.expect("window");
            browser.click("#pay").await;
            browser.enter_frame("[data-paybank=lightbox-frame]").await;
            choose_bank(&browser, OAUTH_DEMO_BANK, "oauth").await;
            browser.click("#oauth-open").await;
            let popup = new_window(&browser, &checkout).await;
            browser
                .client
                .switch_to_window(popup)
                .await
                .expect("switch");
            browser.wait_page("oauth_login").await;
            assert!(browser.url().await.contains("/oauth/login/"));
            browser.screenshot_for_docs("popup-oauth-login").await;
            log_in(&browser, "oauth_user", "2FA").await;
            browser.fill("#answer", "123456").await;
            browser.click("button[type=submit]").await;
            // The pop-up hands back to the Lightbox and closes itself.
            for _ in 0..100 {
                if browser.client.windows().await.expect("windows").len() == 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(browser.client.windows().await.expect("windows").len(), 1);
            browser
                .client
                .switch_to_window(checkout)
                .await
                .expect("back");
            finish_in_overlay(&browser, &site).await;
        })
        .await;
}

#[tokio::test]
async fn an_app_that_caught_the_oauth_window_returns_through_proceed_to_choose_account() {
    let world = World::new().await;
    let browser = Browser::start("oauth_proceed", Screen::Desktop).await;
    let site = world.site.url.clone();
    browser
        .run(|browser| async move {
            browser.goto(&format!("{site}/checkout?mode=overlay")).await;
            let checkout = browser.client.window().await.expect("window");
            browser.click("#pay").await;
            browser.enter_frame("[data-paybank=lightbox-frame]").await;
            choose_bank(&browser, OAUTH_DEMO_BANK, "oauth").await;
            let oauth_url = browser
                .find("#oauth-open")
                .await
                .prop("href")
                .await
                .ok()
                .flatten()
                .expect("href");
            // As a native SDK does: the bank's page in a window of its own, without an opener.
            browser.leave_frames().await;
            let opened = browser.client.new_window(true).await.expect("new tab");
            browser
                .client
                .switch_to_window(opened.handle)
                .await
                .expect("switch");
            browser.goto(&oauth_url).await;
            log_in(&browser, "app_user", "secret123").await;
            // Without an opener the bank's window goes on to the Lightbox itself.
            browser.wait_page("select_account").await;
            browser.client.close_window().await.expect("close the tab");
            browser
                .client
                .switch_to_window(checkout)
                .await
                .expect("back");
            browser.js("window.Trustly.proceedToChooseAccount();").await;
            finish_in_overlay(&browser, &site).await;
        })
        .await;
}

#[tokio::test]
async fn an_app_reading_messages_is_asked_to_open_the_bank_login_itself() {
    let world = World::new().await;
    let browser = Browser::start("oauth_notify", Screen::Phone).await;
    let site = world.site.url.clone();
    browser
        .run(|browser| async move {
            open_overlay(&browser, &site, "mode=notify").await;
            choose_bank(&browser, OAUTH_DEMO_BANK, "oauth").await;
            browser.click("#oauth-open").await;
            browser.find("#oauth-waiting:not([hidden])").await;
            browser.leave_frames().await;
            let script = "return window.__messages.filter(function (m) { return m.indexOf('PayWithMyBank.ExternalBrowserIntegration|') === 0; })[0] || null;";
            let message = browser.wait_js(script).await;
            let url = message.as_str().unwrap_or_default().split('|').nth(2).unwrap_or_default().to_owned();
            assert!(url.contains("/oauth/login/"), "{message}");
            assert_eq!(browser.client.windows().await.expect("windows").len(), 1, "no window opened");
        })
        .await;
}

#[tokio::test]
async fn in_an_external_browser_the_bank_login_happens_in_the_same_window() {
    let world = World::new().await;
    let browser = Browser::start("oauth_same_window", Screen::Phone).await;
    let (url, _) = world
        .lightbox_url_with(serde_json::json!({ "integrationContext": "ExternalBrowser" }))
        .await;
    let site = world.site.url.clone();
    browser
        .run(|browser| async move {
            browser.goto(&url).await;
            choose_bank(&browser, OAUTH_DEMO_BANK, "oauth").await;
            browser.click("#oauth-open").await;
            browser.wait_page("oauth_login").await;
            assert_eq!(browser.client.windows().await.expect("windows").len(), 1);
            log_in(&browser, "external_user", "secret123").await;
            browser.wait_page("select_account").await;
            choose_account_and_confirm(&browser).await;
            browser.wait_url(&format!("{site}/return?")).await;
        })
        .await;
}

#[tokio::test]
async fn on_a_phone_the_overlay_fills_the_screen_and_no_page_scrolls_sideways() {
    let world = World::new().await;
    let browser = Browser::start("phone_viewport", Screen::Phone).await;
    let site = world.site.url.clone();
    browser
        .run(|browser| async move {
            browser.goto(&format!("{site}/checkout?mode=overlay")).await;
            browser.click("#pay").await;
            let width = browser.wait_js("var panel = document.querySelector('[data-paybank=lightbox] > div'); return panel && panel.getBoundingClientRect().width;").await;
            assert_eq!(width.as_f64(), Some(360.0));
            browser.enter_frame("[data-paybank=lightbox-frame]").await;
            let fits = "return document.documentElement.scrollWidth <= window.innerWidth;";
            for (page, action) in [
                ("select_bank", "button[data-bank-id=\"200005501\"]"),
                ("login", ""),
                ("select_account", "form[action$=\"/account\"] button[type=submit]"),
                ("confirm", ""),
            ] {
                browser.wait_page(page).await;
                assert_eq!(browser.js(fits).await, Value::Bool(true), "{page} scrolls sideways");
                browser.screenshot_for_docs(&format!("phone-{page}")).await;
                if page == "login" {
                    log_in(&browser, "phone_user", "secret123").await;
                } else if !action.is_empty() {
                    browser.click(action).await;
                }
            }
        })
        .await;
}

#[tokio::test]
async fn a_site_that_is_not_allowed_cannot_frame_the_lightbox() {
    let world = World::new().await;
    let stranger = Site::spawn(&world.app.url).await;
    let browser = Browser::start("framing_refused", Screen::Desktop).await;
    let (allowed_url, _) = world.lightbox_url().await;
    let (refused_url, _) = world.lightbox_url().await;
    let (site, stranger_url) = (world.site.url.clone(), stranger.url.clone());
    let loaded = "return window.__messages.filter(function (m) { return m.indexOf('PayWithMyBank.event|') === 0 && m.indexOf('|load|') !== -1; }).length;";
    browser
        .run(|browser| async move {
            // The merchant's own site may frame it: the page inside reports that it loaded.
            browser
                .goto(&format!("{site}/frame?src={}", encode(&allowed_url)))
                .await;
            assert_eq!(browser.wait_js(loaded).await, Value::from(1));
            // Another site may not: the browser refuses to show it, so nothing reports.
            browser
                .goto(&format!(
                    "{stranger_url}/frame?src={}",
                    encode(&refused_url)
                ))
                .await;
            browser.wait_page("framer").await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert_eq!(browser.js(loaded).await, Value::from(0));
        })
        .await;
}

fn encode(url: &str) -> String {
    form_urlencoded::byte_serialize(url.as_bytes()).collect()
}
