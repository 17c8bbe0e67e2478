//! HTTP integration tests of paybank-server: a real server on 127.0.0.1 over a fresh database,
//! a real webhook receiver that verifies signatures as a merchant would, and every scenario
//! driven over HTTP (merchant API, Lightbox pages, sandbox clock) without sleeping.
//!
//! One test binary; the modules only keep files short. The harness is in `helpers`, `client`,
//! `pages` and `receiver`; the scenarios are in the other modules.

mod client;
mod helpers;
mod pages;
mod receiver;

mod access_rules;
mod demo;
mod journey;
mod lightbox_pages;
mod listing;
mod manual_entry;
mod metrics;
mod mobile;
mod money_rules;
mod rails_ach;
mod rails_funds;
mod rails_instant;
mod rails_properties;
mod rails_third_party;
mod sandbox_bank;
mod sandbox_off;
mod split_tokens;
mod webhooks;
