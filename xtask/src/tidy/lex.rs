//! Blanks comments and literal contents so tidy's textual checks only ever see real code.
//!
//! This is a small hand-written lexer rather than a parser crate so tidy stays std-only.

/// Returns `src` with comments and the contents of string and char literals replaced by
/// spaces. Every newline is kept, so line numbers in the result match the original.
pub(super) fn strip_literals(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < chars.len() {
        let next = chars.get(i + 1).copied();
        i = match chars[i] {
            '/' if next == Some('/') => blank_line_comment(&chars, i, &mut out),
            '/' if next == Some('*') => blank_block_comment(&chars, i, &mut out),
            '"' => blank_string(&chars, i, None, &mut out),
            '\'' => blank_char(&chars, i, &mut out),
            c if c.is_alphabetic() || c == '_' => word(&chars, i, &mut out),
            c => {
                out.push(c);
                i + 1
            }
        };
    }
    out
}

/// Blanked form of `c`: newlines survive so line numbers stay correct.
fn blank(c: char) -> char {
    if c == '\n' {
        '\n'
    } else {
        ' '
    }
}

fn blank_line_comment(chars: &[char], mut i: usize, out: &mut String) -> usize {
    while i < chars.len() && chars[i] != '\n' {
        out.push(' ');
        i += 1;
    }
    i
}

/// Block comments nest in Rust, so track depth rather than stopping at the first `*/`.
fn blank_block_comment(chars: &[char], mut i: usize, out: &mut String) -> usize {
    let mut depth = 0usize;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1).copied()) {
            ('/', Some('*')) => depth += 1,
            ('*', Some('/')) => depth -= 1,
            (c, _) => {
                out.push(blank(c));
                i += 1;
                continue;
            }
        }
        out.push_str("  ");
        i += 2;
        if depth == 0 {
            break;
        }
    }
    i
}

/// Blanks a string literal whose opening quote is at `i`. `raw` is the number of `#`s of a
/// raw string, whose content is opaque: no escapes, and only `"` plus that many `#` ends it.
fn blank_string(chars: &[char], mut i: usize, raw: Option<usize>, out: &mut String) -> usize {
    out.push('"');
    i += 1;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && raw.is_none() {
            out.push(' ');
            if let Some(&escaped) = chars.get(i + 1) {
                out.push(blank(escaped));
            }
            i += 2;
        } else if c == '"' && (1..=raw.unwrap_or(0)).all(|k| chars.get(i + k) == Some(&'#')) {
            let hashes = raw.unwrap_or(0);
            out.push('"');
            out.extend(std::iter::repeat_n('#', hashes));
            return i + 1 + hashes;
        } else {
            out.push(blank(c));
            i += 1;
        }
    }
    i
}

/// Blanks a char literal at `i`; a `'` that does not start one is a lifetime or label.
fn blank_char(chars: &[char], i: usize, out: &mut String) -> usize {
    let close = if chars.get(i + 1) == Some(&'\\') {
        // Longest escape is `'\u{10FFFF}'`, so the closing quote is near.
        (i + 3..chars.len().min(i + 12)).find(|&k| chars[k] == '\'')
    } else if chars.get(i + 2) == Some(&'\'') && chars.get(i + 1) != Some(&'\n') {
        Some(i + 2)
    } else {
        None
    };
    out.push('\'');
    let Some(end) = close else { return i + 1 };
    out.extend(std::iter::repeat_n(' ', end - i - 1));
    out.push('\'');
    end + 1
}

/// Copies an identifier; `r`, `br` and `cr` followed by `#*"` start a raw string instead.
fn word(chars: &[char], i: usize, out: &mut String) -> usize {
    let mut j = i;
    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
        out.push(chars[j]);
        j += 1;
    }
    let ident: String = chars[i..j].iter().collect();
    if !matches!(ident.as_str(), "r" | "br" | "cr") {
        return j;
    }
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    if chars.get(j + hashes) != Some(&'"') {
        return j; // A raw identifier such as `r#type`, not a string.
    }
    out.extend(std::iter::repeat_n('#', hashes));
    blank_string(chars, j + hashes, Some(hashes), out)
}

pub(super) fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Strips a leading `pub` / `pub(...)`; `None` if the item is not public.
pub(super) fn strip_visibility(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix("pub(") {
        return rest.split_once(')').map(|(_, after)| after.trim_start());
    }
    let rest = s.strip_prefix("pub")?;
    rest.starts_with(char::is_whitespace)
        .then(|| rest.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_literals_keeps_lines_and_blanks_text() {
        let src = "let s = \"a\nb\"; // c\nlet r = r#\"x\"y\"#;\n";
        let out = strip_literals(src);
        assert_eq!(out.lines().count(), src.lines().count());
        assert!(!out.contains(['a', 'b', 'c', 'x', 'y']), "{out}");
        assert_eq!(strip_literals("let t = r#type;"), "let t = r#type;");
    }
}
