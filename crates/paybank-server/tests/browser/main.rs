//! End-to-end tests in headless Chromium (Debian's chromium and chromium-driver, which
//! scripts/test installs when missing): the JavaScript SDK's overlay and widget, every Lightbox
//! step, the bank OAuth pop-up, phones, framing rules and the demo shop. A failing test leaves a
//! screenshot and the page's HTML under target/tmp/browser-failures/<test>/; passing tests keep
//! the screenshots in docs/screenshots/ current.

#[allow(dead_code)]
#[path = "../it/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../it/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../it/receiver.rs"]
mod receiver;

mod harness;
mod site;
mod steps;
mod world;

mod demo_shop;
mod embedding;
mod lightbox_steps;
mod sdk;
