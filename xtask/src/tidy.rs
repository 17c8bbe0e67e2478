//! `cargo xtask tidy`: repository rules that rustc, clippy and rustfmt do not enforce.
//!
//! Every check is textual and std-only on purpose: tidy must keep working while the rest of the
//! workspace is half-written and does not compile, and it must not slow `cargo test` down with
//! parser dependencies. Each problem is reported as `path:line: message`; all problems are
//! collected first so one run shows everything that needs fixing.

mod lex;
mod project;

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use lex::{is_ident_char, strip_literals, strip_visibility};

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

// ---------------------------------------------------------------------------------------------
// Check 4: function and file length, with shrink-only allow-lists.
// ---------------------------------------------------------------------------------------------

/// A function found in blanked code: its name, 1-based first line and length in lines.
#[derive(Debug, PartialEq)]
struct FnSpan {
    name: String,
    line: usize,
    len: usize,
}

/// Every function with a body, counted from its `fn` line through the matching `}`.
fn function_spans(code: &str) -> Vec<FnSpan> {
    let lines: Vec<&str> = code.lines().collect();
    let mut spans = Vec::new();
    for (idx, line) in lines.iter().enumerate() {
        let Some((name, col)) = fn_header(line) else {
            continue;
        };
        if let Some(end) = body_end(&lines, idx, col) {
            let len = end - idx + 1;
            spans.push(FnSpan {
                name,
                line: idx + 1,
                len,
            });
        }
    }
    spans
}

/// Recognises `[pub(..)] [async] [const] [unsafe] [extern ".."] fn name(` or `fn name<`;
/// returns the name and the byte column right after it, where the signature continues.
fn fn_header(line: &str) -> Option<(String, usize)> {
    let mut rest = line.trim_start();
    loop {
        let stripped = if let Some(after) = strip_visibility(rest) {
            after
        } else if let Some(after) = rest.strip_prefix('"') {
            // The ABI string of `extern "C"`, blanked to `" "` by `strip_literals`.
            after.split_once('"').map_or(after, |(_, tail)| tail)
        } else {
            let quals = ["async", "const", "unsafe", "extern", "default"];
            let found = quals.iter().find_map(|q| rest.strip_prefix(q));
            match found.filter(|after| after.starts_with(char::is_whitespace)) {
                Some(after) => after,
                None => break,
            }
        };
        rest = stripped.trim_start();
    }
    let rest = rest.strip_prefix("fn")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start();
    let name: String = rest.chars().take_while(|&c| is_ident_char(c)).collect();
    let after = &rest[name.len()..];
    let opens = after.trim_start().starts_with(['(', '<']);
    (!name.is_empty() && opens).then(|| (name, line.len() - after.len()))
}

/// Index of the line holding the `}` that closes the body of the function whose signature
/// starts at `lines[start][col..]`; `None` for a bodiless declaration such as a trait method.
fn body_end(lines: &[&str], start: usize, col: usize) -> Option<usize> {
    // Parens and brackets matter only before the body: `;` inside `[u8; 4]` is not the end.
    let mut nesting = 0i32;
    let mut depth = 0usize;
    for (idx, line) in lines.iter().enumerate().skip(start) {
        let text = if idx == start { &line[col..] } else { line };
        for c in text.chars() {
            match c {
                '(' | '[' if depth == 0 => nesting += 1,
                ')' | ']' if depth == 0 => nesting -= 1,
                ';' if depth == 0 && nesting == 0 => return None,
                '{' => depth += 1,
                '}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(idx);
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// Lines that count toward the file limit: everything before `#[cfg(test)]` + `mod tests`,
/// because unit tests belong next to the code they test and are allowed to be long.
fn non_test_lines(raw: &str) -> usize {
    let lines: Vec<&str> = raw.lines().collect();
    let is_test_start = |i: usize| {
        lines[i].trim_end() == "#[cfg(test)]"
            && lines
                .get(i + 1)
                .is_some_and(|next| next.starts_with("mod tests"))
    };
    (0..lines.len())
        .find(|&i| is_test_start(i))
        .unwrap_or(lines.len())
}

fn check_lengths(
    files: &[SourceFile],
    long_files: &[&str],
    long_functions: &[&str],
    failures: &mut Vec<Failure>,
) {
    // Allow-list entries that are still needed; the rest are stale and must be removed.
    let mut used = BTreeSet::new();
    for file in files {
        let count = non_test_lines(&file.raw);
        if count > MAX_FILE_LINES {
            if long_files.contains(&file.rel.as_str()) {
                used.insert(file.rel.clone());
            } else {
                let msg = format!(
                    "file has {count} non-test lines (max {MAX_FILE_LINES}); split it into \
                     modules, or add it to LONG_FILES in {TIDY_RS}"
                );
                failures.push(Failure::new(&file.rel, MAX_FILE_LINES + 1, msg));
            }
        }
        for span in function_spans(&file.code) {
            let key = format!("{}::{}", file.rel, span.name);
            if span.len <= MAX_FUNCTION_LINES {
                continue;
            } else if long_functions.contains(&key.as_str()) {
                used.insert(key);
                continue;
            }
            let msg = format!(
                "function `{}` is {} lines (max {MAX_FUNCTION_LINES}); split it, or add \
                 \"{key}\" to LONG_FUNCTIONS in {TIDY_RS}",
                span.name, span.len
            );
            failures.push(Failure::new(&file.rel, span.line, msg));
        }
    }
    for entry in long_files.iter().chain(long_functions) {
        if !used.contains(*entry) {
            let msg = format!(
                "allow-list entry \"{entry}\" no longer exceeds its limit (or no longer \
                 exists); remove it from the allow-list"
            );
            failures.push(Failure::new(TIDY_RS, allow_list_line(files, entry), msg));
        }
    }
}

/// Line of `entry` in tidy.rs, so a stale allow-list entry is reported where it is written.
fn allow_list_line(files: &[SourceFile], entry: &str) -> usize {
    let quoted = format!("\"{entry}\"");
    let tidy = files.iter().find(|f| f.rel == TIDY_RS);
    tidy.and_then(|f| f.raw.lines().position(|l| l.contains(&quoted)))
        .map_or(1, |idx| idx + 1)
}

#[cfg(test)]
mod tests {
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
