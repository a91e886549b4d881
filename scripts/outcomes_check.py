#!/usr/bin/env python3
"""The outcome views outside SQLite (run by .ci/run).

Serves the sandbox organization on a free loopback port and syncs it into
a Parquet directory. `huntr-sync views --dialect duckdb` prints a script;
DuckDB (from PyPI) runs it as it is, and every view must hold the same
rows as the SQLite views the same run keeps in the destination's state
database. Then simulated days pass, the organization syncs again, the
script is printed again, and the views are compared again.

usage: scripts/outcomes_check.py BINARY WORKDIR
"""
import datetime
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb

from harness import Checks, advance, free_port, start, stop, wait_for

VIEWS = ["members_wide", "job_pipeline", "member_outcomes", "outcomes_by_month",
         "outcomes_by_field", "employer_outcomes", "advisor_caseload"]
TOKEN = "sandbox-token"


def norm(col: str, v):
    """A cell as comparable text: timestamps as Unix seconds, fractions
    with six decimals, booleans as 0/1, dates as YYYY-MM-DD."""
    if v is None:
        return None
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, datetime.datetime):
        return str(int(v.timestamp()))
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:.6f}"
    if isinstance(v, str) and col.endswith("_at") and v.endswith("Z"):
        return str(int(datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()))
    return str(v)


def rows(con, view: str, cols: list) -> list:
    select = ", ".join(f'"{c}"' for c in cols)
    out = [tuple(norm(c, v) for c, v in zip(cols, r))
           for r in con.execute(f'SELECT {select} FROM "{view}"').fetchall()]
    return sorted(out, key=lambda r: tuple("" if x is None else x for x in r))


def compare(c: Checks, lite_db: Path, duck, label: str) -> None:
    lite = sqlite3.connect(lite_db)
    try:
        for view in VIEWS:
            cols = [r[1] for r in lite.execute(f"PRAGMA table_info('{view}')")]
            duck_cols = [r[0] for r in duck.execute(f'DESCRIBE "{view}"').fetchall()]
            if not c.check(cols == duck_cols, f"{label} {view}: columns {duck_cols} != {cols}"):
                continue
            want, got = rows(lite, view, cols), rows(duck, view, cols)
            c.check(len(want) > 0, f"{label} {view}: SQLite shows no rows")
            if not c.check(got == want, f"{label} {view}: DuckDB {len(got)} rows, "
                                        f"SQLite {len(want)}"):
                extra = [r for r in got if r not in set(want)][:3]
                missing = [r for r in want if r not in set(got)][:3]
                print(f"  only in DuckDB: {extra}\n  only in SQLite: {missing}")
    finally:
        lite.close()


def main() -> int:
    binary, work = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    c = Checks()
    port = free_port()
    sandbox = start([str(binary), "sandbox", "--port", str(port), "--scale", "80",
                     "--seed", "31"], work / "sandbox.log")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/_sandbox/stats", "the sandbox")
        env = {k: v for k, v in os.environ.items() if k != "RUST_LOG"}
        env["HUNTR_ORG_TOKEN"] = TOKEN
        out = work / "parquet"
        common = ["--base-url", f"{url}/org", "--destination", f"parquet:{out}"]
        for label in ["day0", "day3", "day6"]:
            if label != "day0":
                advance(url, 3)
            r = subprocess.run([str(binary), "sync", *common], env=env, capture_output=True,
                               text=True, cwd=work)
            if not c.check(r.returncode == 0, f"{label}: sync exits {r.returncode}: "
                                              f"{r.stderr[-600:]}"):
                break
            script = subprocess.run([str(binary), "views", "--dialect", "duckdb", *common],
                                    env=env, capture_output=True, text=True, cwd=work)
            if not c.check(script.returncode == 0, f"{label}: views: {script.stderr[-600:]}"):
                break
            (work / f"views-{label}.sql").write_text(script.stdout)
            # DuckDB runs the script as it is, from another directory.
            duck = duckdb.connect()
            duck.execute(script.stdout)
            compare(c, out / "_huntr_sync" / "state.db", duck, label)
            duck.close()
    finally:
        stop(sandbox)
    print(f"outcomes_check: {c.passed} checks passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
