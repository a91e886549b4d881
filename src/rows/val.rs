//! A row's cell.

/// A typed cell of a row. Timestamps stay unix seconds until a loader
/// renders them in its own format. Text up to 24 bytes (every id the API
/// sends) is kept inline: a backfill builds millions of cells, and a heap
/// block for each was a fifth of the fetching thread's time.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Text(Text),
    Int(i64),
    Float(f64),
    Bool(bool),
    Ts(i64),
}

/// A cell's text.
pub type Text = compact_str::CompactString;

impl Val {
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
}
