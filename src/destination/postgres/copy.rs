//! The types a table has in PostgreSQL, and its rows in `COPY`'s binary
//! format: the store's cells are turned into PostgreSQL's wire form here,
//! without a value per cell on the heap, so a table streams into the
//! server at the speed of the scan.

use bytes::{BufMut, BytesMut};

use crate::schema::{ColType, Column, EXTRA};
use crate::store::Cell;
use crate::timefmt::parse_iso;

/// A column's type in PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgType {
    Text,
    Int8,
    Float8,
    Bool,
    Timestamptz,
    Jsonb,
}

impl PgType {
    /// The type of one declared column: `_extra` is JSON, values as the
    /// schema declares them.
    pub fn of(c: &Column) -> PgType {
        if c.name == EXTRA {
            return PgType::Jsonb;
        }
        match c.ty {
            ColType::Text | ColType::Value => PgType::Text,
            ColType::Timestamp => PgType::Timestamptz,
            ColType::Bool => PgType::Bool,
            ColType::Int => PgType::Int8,
            ColType::Float => PgType::Float8,
        }
    }

    pub fn sql(self) -> &'static str {
        match self {
            PgType::Text => "text",
            PgType::Int8 => "bigint",
            PgType::Float8 => "double precision",
            PgType::Bool => "boolean",
            PgType::Timestamptz => "timestamptz",
            PgType::Jsonb => "jsonb",
        }
    }
}

/// The binary format's fixed header: signature, flags, extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Seconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
const PG_EPOCH: i64 = 946_684_800;

/// Writes a `COPY ... (FORMAT binary)` stream for columns of `types`.
pub struct Encoder {
    types: Vec<PgType>,
}

impl Encoder {
    pub fn new(types: Vec<PgType>) -> Encoder {
        Encoder { types }
    }

    pub fn header(&self, buf: &mut BytesMut) {
        buf.put_slice(HEADER);
    }

    /// One row: a cell per column, in the encoder's column order.
    pub fn row(&self, cells: &[Cell<'_>], buf: &mut BytesMut) {
        buf.put_i16(self.types.len() as i16);
        for (ty, cell) in self.types.iter().zip(cells) {
            field(*ty, *cell, buf);
        }
    }

    pub fn trailer(&self, buf: &mut BytesMut) {
        buf.put_i16(-1);
    }
}

/// Text for a text column: as stored, without NUL bytes, which no
/// PostgreSQL text may hold.
fn put_text(bytes: &[u8], buf: &mut BytesMut) {
    if bytes.contains(&0) {
        let clean: Vec<u8> = bytes.iter().copied().filter(|b| *b != 0).collect();
        buf.put_i32(clean.len() as i32);
        buf.put_slice(&clean);
    } else {
        buf.put_i32(bytes.len() as i32);
        buf.put_slice(bytes);
    }
}

/// JSON for a `jsonb` column (version 1 of its binary form: the text).
/// `jsonb` refuses the escape `\u0000`, which JSON allows: it becomes
/// U+FFFD rather than failing the whole publication.
fn put_json(t: &[u8], buf: &mut BytesMut) {
    const NUL: &[u8] = b"\\u0000";
    if t.windows(NUL.len()).any(|w| w == NUL) {
        let text = String::from_utf8_lossy(t).replace("\\u0000", "\\ufffd");
        return put_json(text.as_bytes(), buf);
    }
    buf.put_i32(t.len() as i32 + 1);
    buf.put_u8(1);
    buf.put_slice(t);
}

fn null(buf: &mut BytesMut) {
    buf.put_i32(-1);
}

fn field(ty: PgType, cell: Cell<'_>, buf: &mut BytesMut) {
    match (ty, cell) {
        (_, Cell::Null) => null(buf),
        (PgType::Text, Cell::Text(t)) => put_text(t, buf),
        (PgType::Text, Cell::Int(i)) => put_text(i.to_string().as_bytes(), buf),
        (PgType::Text, Cell::Real(f)) => put_text(f.to_string().as_bytes(), buf),
        (PgType::Jsonb, Cell::Text(t)) => put_json(t, buf),
        (PgType::Int8, Cell::Int(i)) => {
            buf.put_i32(8);
            buf.put_i64(i);
        }
        (PgType::Int8, Cell::Real(f)) => {
            buf.put_i32(8);
            buf.put_i64(f as i64);
        }
        (PgType::Float8, Cell::Real(f)) => {
            buf.put_i32(8);
            buf.put_f64(f);
        }
        (PgType::Float8, Cell::Int(i)) => {
            buf.put_i32(8);
            buf.put_f64(i as f64);
        }
        (PgType::Bool, Cell::Int(i)) => {
            buf.put_i32(1);
            buf.put_u8(u8::from(i != 0));
        }
        (PgType::Timestamptz, Cell::Text(t)) => {
            match std::str::from_utf8(t).ok().and_then(parse_iso) {
                Some(secs) => timestamp(secs, buf),
                None => null(buf),
            }
        }
        (PgType::Timestamptz, Cell::Int(secs)) => timestamp(secs, buf),
        _ => null(buf),
    }
}

/// Microseconds since PostgreSQL's epoch.
fn timestamp(unix_secs: i64, buf: &mut BytesMut) {
    buf.put_i32(8);
    buf.put_i64((unix_secs - PG_EPOCH) * 1_000_000);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_written_in_the_binary_copy_format() {
        let enc = Encoder::new(vec![
            PgType::Text,
            PgType::Int8,
            PgType::Bool,
            PgType::Timestamptz,
            PgType::Jsonb,
            PgType::Float8,
        ]);
        let mut buf = BytesMut::new();
        enc.header(&mut buf);
        enc.row(
            &[
                Cell::Text(b"a\0b"),
                Cell::Int(7),
                Cell::Int(1),
                Cell::Text(b"2000-01-01T00:00:01Z"),
                Cell::Text(b"{}"),
                Cell::Null,
            ],
            &mut buf,
        );
        enc.trailer(&mut buf);
        let mut want = HEADER.to_vec();
        want.extend(6i16.to_be_bytes());
        want.extend(2i32.to_be_bytes());
        want.extend(b"ab");
        want.extend(8i32.to_be_bytes());
        want.extend(7i64.to_be_bytes());
        want.extend(1i32.to_be_bytes());
        want.push(1);
        want.extend(8i32.to_be_bytes());
        want.extend(1_000_000i64.to_be_bytes());
        want.extend(3i32.to_be_bytes());
        want.extend(b"\x01{}");
        want.extend((-1i32).to_be_bytes());
        want.extend((-1i16).to_be_bytes());
        assert_eq!(&buf[..], &want[..]);
    }
}
