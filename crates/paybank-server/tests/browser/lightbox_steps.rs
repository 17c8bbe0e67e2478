//! Every Lightbox step in a real browser, opened as a plain page: cancel from each step, MFA
//! passed and failed, each Demo Bank error keyphrase, search as you type, keyboard-only use, and
//! nothing loaded from any host but paybank.

use serde_json::Value;

use crate::harness::{Browser, Screen};
use crate::steps::{choose_bank, log_in, log_in_to_demo_bank, DEMO_BANK};
use crate::world::World;

async fn open_login(browser: &Browser, url: &str) {
    browser.goto(url).await;
    choose_bank(browser, DEMO_BANK, "login").await;
}

/// Cancels with the footer button and returns the cancel URL the browser landed on.
async fn cancel(browser: &Browser, site: &str) -> String {
    browser
        .click("form[action$=\"/cancel\"] button[type=submit]")
        .await;
    browser.wait_url(&format!("{site}/cancel?")).await
}

#[tokio::test]
async fn cancel_from_each_step_lands_on_the_cancel_url_with_that_steps_code() {
    let world = World::new().await;
    let browser = Browser::start("lightbox_cancel_each_step", Screen::Desktop).await;
    let site = world.site.url.clone();
    let mut urls = Vec::new();
    for _ in 0..5 {
        urls.push(world.lightbox_url().await.0);
    }
    browser
        .run(|browser| async move {
            let expected = ["UC01", "UC02", "UC06", "UC08", "UC08"];
            for (step, url) in urls.iter().enumerate() {
                browser.goto(url).await;
                browser.wait_page("select_bank").await;
                if step >= 1 {
                    choose_bank(&browser, DEMO_BANK, "login").await;
                }
                if step >= 2 {
                    log_in(&browser, "browser_test02", "2FA").await;
                    browser.wait_page("mfa").await;
                }
                if step >= 3 {
                    browser.fill("#answer", "123456").await;
                    browser
                        .click("form[action$=\"/mfa\"] button[type=submit]")
                        .await;
                    browser.wait_page("select_account").await;
                }
                if step >= 4 {
                    browser
                        .click("form[action$=\"/account\"] button[type=submit]")
                        .await;
                    browser.wait_page("confirm").await;
                }
                let landed = cancel(&browser, &site).await;
                assert!(landed.contains("status=7"), "{landed}");
                let code = format!(
                    "payment.paymentProviderTransaction.status={}",
                    expected[step]
                );
                assert!(landed.contains(&code), "step {step}: {landed}");
            }
        })
        .await;
}

#[tokio::test]
async fn a_wrong_security_code_is_refused_and_the_right_one_accepted() {
    let world = World::new().await;
    let browser = Browser::start("lightbox_mfa", Screen::Desktop).await;
    let (url, _) = world.lightbox_url().await;
    browser
        .run(|browser| async move {
            open_login(&browser, &url).await;
            log_in(&browser, "browser_test02", "2fa").await;
            browser.wait_page("mfa").await;
            browser.fill("#answer", "error").await;
            browser
                .click("form[action$=\"/mfa\"] button[type=submit]")
                .await;
            let error = browser.text("#form-error").await;
            assert!(error.contains("security code is incorrect"), "{error}");
            assert_eq!(browser.page().await, "mfa");
            browser.fill("#answer", "424242").await;
            browser
                .click("form[action$=\"/mfa\"] button[type=submit]")
                .await;
            browser.wait_page("select_account").await;
        })
        .await;
}

#[tokio::test]
async fn each_error_keyphrase_shows_its_error() {
    let world = World::new().await;
    let browser = Browser::start("lightbox_keyphrases", Screen::Desktop).await;
    let cases = [
        ("LoginError", "username or password is incorrect"),
        ("WrongCredentials", "username or password is incorrect"),
        ("AccountLocked", "online banking is locked"),
        (
            "NoEligibleAccounts",
            "no eligible checking or savings account",
        ),
        ("Unavailable", "cannot be reached right now"),
        ("ConnectError", "could not connect to your bank"),
        ("ConnectionError", "could not connect to your bank"),
        ("BlockedIpError", "blocked this connection"),
        ("BankAction", "take an action on its website"),
        ("NotSupported", "not supported"),
    ];
    let mut urls = Vec::new();
    for _ in cases {
        urls.push(world.lightbox_url().await.0);
    }
    browser
        .run(|browser| async move {
            for ((phrase, message), url) in cases.iter().zip(&urls) {
                open_login(&browser, url).await;
                log_in(&browser, "browser_test02", phrase).await;
                let shown = browser.text("[role=alert]").await;
                assert!(shown.contains(message), "{phrase}: {shown}");
            }
        })
        .await;
}

