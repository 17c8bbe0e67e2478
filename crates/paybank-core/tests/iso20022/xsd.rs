//! Schema validity: every message paybank writes has an `AppHdr` valid against
//! head.001.001.02.xsd and a `Document` valid against pacs.008.001.08.xsd or pacs.002.001.10.xsd,
//! checked by a real validator (PyPI `xmlschema`, see `third_party_xsd`). The envelope's schema
//! is not vendored, so the checker validates the two ISO parts of each file separately.

use std::path::PathBuf;

use paybank_core::iso20022::{write_envelope, Envelope, InstantNetwork, TransactionStatus};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use super::fixtures::*;
use super::round_trip;
use crate::third_party_xsd::{scratch_dir, xsd_check};

/// Writes each envelope to a file named after it and returns the paths.
fn write_files(dir: &str, envelopes: &[(String, Envelope)]) -> Vec<PathBuf> {
    let dir = scratch_dir(dir);
    let files = envelopes.iter().map(|(name, envelope)| {
        let xml = write_envelope(envelope).unwrap_or_else(|err| panic!("{name}: {err}"));
        let path = dir.join(format!("{name}.xml"));
        std::fs::write(&path, xml).expect("write the message");
        path
    });
    files.collect()
}

/// Runs the checker and asserts that each file had both parts validated.
fn assert_valid(files: &[PathBuf]) {
    let report = xsd_check(files).unwrap_or_else(|err| panic!("schema validation failed:\n{err}"));
    for file in files {
        let file = file.display().to_string();
        let parts = report
            .lines()
            .filter(|line| line.starts_with(&format!("ok {file} ")))
            .count();
        assert_eq!(
            parts, 2,
            "AppHdr and Document of {file} must both be checked:\n{report}"
        );
    }
}

// The Fed's own samples validate: the validator and the vendored schemas work.
#[test]
fn the_fed_samples_are_schema_valid() {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fednow"));
    let samples = [SAMPLE_PACS_008, SAMPLE_PACS_002, SAMPLE_OUTGOING_PACS_002];
    assert_valid(&samples.map(|name| dir.join(name)));
}

// A document the schema forbids (no charge bearer) is reported: the check can fail.
#[test]
fn the_validator_rejects_an_invalid_document() {
    let xml = write_envelope(&transfer_envelope(InstantNetwork::FedNow, full_transfer())).unwrap();
    let line = xml.lines().find(|line| line.contains("<ChrgBr>")).unwrap();
    let path = scratch_dir("iso20022-xsd-invalid").join("no-charge-bearer.xml");
    std::fs::write(&path, xml.replace(line, "")).unwrap();
    let err = xsd_check(std::slice::from_ref(&path)).unwrap_err();
    assert!(err.contains("invalid") && err.contains("ChrgBr"), "{err}");
}

#[test]
fn written_credit_transfers_and_status_reports_are_schema_valid() {
    let mut envelopes = Vec::new();
    for network in [InstantNetwork::FedNow, InstantNetwork::Rtp] {
        let name = format!("{network:?}").to_lowercase();
        let full = transfer_envelope(network, full_transfer());
        let minimal = transfer_envelope(network, minimal_transfer());
        envelopes.push((format!("{name}-pacs008-full"), full));
        envelopes.push((format!("{name}-pacs008-minimal"), minimal));
        for status in TransactionStatus::ALL {
            let report = report_envelope(network, status_report(status));
            envelopes.push((format!("{name}-pacs002-{}", status.code()), report));
        }
    }
    assert_valid(&write_files("iso20022-xsd-fixed", &envelopes));
}

// Random messages (fixed seed) reach corners the fixtures do not: escaping, long texts,
// fractions of seconds, far offsets, proprietary reasons.
#[test]
fn random_written_messages_are_schema_valid() {
    let mut runner = TestRunner::deterministic();
    let strategy = round_trip::envelope();
    let envelopes: Vec<(String, Envelope)> = (0..40)
        .map(|i| {
            let envelope = strategy.new_tree(&mut runner).expect("a message").current();
            (format!("random-{i:02}"), envelope)
        })
        .collect();
    assert_valid(&write_files("iso20022-xsd-random", &envelopes));
}
