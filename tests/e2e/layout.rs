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

/// Every Rust source under `src/` and each crate's `src/`, tests included.
fn all_sources(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        walk(&krate.unwrap().path().join("src"), &mut files);
    }
    files
}

/// Whether `text` holds `word` as a whole identifier.
fn names(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The types a folder declares (`struct`, `enum`, `trait`, `type`).
fn declared_types(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    sources(dir, &mut files);
    let mut types = Vec::new();
    for path in files {
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let t = line.trim_start();
            let t = t
                .strip_prefix("pub(crate) ")
                .or(t.strip_prefix("pub(super) "));
            let t = t.unwrap_or(line.trim_start());
            let t = t.strip_prefix("pub ").unwrap_or(t);
            for kw in ["struct ", "enum ", "trait ", "type "] {
                if let Some(rest) = t.strip_prefix(kw) {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    types.push(name);
                }
            }
        }
    }
    types
}

#[test]
fn no_destination_type_is_named_outside_its_folder_and_the_registry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dest = root.join("src/destination");
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(&dest).unwrap() {
        let dir = entry.unwrap().path();
        let mut files = Vec::new();
        if dir.is_dir() {
            sources(&dir, &mut files);
        }
        let implements = files.iter().any(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains("impl Destination for ")
        });
        if implements {
            folders.push(dir);
        }
    }
    assert!(folders.len() >= 3, "destination folders: {folders:?}");
    let registry = dest.join("registry.rs");
    let mut problems = Vec::new();
    for folder in &folders {
        let types = declared_types(folder);
        assert!(!types.is_empty(), "{}", folder.display());
        for path in all_sources(root) {
            if path.starts_with(folder) || path == registry {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for t in types.iter().filter(|t| names(&text, t)) {
                let shown = path.strip_prefix(root).unwrap().display();
                problems.push(format!("{shown} names {t}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "a destination's types belong to its folder (and registry.rs):\n{}",
        problems.join("\n")
    );
}

/// `line` without the text of its string literals: a word inside one
/// (a Content-Security-Policy's `'unsafe-inline'`) is not a keyword.
fn outside_strings(line: &str) -> String {
    let (mut out, mut in_str, mut escaped) = (String::new(), false, false);
    for c in line.chars() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
        } else if c == '"' {
            in_str = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// Modules that call foreign code (glibc, SQLite's C API): the only places
/// `unsafe` may stand, each use with a `SAFETY:` comment above it.
const FOREIGN_CALLS: &[&str] = &["src/memory.rs", "src/store/mod.rs", "src/notify/os.rs"];

#[test]
fn unsafe_stands_only_in_foreign_calls_with_its_argument() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for path in all_sources(root) {
        let shown = path.strip_prefix(root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = outside_strings(line.split("//").next().unwrap_or(""));
            if !names(&code, "unsafe") {
                continue;
            }
            if !FOREIGN_CALLS.contains(&shown.as_str()) {
                problems.push(format!("{shown}:{}: unsafe outside a foreign call", i + 1));
            } else if !lines[i.saturating_sub(6)..i]
                .iter()
                .any(|l| l.contains("SAFETY:"))
            {
                problems.push(format!("{shown}:{}: unsafe without a SAFETY note", i + 1));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn files_are_named_for_what_they_hold_and_comments_cite_no_issues() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for path in all_sources(root) {
        let shown = path.strip_prefix(root).unwrap().display().to_string();
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with("current") {
            problems.push(format!(
                "{shown}: named after a reference's revision, not its content"
            ));
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            // In comments: a colour or an address in a string is no issue.
            let Some((_, comment)) = line.split_once("//") else {
                continue;
            };
            let cites = comment
                .match_indices('#')
                .any(|(at, _)| comment[at + 1..].starts_with(|c: char| c.is_ascii_digit()));
            if cites {
                problems.push(format!(
                    "{shown}:{}: an issue number (the git log says when)",
                    i + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_store_does_not_depend_on_the_flattener() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src/store"), &mut files);
    files.push(root.join("src/store/tests.rs"));
    let users: Vec<String> = files
        .iter()
        .filter(|f| f.exists())
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains("crate::flatten")
        })
        .map(|f| f.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert!(
        users.is_empty(),
        "src/store imports crate::flatten: {users:?}"
    );
}

#[test]
fn the_layout_checks_see_whole_names() {
    assert!(names("use x::ParquetDestination;", "ParquetDestination"));
    assert!(!names("ParquetDestinations", "ParquetDestination"));
    assert!(!names("MyParquetDestination", "ParquetDestination"));
}
