//! Check 4 of tidy: function and file length, with shrink-only allow-lists (the lists live in
//! `tidy.rs`, where a stale entry is reported).

use std::collections::BTreeSet;

use super::lex::{is_ident_char, strip_visibility};
use super::{Failure, SourceFile, MAX_FILE_LINES, MAX_FUNCTION_LINES, TIDY_RS};

/// A function found in blanked code: its name, 1-based first line and length in lines.
#[derive(Debug, PartialEq)]
pub(super) struct FnSpan {
    pub(super) name: String,
    pub(super) line: usize,
    pub(super) len: usize,
}

/// Every function with a body, counted from its `fn` line through the matching `}`.
pub(super) fn function_spans(code: &str) -> Vec<FnSpan> {
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
pub(super) fn non_test_lines(raw: &str) -> usize {
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

pub(super) fn check_lengths(
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
