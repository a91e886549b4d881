#!/usr/bin/env python3
"""Checks `huntr-sync export` output against the SQLite destination it came
from (run by .ci/run): every table's CSV file, read with Python's csv
module, and its sheet of the workbook, opened with openpyxl, hold the same
number of rows as the SQLite table, and the same values in a sample of rows
(timestamps as ISO-8601 UTC text in CSV and as dates in Excel; booleans as
true/false).

usage: scripts/export_check.py SQLITE_DB CSV_DIR XLSX_FILE
"""
import csv
import datetime as dt
import sqlite3
import sys
from pathlib import Path

import openpyxl


def sheet_name(table: str) -> str:
    name = table.replace("organization_", "org_", 1) if len(table) > 31 else table
    return name[:31]


def canon(value, sql_type: str) -> str:
    """One cell in a form all three sources agree on."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or value in ("true", "false"):
        return "1" if value in (True, "true") else "0"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if sql_type == "REAL":
        return repr(float(value))
    if sql_type == "INTEGER":
        return str(int(float(value)))
    return str(value)


def rows_of(rows, types):
    return sorted(tuple(canon(v, t) for v, t in zip(row, types)) for row in rows)


def main() -> int:
    db, csv_dir, xlsx = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    lite = sqlite3.connect(db)
    book = openpyxl.load_workbook(xlsx, read_only=True)
    passed = failed = 0

    def check(ok: bool, what: str) -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {what}")

    for path in sorted(csv_dir.glob("*.csv")):
        table = path.stem
        with open(path, newline="", encoding="utf-8") as f:
            header, *body = list(csv.reader(f))
        declared = {r[1]: r[2] for r in lite.execute(f"PRAGMA table_info({table})")}
        types = [declared.get(c, "") for c in header]
        want = rows_of(lite.execute(f"SELECT {', '.join(header)} FROM {table}"), types)
        got = rows_of(body, types)
        check(len(got) == len(want), f"{table}.csv: {len(got)} rows, SQLite has {len(want)}")
        check(got == want, f"{table}.csv: values differ from SQLite")
        sheet = list(book[sheet_name(table)].iter_rows(values_only=True))
        check(list(sheet[0]) == header, f"{table} sheet header {sheet[0]}")
        in_sheet = rows_of(sheet[1:], types)
        check(len(in_sheet) == len(want), f"{table} sheet: {len(in_sheet)} rows, SQLite has {len(want)}")
        check(in_sheet == want, f"{table} sheet: values differ from SQLite")
        times = [c for c in header if c.endswith("_at") or c in ("date", "deadline")]
        for c in times:
            cells = [r[header.index(c)] for r in sheet[1:] if r[header.index(c)] is not None]
            check(all(isinstance(x, dt.datetime) for x in cells), f"{table}.{c}: not dates in Excel")
        print(f"{table:40} {len(want):>8} rows")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
