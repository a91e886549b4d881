//! A measurement, not a check: the two ways the client library offers to
//! send binary `COPY` data, timed on real rows. One is the encoder of
//! `copy` (what `publish` uses), which writes the wire format straight
//! from the store's cells; the other is tokio-postgres'
//! `BinaryCopyInWriter`, which takes a typed value per cell and encodes
//! it. Each copies the same tables of a state database into a temporary
//! table, in turns, and prints the median time of each. Run by
//! `scripts/pg_bench.sh` against its server and the state of its full
//! sync:
//!
//! ```text
//! HUNTR_BENCH_POSTGRES_URL=postgres://USER@HOST:PORT/DB HUNTR_BENCH_STATE=state.db \
//!   cargo test --release --lib copy_compare -- --ignored --nocapture
//! ```

use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use bytes::{BufMut, BytesMut};
use futures_util::SinkExt;
use tokio::runtime::Runtime;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::Client;

use super::connect::{ConnInfo, ProcessEnv};
use super::copy::{Encoder, PgType};
use super::ddl::{all_tables, quote, PgTable};
use crate::schema::SCHEMA;
use crate::store::{Cell, Rows, Store, Tables};
use crate::timefmt::parse_iso;

/// One cell as the writer takes it: a value of the column's type.
#[derive(Debug)]
enum WriterValue<'a> {
    Null,
    Text(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time(SystemTime),
    Json(&'a [u8]),
}

impl<'a> WriterValue<'a> {
    /// The same conversions as the encoder's.
    fn of(ty: PgType, cell: Cell<'a>) -> WriterValue<'a> {
        let text = |t: &'a [u8]| std::str::from_utf8(t).unwrap_or_default();
        match (ty, cell) {
            (PgType::Text, Cell::Text(t)) => WriterValue::Text(text(t)),
            (PgType::Jsonb, Cell::Text(t)) => WriterValue::Json(t),
            (PgType::Int8, Cell::Int(i)) => WriterValue::Int(i),
            (PgType::Float8, Cell::Real(f)) => WriterValue::Float(f),
            (PgType::Float8, Cell::Int(i)) => WriterValue::Float(i as f64),
            (PgType::Bool, Cell::Int(i)) => WriterValue::Bool(i != 0),
            (PgType::Timestamptz, Cell::Text(t)) => match parse_iso(text(t)) {
                Some(s) => {
                    WriterValue::Time(SystemTime::UNIX_EPOCH + Duration::from_secs(s as u64))
                }
                None => WriterValue::Null,
            },
            _ => WriterValue::Null,
        }
    }
}

impl ToSql for WriterValue<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            WriterValue::Null => Ok(IsNull::Yes),
            WriterValue::Text(s) => s.to_sql(ty, out),
            WriterValue::Int(i) => i.to_sql(ty, out),
            WriterValue::Float(f) => f.to_sql(ty, out),
            WriterValue::Bool(b) => b.to_sql(ty, out),
            WriterValue::Time(t) => t.to_sql(ty, out),
            WriterValue::Json(j) => {
                out.put_u8(1);
                out.put_slice(j);
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn pg_type(ty: PgType) -> Type {
    match ty {
        PgType::Text => Type::TEXT,
        PgType::Int8 => Type::INT8,
        PgType::Float8 => Type::FLOAT8,
        PgType::Bool => Type::BOOL,
        PgType::Timestamptz => Type::TIMESTAMPTZ,
        PgType::Jsonb => Type::JSONB,
    }
}

/// Copies every row of `t` into `into` through the encoder's bytes.
fn by_encoder(rt: &Runtime, client: &Client, tables: &Tables<'_>, pg: &PgTable, into: &str) -> u64 {
    let t = SCHEMA.get(&pg.name).expect("table");
    let copy = format!(
        "COPY {into} ({}) FROM STDIN (FORMAT binary)",
        pg.column_list("")
    );
    let sink = rt
        .block_on(client.copy_in::<_, bytes::Bytes>(&copy))
        .unwrap();
    futures_util::pin_mut!(sink);
    let enc = Encoder::new(pg.columns.iter().map(|c| c.ty).collect());
    let mut buf = BytesMut::new();
    enc.header(&mut buf);
    tables
        .scan(t, Rows::All, |cells| {
            enc.row(cells, &mut buf);
            if buf.len() >= 1 << 20 {
                rt.block_on(sink.as_mut().send(buf.split().freeze()))
                    .unwrap();
            }
            Ok::<_, crate::store::StoreError>(())
        })
        .unwrap();
    enc.trailer(&mut buf);
    rt.block_on(sink.as_mut().send(buf.split().freeze()))
        .unwrap();
    rt.block_on(sink.as_mut().finish()).unwrap()
}

/// Copies every row of `t` into `into` through `BinaryCopyInWriter`.
fn by_writer(rt: &Runtime, client: &Client, tables: &Tables<'_>, pg: &PgTable, into: &str) -> u64 {
    let t = SCHEMA.get(&pg.name).expect("table");
    let copy = format!(
        "COPY {into} ({}) FROM STDIN (FORMAT binary)",
        pg.column_list("")
    );
    let sink = rt.block_on(client.copy_in(&copy)).unwrap();
    let types: Vec<Type> = pg.columns.iter().map(|c| pg_type(c.ty)).collect();
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures_util::pin_mut!(writer);
    tables
        .scan(t, Rows::All, |cells| {
            let values: Vec<WriterValue<'_>> = (pg.columns.iter().zip(cells))
                .map(|(c, cell)| WriterValue::of(c.ty, *cell))
                .collect();
            let refs: Vec<&(dyn ToSql + Sync)> =
                values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            rt.block_on(writer.as_mut().write(&refs)).unwrap();
            Ok::<_, crate::store::StoreError>(())
        })
        .unwrap();
    rt.block_on(writer.finish()).unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore = "a measurement that needs a server and a state: scripts/pg_bench.sh runs it"]
fn copy_compare() {
    let (Ok(url), Ok(state)) = (
        std::env::var("HUNTR_BENCH_POSTGRES_URL"),
        std::env::var("HUNTR_BENCH_STATE"),
    ) else {
        eprintln!("copy_compare: set HUNTR_BENCH_POSTGRES_URL and HUNTR_BENCH_STATE");
        return;
    };
    let rt = Runtime::new().unwrap();
    let place = url.split_once(':').map_or(url.as_str(), |(_, rest)| rest);
    let info = ConnInfo::parse(place, &ProcessEnv).unwrap();
    let client = rt
        .block_on(super::connect(&info, "huntr-sync copy comparison"))
        .unwrap();
    let store = Store::open_read(Path::new(&state)).unwrap();
    let tables = store.tables();
    println!(
        "{:<26} {:>9} {:>14} {:>14} {:>7}",
        "table", "rows", "encoder ms", "writer ms", "ratio"
    );
    for name in ["actions", "activities", "jobs", "members"] {
        let pg = &all_tables()[SCHEMA.id(name)];
        let into = quote(&format!("_compare_{name}"));
        let cols: Vec<String> = (pg.columns.iter())
            .map(|c| format!("{} {}", quote(&c.name), c.ty.sql()))
            .collect();
        rt.block_on(
            client.batch_execute(&format!("CREATE TEMP TABLE {into} ({})", cols.join(", "))),
        )
        .unwrap();
        let (mut enc, mut wri, mut rows) = (Vec::new(), Vec::new(), 0);
        for _ in 0..5 {
            for encoder in [true, false] {
                rt.block_on(client.batch_execute(&format!("TRUNCATE {into}")))
                    .unwrap();
                let started = Instant::now();
                rows = if encoder {
                    by_encoder(&rt, &client, &tables, pg, &into)
                } else {
                    by_writer(&rt, &client, &tables, pg, &into)
                };
                let took = started.elapsed();
                if encoder {
                    enc.push(took)
                } else {
                    wri.push(took)
                }
            }
        }
        let (e, w) = (median(enc), median(wri));
        println!(
            "{name:<26} {rows:>9} {:>14.1} {:>14.1} {:>6.2}x",
            e.as_secs_f64() * 1e3,
            w.as_secs_f64() * 1e3,
            w.as_secs_f64() / e.as_secs_f64()
        );
    }
}
