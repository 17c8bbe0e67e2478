//! `cargo xtask tidy`: repository rules that rustc, clippy and rustfmt do not enforce.
//!
//! Every check is textual and std-only on purpose: tidy must keep working while the rest of the
//! workspace is half-written and does not compile, and it must not slow `cargo test` down with
//! parser dependencies. Each problem is reported as `path:line: message`; all problems are
//! collected first so one run shows everything that needs fixing.

mod lengths;
mod lex;
mod project;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use lengths::check_lengths;
use lex::{is_ident_char, strip_literals};

/// Longest allowed function, counted from the `fn` line through its closing brace.
const MAX_FUNCTION_LINES: usize = 70;
/// Longest allowed file, counting only the code before its `#[cfg(test)] mod tests`.
const MAX_FILE_LINES: usize = 600;

/// Files allowed to exceed `MAX_FILE_LINES`, as repo-relative paths (`crates/x/src/y.rs`).
/// The list can only shrink: an entry that is back under the limit is reported as an error.
const LONG_FILES: &[&str] = &[];
/// Functions allowed to exceed `MAX_FUNCTION_LINES`, as `crates/x/src/y.rs::function_name`.
/// The list can only shrink: an entry that is back under the limit is reported as an error.
const LONG_FUNCTIONS: &[&str] = &[];

/// Attributes that hide a test instead of fixing it, with the reason shown to the author.
/// Only the attribute name is stored (not `#[name]`) so this file does not match itself.
const BANNED_ATTRIBUTES: &[(&str, &str)] = &[
    (
        "ignore",
        "a test that cannot pass must be fixed or deleted, not skipped",
    ),
    (
        "should_panic",
        "assert on a returned error instead; a panic anywhere would satisfy the test",
    ),
];
/// Macros that mark unfinished or debugging code; stored without `!` for the same reason.
const BANNED_MACROS: &[&str] = &["todo", "unimplemented", "dbg"];
/// Console output belongs to the binary, xtask and tests; libraries log through `tracing`.
const PRINT_MACROS: &[&str] = &["println", "eprintln"];

/// Where the allow-lists live, so stale entries can be reported at their own line.
const TIDY_RS: &str = "xtask/src/tidy.rs";

/// One problem found by tidy.
#[derive(Debug)]
pub struct Failure {
    path: String,
    line: usize,
    message: String,
}

impl Failure {
    fn new(path: &str, line: usize, message: String) -> Self {
        Failure {
            path: path.to_string(),
            line,
            message,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.message)
    }
}

/// A Rust source file, kept both verbatim and with comments and literal contents blanked.
struct SourceFile {
    /// Repo-relative path with `/` separators, the form used in messages and allow-lists.
    rel: String,
    raw: String,
    /// Same lines as `raw`, but patterns inside strings or comments can no longer match.
    code: String,
}

/// The workspace root: xtask lives one directory below it.
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Runs every check against the repository at `root` and returns all problems found.
pub fn run(root: &Path) -> Vec<Failure> {
    let mut failures = Vec::new();
    let files = load_sources(root, &mut failures);
    for file in &files {
        check_module_doc(file, &mut failures);
        check_banned_tokens(file, &mut failures);
    }
    check_lengths(&files, LONG_FILES, LONG_FUNCTIONS, &mut failures);
    project::check_core_deps(root, &mut failures);
    project::check_migrations(root, &mut failures);
    project::check_error_codes(root, &mut failures);
    project::check_config_keys(root, &mut failures);
    failures
}

