//! paybank's server: the merchant API, the hosted Lightbox pages, the background workers
//! (settlement and event delivery) and the simulated banks' behaviour, over a [`paybank_store::Store`].
//!
//! Handlers parse input into core types, call a core rule through [`service`], commit through
//! the store and map the result to a response; nothing here decides payment rules itself.

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod demo;
pub mod establish;
pub mod ids;
pub mod jobs;
pub mod lightbox;
pub mod lightbox_flow;
pub mod merchants;
pub mod metrics;
pub mod mobile;
pub mod origins;
pub mod presentation;
pub mod rails;
pub mod random;
pub mod redirect;
pub mod request_log;
pub mod sdk;
pub mod service;

pub use app::{app, open_store, serve, AppState};
pub use config::Config;
