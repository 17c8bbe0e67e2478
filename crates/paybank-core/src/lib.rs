//! paybank's domain: money, ids, the transaction state machine, the ledger, the Lightbox rules
//! and the provider's signatures. No I/O, no clock, no randomness: time, ids and random bytes
//! are arguments, so every rule is a pure function that tests can drive deterministically.

pub mod ach_files;
pub mod ach_schedule;
pub mod authorization;
pub mod autocapture;
pub mod calendar;
pub mod capture;
pub mod change;
pub mod codes;
pub mod demo_bank;
pub mod eastern;
pub mod events;
pub mod ids;
pub mod iso20022;
pub mod json_text;
pub mod ledger;
pub mod lightbox;
pub mod manual_entry;
pub mod model;
pub mod money;
pub mod nacha;
pub mod rails;
pub mod recurrence;
pub mod return_window;
pub mod returns;
pub mod routing;
pub mod rules;
pub mod settlement;
pub mod signature;
pub mod split_token;
