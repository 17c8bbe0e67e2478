//! The consumer's steps the browser tests share: open the overlay, choose a bank, log in,
//! choose an account and confirm.

use crate::harness::Browser;

pub const DEMO_BANK: &str = "200005501";
pub const OAUTH_DEMO_BANK: &str = "200005502";

/// Opens the site's checkout (`query`, e.g. `mode=overlay`), presses Pay and enters the
/// Lightbox's frame.
pub async fn open_overlay(browser: &Browser, site: &str, query: &str) {
    browser.goto(&format!("{site}/checkout?{query}")).await;
    browser.click("#pay").await;
    browser.enter_frame("[data-paybank=lightbox-frame]").await;
}

/// Picks a bank on bank selection and waits for the page it leads to.
pub async fn choose_bank(browser: &Browser, bank_id: &str, next_page: &str) {
    browser
        .click(&format!("button[data-bank-id=\"{bank_id}\"]"))
        .await;
    browser.wait_page(next_page).await;
}

/// Fills in and submits a login form (the Lightbox's or a bank's own window).
pub async fn log_in(browser: &Browser, username: &str, password: &str) {
    browser.fill("#username", username).await;
    browser.fill("#password", password).await;
    browser
        .click("form:has(#password) button[type=submit]")
        .await;
}

/// Picks Demo Bank and logs in as an ordinary user; leaves the browser on account selection.
pub async fn log_in_to_demo_bank(browser: &Browser) {
    browser.wait_page("select_bank").await;
    choose_bank(browser, DEMO_BANK, "login").await;
    log_in(browser, "browser_test01", "secret123").await;
    browser.wait_page("select_account").await;
}

/// From account selection: keeps the first account and authorizes.
pub async fn choose_account_and_confirm(browser: &Browser) {
    browser
        .click("form[action$=\"/account\"] button[type=submit]")
        .await;
    browser.wait_page("confirm").await;
    browser
        .click("form[action$=\"/confirm\"] button[type=submit]")
        .await;
}

/// Back on the merchant's page after a bank's own login window: the overlay's Lightbox is on
/// account selection; authorizes and waits for the return URL.
pub async fn finish_in_overlay(browser: &Browser, site: &str) {
    browser.enter_frame("[data-paybank=lightbox-frame]").await;
    browser.wait_page("select_account").await;
    choose_account_and_confirm(browser).await;
    browser.wait_url(&format!("{site}/return?")).await;
}
