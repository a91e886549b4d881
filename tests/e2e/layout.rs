//! The code stays in small pieces (README "Development"): no source file
//! over 500 lines and no function over 80, tests aside. A rough reader of
//! Rust text (braces, not a parser) is enough to hold that line.

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 500;
const MAX_FN_LINES: usize = 80;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

/// The lines before a file's `#[cfg(test)] mod ...` block.
fn code_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].starts_with("#[cfg(test)]")
                && lines.get(i + 1).is_some_and(|l| l.starts_with("mod "))
        })
        .unwrap_or(lines.len());
    lines[..end].to_vec()
}

/// Braces that count: outside strings, characters and line comments.
fn brace_delta(line: &str) -> (i32, bool) {
    let (mut delta, mut opened) = (0, false);
    let mut chars = line.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_str => {
                chars.next();
            }
            '"' => in_str = !in_str,
            '/' if !in_str && chars.peek() == Some(&'/') => break,
            '\'' if !in_str => {
                // A char literal such as '{' (lifetimes have no closing quote).
                let rest: String = chars.clone().take(3).collect();
                if rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                }
            }
            '{' if !in_str => {
                delta += 1;
                opened = true;
            }
            '}' if !in_str => delta -= 1,
            _ => {}
        }
    }
    (delta, opened)
}

fn is_fn(line: &str) -> bool {
    let t = line.trim_start();
    let t = t
        .strip_prefix("pub(crate) ")
        .or(t.strip_prefix("pub(super) "))
        .unwrap_or(t);
    let t = t.strip_prefix("pub ").unwrap_or(t);
    let t = t.strip_prefix("const ").unwrap_or(t);
    let t = t.strip_prefix("async ").unwrap_or(t);
    t.starts_with("fn ")
}

/// (first line, length) of every function over the limit.
fn long_fns(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut long = Vec::new();
    for start in 0..lines.len() {
        if !is_fn(lines[start]) {
            continue;
        }
        let (mut depth, mut opened) = (0, false);
        for (i, line) in lines.iter().enumerate().skip(start) {
            let (d, o) = brace_delta(line);
            depth += d;
            opened |= o;
            if !opened && line.trim_end().ends_with(';') {
                break;
            }
            if opened && depth <= 0 {
                if i - start + 1 > MAX_FN_LINES {
                    long.push((start + 1, i - start + 1));
                }
                break;
            }
        }
    }
    long
}

#[test]
fn no_source_file_or_function_outgrows_the_limits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        sources(&krate.unwrap().path().join("src"), &mut files);
    }
    let mut problems = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let lines = code_lines(&text);
        let shown = path.strip_prefix(root).unwrap().display();
        if lines.len() > MAX_FILE_LINES {
            problems.push(format!("{shown}: {} lines", lines.len()));
        }
        for (line, len) in long_fns(&lines) {
            problems.push(format!("{shown}:{line}: a function of {len} lines"));
        }
    }
    assert!(
        problems.is_empty(),
        "split these (at most {MAX_FILE_LINES} lines a file, {MAX_FN_LINES} a function):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_layout_check_sees_long_functions() {
    let mut text = String::from("fn long() {\n");
    for _ in 0..MAX_FN_LINES {
        text.push_str("    let s = \"}\"; // }\n");
    }
    text.push_str("}\nfn short() {}\n");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(long_fns(&lines), vec![(1, MAX_FN_LINES + 2)]);
}
