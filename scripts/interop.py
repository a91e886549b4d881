#!/usr/bin/env python3
"""Interoperability check of the Parquet output (run by .ci/run).

Reads every table of a Parquet destination with DuckDB and with pyarrow,
checks that timestamp columns are timestamps to both, and that row counts
match the SQLite output of the same organization.

usage: scripts/interop.py PARQUET_DIR SQLITE_DB
"""
import sqlite3
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pyarrow.types as pat


def main() -> int:
    parquet_dir, sqlite_db = Path(sys.argv[1]), sys.argv[2]
    lite = sqlite3.connect(sqlite_db)
    tables = [r[0] for r in lite.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sync_%' "
        "AND name NOT LIKE 'sqlite_%' AND name <> 'push_log' ORDER BY name")]
    duck = duckdb.connect()
    passed = failed = 0

    def check(ok: bool, what: str) -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {what}")

    for t in tables:
        glob = str(parquet_dir / t / "*.parquet")
        want = lite.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        got_duck = duck.execute(f"SELECT COUNT(*) FROM read_parquet('{glob}')").fetchone()[0]
        check(got_duck == want, f"{t}: DuckDB reads {got_duck} rows, SQLite has {want}")
        table = pq.read_table(parquet_dir / t)
        check(table.num_rows == want, f"{t}: pyarrow reads {table.num_rows} rows, SQLite has {want}")
        described = duck.execute(f"DESCRIBE SELECT * FROM read_parquet('{glob}')").fetchall()
        duck_types = {row[0]: row[1] for row in described}
        for field in table.schema:
            if field.name.endswith("_at") or field.name in ("date", "deadline"):
                check(pat.is_timestamp(field.type) and field.type.tz == "UTC",
                      f"{t}.{field.name}: pyarrow sees {field.type}")
                check(duck_types[field.name] == "TIMESTAMP WITH TIME ZONE",
                      f"{t}.{field.name}: DuckDB sees {duck_types[field.name]}")
        print(f"{t:40} {want:>8} rows")
    # A recipe from the README: DuckDB over the Parquet files.
    stages = duck.execute(
        f"SELECT list_name, COUNT(*) FROM read_parquet('{parquet_dir}/jobs/*.parquet') "
        "WHERE deleted_at IS NULL GROUP BY 1").fetchall()
    check(len(stages) > 0, "jobs per stage over Parquet")
    # The README's MERGE recipe for the changes export of run 1.
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("<!-- merge -->", 1)[1].split("```sql\n", 1)[1].split("```", 1)[0]
    if (parquet_dir / "_changes" / "run=1").exists():
        warehouse = duckdb.connect()
        warehouse.execute(block.replace("data/demo-parquet", str(parquet_dir)))
        for t in ("jobs", "member_field_values"):
            got = warehouse.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            want = lite.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            check(got == want, f"README MERGE recipe: {t} has {got} rows, want {want}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
