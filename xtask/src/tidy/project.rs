//! Checks tied to paybank's layout: core dependencies, migrations, error codes, config.
//!
//! Each one is skipped when the files it needs do not exist yet, so tidy passes on a young tree.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use super::lex::{is_ident_char, strip_literals, strip_visibility};
use super::Failure;

/// paybank-core is the pure domain: no I/O, no clock, no randomness, so none of these.
const CORE_FORBIDDEN_DEPS: &[&str] = &[
    "tokio",
    "sqlx",
    "axum",
    "hyper",
    "reqwest",
    "tower",
    "rand",
    "getrandom",
];

const CORE_MANIFEST: &str = "crates/paybank-core/Cargo.toml";
const MIGRATIONS_DIR: &str = "crates/paybank-store/migrations";
const ERROR_CODES_FILE: &str = "crates/paybank-server/src/api/error.rs";
const ERROR_CODES_START: &str = "// tidy:error-codes:start";
const ERROR_CODES_END: &str = "// tidy:error-codes:end";
const CONFIG_RS: &str = "crates/paybank-server/src/config.rs";
const CONFIG_TOML: &str = "config.default.toml";

/// `(line, crate)` for every forbidden crate in the manifest's normal dependency tables:
/// `[dependencies]`, `[target.*.dependencies]` and `[dependencies.<name>]` headers.
fn forbidden_deps(manifest: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut in_deps = false;
    for (idx, line) in manifest.lines().enumerate() {
        let line = line.trim();
        let mut names = Vec::new();
        if line.starts_with('[') {
            let header = line.trim_matches(['[', ']']).trim();
            in_deps = header == "dependencies"
                || (header.starts_with("target.") && header.ends_with(".dependencies"));
            names.extend(header.strip_prefix("dependencies."));
        } else if in_deps && !line.is_empty() && !line.starts_with('#') {
            let key = line.split(['=', '.', ' ', '\t']).next().unwrap_or("");
            names.push(key.trim_matches('"'));
            // `foo = { package = "tokio" }` pulls tokio in under another name.
            names.extend(renamed_package(line));
        }
        for name in names {
            if CORE_FORBIDDEN_DEPS.contains(&name) {
                found.push((idx + 1, name.to_string()));
            }
        }
    }
    found
}

/// The value of `package = "..."` in a dependency line, if any.
fn renamed_package(line: &str) -> Option<&str> {
    let (_, after) = line.split_once("package")?;
    let value = after.trim_start().strip_prefix('=')?.trim_start();
    value.strip_prefix('"')?.split('"').next()
}

pub(super) fn check_core_deps(root: &Path, failures: &mut Vec<Failure>) {
    // A missing manifest is cargo's problem, not tidy's.
    let Ok(manifest) = fs::read_to_string(root.join(CORE_MANIFEST)) else {
        return;
    };
    for (line, name) in forbidden_deps(&manifest) {
        let msg = format!(
            "paybank-core must stay free of I/O, async runtimes and randomness: `{name}` is not \
             allowed in its dependencies; put that code in paybank-store or paybank-server"
        );
        failures.push(Failure::new(CORE_MANIFEST, line, msg));
    }
}

// ---------------------------------------------------------------------------------------------
// Check 5: both database backends define the same migrations.
// ---------------------------------------------------------------------------------------------

/// Non-hidden entry names in `dir`, or `None` if it does not exist.
fn dir_names(dir: &Path) -> Option<BTreeSet<String>> {
    let entries = fs::read_dir(dir).ok()?;
    let names = entries.filter_map(Result::ok);
    let names = names.map(|e| e.file_name().to_string_lossy().into_owned());
    Some(names.filter(|n| !n.starts_with('.')).collect())
}

