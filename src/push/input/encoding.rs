//! Turns a text file's bytes into a string the way spreadsheets save
//! them: UTF-8 with or without a byte-order mark, or UTF-16 (either byte
//! order) with one, as Excel's "Unicode text" is. Anything else is refused
//! before a cell is read, with the way to save the file as UTF-8, rather
//! than guessed at and sent garbled.

/// How to save a file so that it reads.
const SAVE_AS_UTF8: &str = "save it as UTF-8: in Excel, File > Save As > \
                            \"CSV UTF-8 (Comma delimited)\"; in LibreOffice, \
                            character set \"Unicode (UTF-8)\"";

/// The file's text, or a one-line reason (with the fix) why it is not
/// text huntr-sync reads.
pub(super) fn decode(bytes: &[u8]) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    utf8(bytes)
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    // Valid UTF-8, but no text file people save holds NULs: UTF-16 (or
    // UTF-32) without its byte-order mark.
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
        return Err(format!(
            "line {line} holds NUL bytes (UTF-16 text without a byte-order mark?); {SAVE_AS_UTF8}"
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let at = e.valid_up_to();
            let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
            Err(format!(
                "line {line} is not UTF-8 text (byte 0x{:02X}; the file is likely in a \
                 Windows or Mac encoding such as Windows-1252); {SAVE_AS_UTF8}",
                bytes[at]
            ))
        }
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, String> {
    if !bytes.len().is_multiple_of(2) {
        return Err(format!(
            "the file starts as UTF-16 but ends in half a character; {SAVE_AS_UTF8}"
        ));
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    let mut text = String::with_capacity(bytes.len() / 2);
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => text.push(c),
            Err(_) => {
                let line = 1 + text.matches('\n').count();
                return Err(format!(
                    "line {line} is not valid UTF-16 text; {SAVE_AS_UTF8}"
                ));
            }
        }
    }
    Ok(text)
}

/// The delimiter the header line uses: the most frequent of `,` `;` and
/// tab outside quotes on the first line (a comma when none or tied).
pub(super) fn delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => break,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).rev().max_by_key(|&i| counts[i]).unwrap_or(0);
    match (counts[best], best) {
        (0, _) | (_, 0) => b',',
        (_, 1) => b';',
        _ => b'\t',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(text: &str) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    }

    #[test]
    fn utf8_with_or_without_a_mark_and_utf16_with_one_are_read() {
        assert_eq!(
            decode(b"email\nj\xC3\xA9@x.org\n").unwrap(),
            "email\njé@x.org\n"
        );
        assert_eq!(decode(b"\xEF\xBB\xBFemail\n").unwrap(), "email\n");
        assert_eq!(
            decode(&utf16le("email\tNom\néa@x.org\t\n")).unwrap(),
            "email\tNom\néa@x.org\t\n"
        );
        let mut be = vec![0xFE, 0xFF];
        be.extend("e,\u{1F600}".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode(&be).unwrap(), "e,\u{1F600}");
    }

    #[test]
    fn other_encodings_are_refused_with_the_fix() {
        let err = decode(b"email,Name\nx@y.org,Ren\xE9e\n").unwrap_err();
        assert!(
            err.starts_with("line 2 is not UTF-8 text (byte 0xE9;"),
            "{err}"
        );
        assert!(err.contains("\"CSV UTF-8 (Comma delimited)\""), "{err}");
        let err = decode(b"e\x00m\x00").unwrap_err();
        assert!(err.starts_with("line 1 holds NUL bytes"), "{err}");
        let err = decode(b"\xFF\xFEe\x00x").unwrap_err();
        assert!(err.contains("half a character"), "{err}");
        let err = decode(b"\xFF\xFEe\x00\n\x00\x00\xD8").unwrap_err();
        assert!(err.starts_with("line 2 is not valid UTF-16"), "{err}");
    }

    #[test]
    fn the_delimiter_is_the_header_lines_most_frequent_outside_quotes() {
        assert_eq!(delimiter("email,Name\na;b;c;d\n"), b',');
        assert_eq!(delimiter("email;Name;Age\r\na,b\n"), b';');
        assert_eq!(delimiter("email\tName\n"), b'\t');
        assert_eq!(delimiter("\"a;b;c\",Name\n"), b',');
        assert_eq!(delimiter("\"x,\ny,z\";Name\n"), b';');
        assert_eq!(delimiter("email\n"), b',');
        assert_eq!(delimiter("a,b;c\n"), b',');
    }
}
