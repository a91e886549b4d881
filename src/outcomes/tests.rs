use super::*;
use crate::schema::SCHEMA;

fn field(id: &str, name: &str, ty: &str) -> MemberField {
    MemberField {
        id: id.into(),
        name: name.into(),
        field_type: ty.into(),
    }
}

#[test]
fn field_names_become_safe_columns_and_clashes_get_the_id() {
    let fields = [
        field("b2", "grad-year", "DATE"),
        field("a1", "Grad Year", "DATE"),
        field("c3", "Email", "TEXT"),
        field("d4", "2026 Cohort!", "MULTIPLE_CHOICE"),
        field("e5", "¿?", "TEXT"),
    ];
    let cols: Vec<String> = field_columns(&fields).into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        cols,
        [
            "grad_year",
            "grad_year_b2",
            "email_c3",
            "field_2026_cohort",
            "field"
        ]
    );
}

#[test]
fn every_sqlite_view_runs_on_an_empty_database() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(&SCHEMA.sqlite_ddl()).unwrap();
    let fields = [
        field("a1", "Cohort", "MULTIPLE_CHOICE"),
        field("b2", "Skills", "MULTIPLE_SELECT"),
        field("c3", "Age", "NUMBER"),
        field("d4", "Graduation", "DATE"),
        field("e5", "Nickname", "TEXT"),
    ];
    let sql = Sql::new(Dialect::Sqlite, Place::Plain);
    conn.execute_batch(&sql.script(&fields)).unwrap();
    for v in VIEWS {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {v}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{v}");
    }
}

#[test]
fn member_field_values_read_as_their_types_in_sqlite() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let sql = Sql::new(Dialect::Sqlite, Place::Plain);
    let one = |e: String, v: &str| -> Option<String> {
        conn.query_row(
            &format!("SELECT CAST(({}) AS TEXT) FROM (SELECT ?1 AS value) v", e),
            [v],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(
        one(sql.joined("v.value"), "[\"a\",\"b c\"]").as_deref(),
        Some("a, b c")
    );
    assert_eq!(
        one(sql.joined("v.value"), "[x] y").as_deref(),
        Some("[x] y")
    );
    assert_eq!(one(sql.joined("v.value"), "[]"), None);
    assert_eq!(one(sql.number("v.value"), "2.5").as_deref(), Some("2.5"));
    assert_eq!(one(sql.number("v.value"), "n/a"), None);
    assert_eq!(
        one(sql.date("v.value"), "1780272000").as_deref(),
        Some("2026-06-01")
    );
    assert_eq!(one(sql.date("v.value"), "soon"), None);
}

#[test]
fn parquet_places_read_files_and_stand_in_for_missing_ones() {
    let place = Place::Parquet {
        base: "/data/out/".into(),
        missing: vec!["advisors".into()],
    };
    assert_eq!(
        place.table("jobs"),
        "read_parquet('/data/out/jobs/jobs.parquet')"
    );
    assert!(place.table("advisors").contains("WHERE false"));
    let pg = Place::Schema("huntr".into());
    assert_eq!(pg.table("jobs"), "\"huntr\".\"jobs\"");
}