/// Reads every `.rs` file under `crates/` and `xtask/`, in a stable order.
fn load_sources(root: &Path, failures: &mut Vec<Failure>) -> Vec<SourceFile> {
    let mut paths = Vec::new();
    for dir in ["crates", "xtask"] {
        if let Err(err) = collect_rs_files(&root.join(dir), &mut paths) {
            failures.push(Failure::new(
                dir,
                0,
                format!("cannot list directory: {err}"),
            ));
        }
    }
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let rel = relative(root, &path);
        match fs::read_to_string(&path) {
            Ok(raw) => {
                let code = strip_literals(&raw);
                files.push(SourceFile { rel, raw, code });
            }
            Err(err) => failures.push(Failure::new(&rel, 0, format!("cannot read file: {err}"))),
        }
    }
    files
}

/// Recursively collects `.rs` files, skipping build output and hidden directories.
fn collect_rs_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            collect_rs_files(&entry.path(), out)?;
        } else if name.ends_with(".rs") {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// `path` relative to `root`, `/`-separated so messages and allow-lists match on every OS.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

// ---------------------------------------------------------------------------------------------
// Check 1: module docs.
// ---------------------------------------------------------------------------------------------

/// A reader opening any file should learn at once what it is for.
fn has_module_doc(raw: &str) -> bool {
    raw.lines()
        .take(5)
        .any(|line| line.trim_start().starts_with("//!"))
}

fn check_module_doc(file: &SourceFile, failures: &mut Vec<Failure>) {
    if !has_module_doc(&file.raw) {
        let msg =
            "file must start with a `//!` comment (within its first 5 lines) saying what it is for";
        failures.push(Failure::new(&file.rel, 1, msg.to_string()));
    }
}

// ---------------------------------------------------------------------------------------------
// Check 2: banned attributes and macros.
// ---------------------------------------------------------------------------------------------

/// The binary, xtask and test/bench code may talk to the console; library code may not. A
/// build script talks to cargo through its standard output.
fn print_allowed(rel: &str) -> bool {
    rel.starts_with("crates/paybank/src/")
        || rel.starts_with("xtask/")
        || rel.ends_with("/build.rs")
        || rel
            .split('/')
            .any(|part| part == "tests" || part == "benches")
}

/// `#[name]` or `#[name(...)]` / `#[name = ...]` appears in (already blanked) code.
fn has_attribute(code_line: &str, name: &str) -> bool {
    code_line.match_indices("#[").any(|(pos, _)| {
        let rest = code_line[pos + 2..].trim_start();
        rest.strip_prefix(name)
            .is_some_and(|after| !after.starts_with(is_ident_char))
    })
}

/// An invocation `name!` appears in (already blanked) code, as a whole identifier.
fn has_macro(code_line: &str, name: &str) -> bool {
    code_line.match_indices(name).any(|(pos, _)| {
        let before_ok = !code_line[..pos].ends_with(is_ident_char);
        let after = code_line[pos + name.len()..].trim_start();
        before_ok && after.starts_with('!') && !after.starts_with("!=")
    })
}

fn check_banned_tokens(file: &SourceFile, failures: &mut Vec<Failure>) {
    let may_print = print_allowed(&file.rel);
    for (idx, line) in file.code.lines().enumerate() {
        let mut report = |msg: String| failures.push(Failure::new(&file.rel, idx + 1, msg));
        for (attr, why) in BANNED_ATTRIBUTES {
            if has_attribute(line, attr) {
                report(format!("`#[{attr}]` is not allowed: {why}"));
            }
        }
        for mac in BANNED_MACROS {
            if has_macro(line, mac) {
                report(format!(
                    "`{mac}!` must not be committed; finish or remove it"
                ));
            }
        }
        for mac in PRINT_MACROS.iter().filter(|_| !may_print) {
            if has_macro(line, mac) {
                report(format!(
                    "`{mac}!` is only allowed in crates/paybank/src, xtask, tests and benches; \
                     use `tracing` in library code"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lengths::{function_spans, non_test_lines};
    use super::*;

    /// The real repository must pass, so `cargo test --workspace` enforces tidy.
    #[test]
    fn tidy_checks_pass() {
        let failures = run(&repo_root());
        let report: Vec<String> = failures.iter().map(ToString::to_string).collect();
        assert!(
            failures.is_empty(),
            "tidy found {} problem(s):\n{}",
            failures.len(),
            report.join("\n")
        );
    }

    /// Writes `files` (repo-relative path, contents) into a fresh scratch repository.
    fn scratch_repo(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for (rel, text) in files {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().expect("file has a parent")).expect("mkdir");
            fs::write(&path, text).expect("write");
        }
        root
    }

    /// Every check reports through `run`, with the file and line of the problem.
    #[test]
    fn run_reports_every_check_on_a_broken_tree() {
        let long_fn = format!(
            "//! x\nfn big() {{\n{}}}\n",
            "1;\n".repeat(MAX_FUNCTION_LINES)
        );
        let root = scratch_repo(
            "tidy-broken",
            &[
                ("crates/a/src/lib.rs", "fn f() {\n    dbg!(1);\n}\n"),
                ("crates/a/src/long.rs", &long_fn),
                ("crates/a/tests/it.rs", "//! x\nfn t() { println!(); }\n"),
                ("crates/a/build.rs", "//! x\nfn main() { println!(); }\n"),
                (
                    "crates/paybank-core/Cargo.toml",
                    "[dependencies]\nrand = \"1\"\n",
                ),
                ("crates/paybank-store/migrations/sqlite/0001_a.sql", ""),
                ("crates/paybank-store/migrations/postgres/.keep", ""),
                (
                    "crates/paybank-server/src/api/error.rs",
                    "//! x\n// tidy:error-codes:start\nA = 1,\nB = 1,\n// tidy:error-codes:end\n",
                ),
                (
                    "crates/paybank-server/src/config.rs",
                    "//! x\npub struct C {\n    pub host: String,\n    pub port: u16,\n}\n",
                ),
                ("config.default.toml", "[server]\nhost = \"0.0.0.0\"\n"),
                ("xtask/src/main.rs", "//! x\nfn main() { println!(); }\n"),
            ],
        );
        let report: Vec<String> = run(&root).iter().map(ToString::to_string).collect();
        let _ = fs::remove_dir_all(&root);
        let locations: Vec<&str> = report.iter().filter_map(|r| r.split(": ").next()).collect();
        let expect = [
            "crates/a/src/lib.rs:1",
            "crates/a/src/lib.rs:2",
            "crates/a/src/long.rs:2",
            "crates/paybank-core/Cargo.toml:2",
            "crates/paybank-store/migrations/sqlite/0001_a.sql:1",
            "crates/paybank-server/src/api/error.rs:4",
            "crates/paybank-server/src/config.rs:4",
        ];
        assert_eq!(locations, expect, "{report:#?}");
    }

    fn spans(src: &str) -> Vec<(String, usize, usize)> {
        let code = strip_literals(src);
        let spans = function_spans(&code);
        spans.into_iter().map(|s| (s.name, s.line, s.len)).collect()
    }

    fn file(rel: &str, raw: &str) -> SourceFile {
        let code = strip_literals(raw);
        SourceFile {
            rel: rel.to_string(),
            raw: raw.to_string(),
            code,
        }
    }

    #[test]
    fn module_doc_must_be_in_first_five_lines() {
        assert!(has_module_doc("//! What this is.\nfn main() {}\n"));
        assert!(has_module_doc("#![allow(x)]\n\n  //! Indented.\n"));
        assert!(!has_module_doc("fn main() {}\n"));
        assert!(!has_module_doc(""));
        assert!(!has_module_doc(
            "/// Item doc, not module doc.\nfn f() {}\n"
        ));
        assert!(!has_module_doc("\n\n\n\n\n//! Too late.\n"));
    }

    #[test]
    fn counts_simple_and_one_line_functions() {
        let src = "fn a() {\n    1;\n}\nimpl X { fn b(&self) {} }\npub fn c<T>(t: T) {\n}\n";
        let expect = vec![("a".into(), 1, 3), ("c".into(), 5, 2)];
        // `b` sits after `impl X {` on its line, so it is not at line start and not counted.
        assert_eq!(spans(src), expect);
        assert_eq!(
            spans("    fn b(&self) -> u8 { 0 }\n"),
            vec![("b".into(), 1, 1)]
        );
    }

    #[test]
    fn counts_qualified_and_nested_functions() {
        let src = "pub(crate) async unsafe fn outer() {\n    fn inner() {\n    }\n}\n\
                   pub const extern \"C\" fn ffi(x: u8) -> u8 {\n    x\n}\n";
        let expect = vec![
            ("outer".into(), 1, 4),
            ("inner".into(), 2, 2),
            ("ffi".into(), 5, 3),
        ];
        assert_eq!(spans(src), expect);
    }

    #[test]
    fn ignores_braces_in_literals_and_comments() {
        let src = r##"fn a<'a>(s: &'a str) -> char {
    let _ = "}}}";
    let _ = r#"{ "}" "#;
    let _ = b"\"}";
    // }
    /* } /* nested } */ } */
    let _ = '\'';
    '}'
}
fn b() {}
"##;
        assert_eq!(spans(src), vec![("a".into(), 1, 9), ("b".into(), 10, 1)]);
    }

    #[test]
    fn bodiless_declarations_and_multiline_signatures() {
        let src = "trait T {\n    fn decl(&self, k: [u8; 4]);\n}\n\
                   fn multi(\n    k: [u8; 4],\n) -> u8\nwhere\n    u8: Copy,\n{\n    0\n}\n";
        assert_eq!(spans(src), vec![("multi".into(), 4, 8)]);
    }
    #[test]
    fn banned_tokens_found_only_in_code() {
        // Built from pieces so that a plain text search for stubs does not find this test.
        let src = [
            concat!("#[", "ignore]\n"),
            concat!("let _ = \"", "dbg", "!(x)\";\n"),
            concat!("// ", "todo", "!()\n"),
            "x.dbg_y();\n",
            concat!("todo", "!();\n"),
            concat!("#[should", "_panic(expected = \"boom\")]\n"),
            "println!(\"hi\");\n",
        ]
        .concat();
        let src = src.as_str();
        let mut failures = Vec::new();
        check_banned_tokens(&file("crates/paybank-core/src/lib.rs", src), &mut failures);
        let lines: Vec<usize> = failures.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![1, 5, 6, 7]);
        failures.clear();
        check_banned_tokens(&file("crates/paybank-core/tests/it.rs", src), &mut failures);
        assert_eq!(failures.len(), 3, "println is fine in tests");
    }

    #[test]
    fn long_items_and_stale_allow_list_entries() {
        let long_fn = format!("fn big() {{\n{}}}\n", "    1;\n".repeat(MAX_FUNCTION_LINES));
        let files = [file("crates/a/src/lib.rs", &long_fn)];
        let mut failures = Vec::new();
        check_lengths(&files, &[], &[], &mut failures);
        assert_eq!(failures.len(), 1);
        assert!(failures[0].message.contains("LONG_FUNCTIONS"));
        failures.clear();
        let allow = ["crates/a/src/lib.rs::big"];
        check_lengths(&files, &[], &allow, &mut failures);
        assert!(failures.is_empty());
        let stale = ["crates/a/src/lib.rs"];
        check_lengths(&files, &stale, &allow, &mut failures);
        assert_eq!(failures.len(), 1);
        assert!(failures[0]
            .message
            .contains("remove it from the allow-list"));
    }

    #[test]
    fn test_module_does_not_count_toward_file_length() {
        let src = "fn a() {}\n\n#[cfg(test)]\nmod tests {\n}\n";
        assert_eq!(non_test_lines(src), 2);
        assert_eq!(
            non_test_lines("fn a() {}\n    #[cfg(test)]\nmod tests {}\n"),
            3
        );
    }
}