#[tokio::test]
async fn bank_search_filters_as_you_type() {
    let world = World::new().await;
    let browser = Browser::start("lightbox_search", Screen::Desktop).await;
    let (url, _) = world.lightbox_url().await;
    browser
        .run(|browser| async move {
            browser.goto(&url).await;
            let visible = "return Array.from(document.querySelectorAll('#bank-list li')).filter(function (li) { return !li.hidden; }).map(function (li) { return li.textContent.trim(); });";
            let all = browser.js(visible).await;
            assert_eq!(all.as_array().map(Vec::len), Some(5), "{all}");
            browser.fill("#bank-search", "oauth").await;
            let some = browser.js(visible).await;
            assert_eq!(some.as_array().map(Vec::len), Some(1), "{some}");
            assert!(some[0].as_str().unwrap_or_default().starts_with("OAuth Demo Bank"));
            browser.fill("#bank-search", " nothing").await;
            let none = browser.js(visible).await;
            assert_eq!(none, Value::Array(vec![]));
            assert!(browser.text("#no-match").await.contains("No bank matches"));
            // The page did not reload to filter.
            assert!(browser.url().await == url);
        })
        .await;
}

#[tokio::test]
async fn the_whole_journey_works_from_the_keyboard_with_visible_focus() {
    let world = World::new().await;
    let browser = Browser::start("lightbox_keyboard", Screen::Desktop).await;
    let (url, transaction_id) = world.lightbox_url().await;
    let site = world.site.url.clone();
    browser
        .run(|browser| async move {
            browser.goto(&url).await;
            browser.wait_page("select_bank").await;
            // Tab to the search box, then to the first bank, and press Enter.
            press(&browser, "\u{E004}").await;
            let focused = browser.js("return document.activeElement.id;").await;
            assert_eq!(focused, Value::from("bank-search"));
            let outline = browser.js("return getComputedStyle(document.activeElement).outlineStyle;").await;
            assert_ne!(outline, Value::from("none"), "focus must be visible");
            press(&browser, "demo bank\u{E004}\u{E004}").await;
            let focused = browser.js("return document.activeElement.getAttribute('data-bank-id');").await;
            assert_eq!(focused, Value::from("200005501"));
            press(&browser, "\u{E007}").await;
            browser.wait_page("login").await;
            // Labels name every input.
            let unlabelled = browser.js("return Array.from(document.querySelectorAll('input:not([type=hidden])')).filter(function (input) { return !input.labels || input.labels.length === 0; }).length;").await;
            assert_eq!(unlabelled, Value::from(0));
            browser.find("#username").await.click().await.expect("focus username");
            press(&browser, "keyboard_user\u{E004}secret123\u{E007}").await;
            browser.wait_page("select_account").await;
            browser.js("document.querySelector('input[name=account_index]').focus();").await;
            press(&browser, "\u{E007}").await;
            browser.wait_page("confirm").await;
            browser.js("document.querySelector('form[action$=\"/confirm\"] button').focus();").await;
            press(&browser, "\u{E007}").await;
            browser.wait_url(&format!("{site}/return?")).await;
        })
        .await;
    assert_eq!(world.status(&transaction_id).await, "2");
}

/// Sends keys to whatever has focus (WebDriver key codes: \u{E004} Tab, \u{E007} Enter).
async fn press(browser: &Browser, keys: &str) {
    let active = browser
        .client
        .active_element()
        .await
        .expect("an active element");
    active.send_keys(keys).await.expect("send keys");
}

#[tokio::test]
async fn the_pages_load_nothing_from_any_other_host() {
    let world = World::new().await;
    let browser = Browser::start("lightbox_same_host", Screen::Desktop).await;
    let (url, _) = world.lightbox_url().await;
    let app_url = world.app.url.clone();
    browser
        .run(|browser| async move {
            browser.goto(&url).await;
            log_in_to_demo_bank(&browser).await;
            let resources = browser.js("return performance.getEntriesByType('resource').map(function (entry) { return entry.name; });").await;
            let resources: Vec<String> = resources
                .as_array()
                .map(|items| items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            assert!(resources.iter().any(|name| name.ends_with("/lightbox-assets/lightbox.css")), "{resources:?}");
            assert!(resources.iter().any(|name| name.ends_with("/lightbox-assets/lightbox.js")), "{resources:?}");
            for name in &resources {
                assert!(name.starts_with(&app_url), "{name} is not on paybank");
            }
        })
        .await;
}