pub(super) fn check_migrations(root: &Path, failures: &mut Vec<Failure>) {
    let base = root.join(MIGRATIONS_DIR);
    let (Some(sqlite), Some(postgres)) = (
        dir_names(&base.join("sqlite")),
        dir_names(&base.join("postgres")),
    ) else {
        return;
    };
    let sides = [
        ("sqlite", &sqlite, "postgres", &postgres),
        ("postgres", &postgres, "sqlite", &sqlite),
    ];
    for (dir, names, other_dir, other) in sides {
        for name in names.difference(other) {
            let msg = format!(
                "migration has no file of the same name in {MIGRATIONS_DIR}/{other_dir}/; both \
                 backends must define the same migrations"
            );
            failures.push(Failure::new(
                &format!("{MIGRATIONS_DIR}/{dir}/{name}"),
                1,
                msg,
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Check 6: API error codes are unique.
// ---------------------------------------------------------------------------------------------

/// `(name, code)` from `[pub] const NAME: u16 = 123;` or `Name = 123,` in blanked code.
fn parse_error_code(code_line: &str) -> Option<(String, u64)> {
    let (lhs, rhs) = code_line.split_once('=')?;
    let lhs = lhs.trim();
    let lhs = strip_visibility(lhs).unwrap_or(lhs);
    let (name, value) = if let Some(decl) = lhs.strip_prefix("const ") {
        let (name, ty) = decl.split_once(':')?;
        (ty.trim() == "u16").then_some(())?;
        (name.trim(), rhs.trim().strip_suffix(';')?)
    } else {
        (lhs, rhs.trim().strip_suffix(',')?)
    };
    let is_ident = !name.is_empty() && name.chars().all(is_ident_char);
    let value = value.trim().replace('_', "").parse().ok()?;
    is_ident.then(|| (name.to_string(), value))
}

/// `(line, message)` for every duplicate code between the markers, and for broken markers.
fn duplicate_error_codes(src: &str) -> Vec<(usize, String)> {
    let raw: Vec<&str> = src.lines().collect();
    let find = |marker: &str| raw.iter().position(|l| l.trim() == marker);
    let (start, end) = match (find(ERROR_CODES_START), find(ERROR_CODES_END)) {
        (None, None) => return Vec::new(),
        (Some(start), Some(end)) if start < end => (start, end),
        (start, end) => {
            let line = start.or(end).unwrap_or(0) + 1;
            let msg = format!("`{ERROR_CODES_START}` must be followed by `{ERROR_CODES_END}`");
            return vec![(line, msg)];
        }
    };
    let mut seen: BTreeMap<u64, (String, usize)> = BTreeMap::new();
    let mut dups = Vec::new();
    let code = strip_literals(src);
    for (idx, line) in code.lines().enumerate().take(end).skip(start + 1) {
        let Some((name, value)) = parse_error_code(line) else {
            continue;
        };
        if let Some((first, first_line)) = seen.get(&value) {
            let msg = format!(
                "error code {value} of `{name}` is already used by `{first}` (line {first_line}); \
                 clients match on codes, so each must be unique"
            );
            dups.push((idx + 1, msg));
        } else {
            seen.insert(value, (name, idx + 1));
        }
    }
    dups
}

pub(super) fn check_error_codes(root: &Path, failures: &mut Vec<Failure>) {
    let Ok(src) = fs::read_to_string(root.join(ERROR_CODES_FILE)) else {
        return;
    };
    for (line, msg) in duplicate_error_codes(&src) {
        failures.push(Failure::new(ERROR_CODES_FILE, line, msg));
    }
}

// ---------------------------------------------------------------------------------------------
// Check 7: every config field is documented in config.default.toml.
// ---------------------------------------------------------------------------------------------

/// Keys (last dotted segment) and table names in a TOML file, commented-out ones included,
/// because the default config documents optional settings as `# key = value`.
fn toml_keys(toml: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for line in toml.lines() {
        let line = line.trim();
        let line = line.strip_prefix('#').map_or(line, str::trim_start);
        let key = if line.starts_with('[') {
            line.trim_matches(['[', ']'])
        } else if let Some((key, _)) = line.split_once('=') {
            key
        } else {
            continue;
        };
        let last = key.rsplit('.').next().unwrap_or(key);
        keys.insert(last.trim().trim_matches('"').to_string());
    }
    keys
}

/// The field name of a `pub name: Type` struct field line in blanked code.
fn pub_field(code_line: &str) -> Option<&str> {
    let rest = strip_visibility(code_line.trim_start())?;
    let rest = rest.strip_prefix("r#").unwrap_or(rest);
    let name_len = rest.find(|c| !is_ident_char(c)).unwrap_or(rest.len());
    let (name, after) = rest.split_at(name_len);
    let after = after.trim_start();
    let is_field = after.starts_with(':') && !after.starts_with("::");
    (!name.is_empty() && is_field).then_some(name)
}

pub(super) fn check_config_keys(root: &Path, failures: &mut Vec<Failure>) {
    let config_rs = fs::read_to_string(root.join(CONFIG_RS));
    let config_toml = fs::read_to_string(root.join(CONFIG_TOML));
    let (Ok(config_rs), Ok(config_toml)) = (config_rs, config_toml) else {
        return;
    };
    let keys = toml_keys(&config_toml);
    for (idx, line) in strip_literals(&config_rs).lines().enumerate() {
        let Some(field) = pub_field(line) else {
            continue;
        };
        if !keys.contains(field) {
            let msg = format!(
                "config field `{field}` is missing from {CONFIG_TOML}; document it there as \
                 `{field} = ...` (or `# {field} = ...` if optional)"
            );
            failures.push(Failure::new(CONFIG_RS, idx + 1, msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_core_dependencies() {
        let manifest = "[package]\nname = \"tokio\"\n\n[dependencies]\nserde.workspace = true\n\
                        tokio.workspace = true\nrng = { package = \"rand\", version = \"0.8\" }\n\
                        [dev-dependencies]\nsqlx = \"0.8\"\n[dependencies.axum]\nversion = \"1\"\n";
        let found = forbidden_deps(manifest);
        let expect = vec![(6, "tokio".into()), (7, "rand".into()), (10, "axum".into())];
        assert_eq!(found, expect);
    }

    #[test]
    fn duplicate_error_codes_between_markers() {
        let src = "const OUTSIDE: u16 = 1;\n// tidy:error-codes:start\npub const A: u16 = 1;\n\
                   const B: u16 = 2; // note\n    C = 1_0,\n    D = 2,\n// tidy:error-codes:end\n";
        let dups = duplicate_error_codes(src);
        assert_eq!(dups.len(), 1);
        assert_eq!(dups[0].0, 6);
        assert!(dups[0].1.contains("`B`"), "{}", dups[0].1);
        assert!(duplicate_error_codes("const A: u16 = 1;\nconst B: u16 = 1;\n").is_empty());
        assert_eq!(duplicate_error_codes("// tidy:error-codes:end\n").len(), 1);
    }

    #[test]
    fn config_fields_need_toml_keys() {
        let keys = toml_keys("[server]\nlisten = \"x\"\n# timeout_secs = 5\n[db.pool]\n");
        let expect = ["listen", "pool", "server", "timeout_secs"];
        assert_eq!(keys, expect.iter().map(ToString::to_string).collect());
        assert_eq!(pub_field("    pub listen: String,"), Some("listen"));
        assert_eq!(pub_field("    pub(crate) r#type: u8,"), Some("type"));
        assert_eq!(pub_field("pub struct Config {"), None);
        assert_eq!(pub_field("pub const X: u16 = 1;"), None);
        assert_eq!(pub_field("    listen: String,"), None);
    }
}
