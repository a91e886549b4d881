//! Reading `schema/tables.toml` into a [`Schema`]: the file's raw shape,
//! the hidden bookkeeping columns every table gets, and the checks that
//! refuse an inconsistent declaration. `build.rs` lays out the hidden
//! columns by the same rules for the compile-time names.

use serde::Deserialize;

use super::{
    ColType, Column, Names, Schema, Source, Table, AS_OF, AS_OF_ID, CHILDREN, EXTRA, FULL, INS_RUN,
    SEEN_RUN, UPD_RUN,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchema {
    table: Vec<RawTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    name: String,
    doc: String,
    key: Vec<String>,
    #[serde(default)]
    resource: bool,
    #[serde(default)]
    listed: bool,
    parent: Option<String>,
    parent_table: Option<String>,
    #[serde(default)]
    consumes: Vec<String>,
    columns: Vec<RawColumn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: String,
    #[serde(rename = "type")]
    ty: ColType,
    from: Option<String>,
    #[serde(default)]
    doc: String,
}

pub(super) fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for ch in snake.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

impl Schema {
    pub fn parse(text: &str) -> Result<Schema, String> {
        let raw: RawSchema = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut tables = raw
            .table
            .into_iter()
            .map(table)
            .collect::<Result<Vec<Table>, String>>()?;
        add_children_columns(&mut tables);
        let by_name: Names<usize> = tables
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        for t in &tables {
            if let Some((p, _)) = &t.parent {
                if !by_name.contains_key(p) {
                    return Err(format!("table {}: unknown parent table {p}", t.name));
                }
            }
        }
        Ok(Schema { tables, by_name })
    }
}

fn declared(c: RawColumn) -> Column {
    let source = match c.from.as_deref() {
        Some("") => Source::Code,
        Some(p) => Source::Path(p.split('.').map(str::to_owned).collect()),
        None => Source::Path(vec![camel_case(&c.name)]),
    };
    Column {
        name: c.name,
        ty: c.ty,
        source,
        doc: c.doc,
    }
}

/// The description of a column the flattener fills that the file leaves
/// undescribed, when its kind says what it is: a child's parent key, an
/// array position, the mirror's `removed_at`.
fn default_doc(c: &Column, parent: Option<&(String, String)>) -> Option<String> {
    if !c.doc.is_empty() || c.source != Source::Code {
        return None;
    }
    match parent {
        Some((table, col)) if *col == c.name => {
            return Some(format!("the parent row in `{table}`"))
        }
        _ => {}
    }
    match c.name.as_str() {
        "position" => Some("order in the API's array, from 0".into()),
        "removed_at" => Some("set when the row is no longer listed".into()),
        _ => None,
    }
}

fn hidden(name: &str, ty: ColType) -> Column {
    Column {
        name: name.to_owned(),
        ty,
        source: Source::Hidden,
        doc: String::new(),
    }
}

/// The declared columns followed by the hidden ones this kind of table
/// gets (`_children` comes later, once the parents are known).
fn columns(t: &mut RawTable) -> Vec<Column> {
    let mut columns: Vec<Column> = t.columns.drain(..).map(declared).collect();
    columns.push(Column {
        doc: "API fields without a column, as JSON (NULL when none)".into(),
        ..hidden(EXTRA, ColType::Text)
    });
    if t.resource {
        columns.push(hidden(FULL, ColType::Int));
        columns.push(hidden(AS_OF, ColType::Int));
        columns.push(hidden(AS_OF_ID, ColType::Text));
    }
    if t.listed {
        columns.push(hidden(SEEN_RUN, ColType::Int));
    }
    columns.push(hidden(INS_RUN, ColType::Int));
    columns.push(hidden(UPD_RUN, ColType::Int));
    columns
}

/// One table, checked on its own.
fn table(mut t: RawTable) -> Result<Table, String> {
    let columns = columns(&mut t);
    let index: Names<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.clone(), i))
        .collect();
    if index.len() != columns.len() {
        return Err(format!("table {} repeats a column", t.name));
    }
    for k in &t.key {
        if !index.contains_key(k) {
            return Err(format!("table {}: key column {k} is not declared", t.name));
        }
    }
    let parent = match (t.parent, t.parent_table) {
        (Some(c), Some(p)) => Some((p, c)),
        (None, None) => None,
        _ => return Err(format!("table {}: parent needs parent_table", t.name)),
    };
    let mut columns = columns;
    for c in columns.iter_mut() {
        if let Some(doc) = default_doc(c, parent.as_ref()) {
            c.doc = doc;
        }
    }
    if t.listed && !index.contains_key("removed_at") {
        return Err(format!("listed table {} needs removed_at", t.name));
    }
    let known = columns
        .iter()
        .filter_map(|c| match &c.source {
            Source::Path(p) => Some(p[0].clone()),
            _ => None,
        })
        .chain(t.consumes.iter().cloned())
        .collect();
    Ok(Table {
        known,
        name: t.name,
        doc: t.doc,
        key: t.key,
        resource: t.resource,
        listed: t.listed,
        parent,
        consumes: t.consumes,
        columns,
        index,
    })
}

/// Gives every table that has child tables its `_children` column.
fn add_children_columns(tables: &mut [Table]) {
    let parents: Vec<String> = tables
        .iter()
        .filter_map(|t| t.parent.as_ref().map(|p| p.0.clone()))
        .collect();
    for t in tables.iter_mut().filter(|t| parents.contains(&t.name)) {
        t.index.insert(CHILDREN.to_owned(), t.columns.len());
        t.columns.push(hidden(CHILDREN, ColType::Int));
    }
}
