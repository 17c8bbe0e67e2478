//! `paybank id` translates between a public id and what the database keeps in its place, both
//! ways, with the deployment's own secret.

use std::path::Path;
use std::process::{Command, Output};

fn paybank(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paybank"))
        .args(args)
        .env("PAYBANK_DATA_DIR", data_dir)
        .env_remove("PAYBANK_DATABASE_URL")
        .output()
        .expect("run paybank")
}

fn printed(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout.clone())
        .expect("UTF-8")
        .trim()
        .to_owned()
}

#[test]
fn ids_translate_to_their_stored_counters_and_back() {
    let dir = std::env::temp_dir().join(format!("paybank-id-command-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the data directory");
    let created = printed(&paybank(
        &dir,
        &["merchant", "create", "--name", "Shop", "--json"],
    ));
    let created: serde_json::Value = serde_json::from_str(&created).expect("JSON");
    let merchant_id = created["merchantId"].as_str().expect("merchantId");

    let stored = printed(&paybank(&dir, &["id", "stored", merchant_id]));
    let counter: i64 = stored.parse().expect("a number");
    assert!((0..1_000_000_000_000).contains(&counter), "{stored}");
    assert_eq!(
        printed(&paybank(&dir, &["id", "public", &stored])),
        merchant_id
    );

    assert_eq!(printed(&paybank(&dir, &["id", "stored", "41"])), "-42");
    assert_eq!(printed(&paybank(&dir, &["id", "public", "-42"])), "41");
    let unknown = paybank(&dir, &["id", "public", merchant_id]);
    assert!(!unknown.status.success(), "a public id is no stored value");
    let _ = std::fs::remove_dir_all(&dir);
}
