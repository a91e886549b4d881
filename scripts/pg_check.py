#!/usr/bin/env python3
"""PostgreSQL check of the PostgreSQL destination (run by .ci/run).

Starts a throwaway PostgreSQL server (its binaries from `pg_config
--bindir`, else the newest /usr/lib/postgresql/*/bin; as the `postgres`
user when run as root) listening on a Unix socket and on 127.0.0.1, and
the sandbox organization on a free loopback port, then syncs the same
organization into three pipelines: SQLite (the reference), PostgreSQL
over the socket and PostgreSQL over TCP (another database, its state
where the pipeline says). A full sync and three simulated days later:

1. after every round, every contract table read back with psycopg equals
   the SQLite table row for row (timestamps as UTC, booleans as 0/1,
   `_extra` as parsed JSON); the schema holds the contract tables and the
   two bookkeeping ones, each with the documented column types
   (timestamptz, bigint, double precision, boolean, text, jsonb for
   `_extra`), the schema's primary key, an index on each column naming
   another row, and a comment on every table and column;
2. `_huntr_sync_runs` has one row per completed run, its run ids strictly
   increasing, each run's counts the sums of its `_huntr_sync_run_tables`
   rows, and those rows the changes between the previous round's SQLite
   copy and this one's (inserted, updated, deleted and newly removed keys);
   the tables a run lists are the ones its summary says it published;
3. a run with nothing new adds exactly one `_huntr_sync_runs` row, with
   zero counts, and no `_huntr_sync_run_tables` rows;
4. syncs SIGKILLed at named kill points (`HUNTR_KILL_AT`: during a COPY,
   between tables, just before the commit) after a new day leave every
   table, and both bookkeeping tables, as the last complete run left them
   (the previous round's SQLite copy); the next run brings every table to
   the new day's SQLite and accounts for the whole day.

The server is stopped on exit (`pg_ctl stop -m immediate`), failures
included. Prints `N passed, M failed`; exits 1 on any failure. WORKDIR is
emptied first.

usage: scripts/pg_check.py HUNTR_SYNC_BINARY WORKDIR
"""
import datetime as dt
import glob
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg

from harness import Checks, advance, contract_tables, free_port, run_syncs, start, stop, wait_for
from psycopg.rows import dict_row

TOKEN = "sandbox-token"
SCHEMA = "huntr"
USER = "huntr"
# The ready-made outcome views every run keeps current.
OUTCOME_VIEWS = {"members_wide", "job_pipeline", "member_outcomes", "outcomes_by_month",
                 "outcomes_by_field", "employer_outcomes", "advisor_caseload"}
RUNS = "_huntr_sync_runs"
RUN_TABLES = "_huntr_sync_run_tables"
ROUNDS = 3
TABLES_TOML = Path(__file__).resolve().parent.parent / "schema" / "tables.toml"
# What each of the schema's column types is in PostgreSQL
# (information_schema's data_type).
PG_TYPES = {"text": "text", "value": "text", "timestamp": "timestamp with time zone",
            "int": "bigint", "float": "double precision", "bool": "boolean", "extra": "jsonb"}
KILL_POINTS = ["postgres:copy:1", "postgres:table:3", "postgres:commit:1"]
# A Unix socket's path (directory, `/.s.PGSQL.PORT`) must fit in
# sockaddr_un's 108 bytes; keep a margin.
SOCKET_PATH_MAX = 100


# ---- the schema -------------------------------------------------------------

class Table:
    """A contract table as schema/tables.toml declares it."""

    def __init__(self, t: dict):
        self.name = t["name"]
        self.key = list(t["key"])
        self.parent = t.get("parent")
        self.kinds = {c["name"]: c["type"] for c in t["columns"]}
        self.kinds["_extra"] = "extra"
        self.columns = list(self.kinds)

    def key_index(self) -> list:
        return [self.columns.index(k) for k in self.key]


def load_schema() -> dict:
    with open(TABLES_TOML, "rb") as f:
        return {t["name"]: Table(t) for t in tomllib.load(f)["table"]}


# ---- rows in one comparable form ------------------------------------------

def iso(t: dt.datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC (with microseconds when there are any)."""
    t = t.astimezone(dt.timezone.utc)
    out = (f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:"
           f"{t.second:02d}")
    if t.microsecond:
        out += f".{t.microsecond:06d}"
    return out + "Z"


def parse_iso(v: str):
    """SQLite's ISO-8601 text as a timezone-aware datetime, or None."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", v.strip())  # beyond microseconds
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.timezone.utc)


def canonical_json(v) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sqlite_value(v, kind: str):
    """A SQLite cell of a column of `kind` in the comparable form; a value
    that has none stays recognisably raw, so that it shows as a mismatch."""
    if v is None:
        return None
    if kind == "timestamp":
        if isinstance(v, (int, float)):
            return iso(dt.datetime.fromtimestamp(v, dt.timezone.utc))
        t = parse_iso(v) if isinstance(v, str) else None
        return iso(t) if t else f"<not a timestamp: {v!r}>"
    if kind == "bool":
        return int(v) if isinstance(v, int) else f"<not a boolean: {v!r}>"
    if kind == "int":
        return v if isinstance(v, int) else f"<not an integer: {v!r}>"
    if kind == "float":
        return repr(float(v)) if isinstance(v, (int, float)) else f"<not a number: {v!r}>"
    if kind == "extra":
        try:
            return canonical_json(json.loads(v))
        except (TypeError, ValueError):
            return f"<not JSON: {v!r}>"
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


def pg_value(v, kind: str):
    """A psycopg value of a column of `kind` in the comparable form."""
    if v is None:
        return None
    if kind == "timestamp":
        return iso(v) if isinstance(v, dt.datetime) else f"<not a timestamp: {v!r}>"
    if kind == "bool":
        return int(v) if isinstance(v, bool) else f"<not a boolean: {v!r}>"
    if kind == "int":
        return v if isinstance(v, int) and not isinstance(v, bool) else f"<not an integer: {v!r}>"
    if kind == "float":
        return repr(float(v)) if isinstance(v, float) else f"<not a number: {v!r}>"
    if kind == "extra":
        return canonical_json(v)
    return v if isinstance(v, str) else f"<not text: {v!r}>"


def sort_key(row):
    return tuple((0, "") if v is None else (1, repr(v)) for v in row)


def differ(t: Table, got: list, want: list) -> str:
    """What differs between two sorted row lists, by key: counts, and the
    first key whose rows differ, column by column."""
    ki = t.key_index()
    g = {tuple(r[i] for i in ki): r for r in got}
    w = {tuple(r[i] for i in ki): r for r in want}
    extra = sorted(set(g) - set(w), key=sort_key)
    missing = sorted(set(w) - set(g), key=sort_key)
    changed = sorted((k for k in set(g) & set(w) if g[k] != w[k]), key=sort_key)
    out = (f"{len(got)} rows, want {len(want)}: {len(extra)} unexpected, {len(missing)} "
           f"missing, {len(changed)} differ")
    if changed:
        k = changed[0]
        cols = [f"{c} = {a!r:.200} (SQLite {b!r:.200})"
                for c, a, b in zip(t.columns, g[k], w[k]) if a != b]
        cols_all = {c for k2 in changed for c, a, b in zip(t.columns, g[k2], w[k2]) if a != b}
        out += f"; e.g. key {dict(zip(t.key, k))}: {'; '.join(cols)}"
        out += f"; columns that differ: {sorted(cols_all)}"
    if extra:
        out += f"; e.g. unexpected {g[extra[0]]!r:.300}"
    if missing:
        out += f"; e.g. missing {w[missing[0]]!r:.300}"
    if len(g) != len(got):
        out += f"; {len(got) - len(g)} duplicate keys"
    return out


class Snapshot:
    """The SQLite reference's contract tables at one point, normalized."""

    def __init__(self, db: Path, schema: dict):
        self.db = db
        self.tables = contract_tables(db)
        self.rows = {}
        lite = sqlite3.connect(db)
        try:
            for name in self.tables:
                t = schema.get(name)
                if t is None:
                    continue
                cols = ", ".join(f'"{c}"' for c in t.columns)
                rows = lite.execute(f'SELECT {cols} FROM "{name}"').fetchall()
                self.rows[name] = sorted(
                    (tuple(sqlite_value(v, t.kinds[c]) for v, c in zip(r, t.columns))
                     for r in rows), key=sort_key)
        finally:
            lite.close()


def changes(t: Table, old: list, new: list) -> dict:
    """What publishing `new` over `old` changes: rows inserted, updated
    (any visible value differs), deleted, and newly removed (removed_at
    set)."""
    ki = t.key_index()
    o = {tuple(r[i] for i in ki): r for r in old}
    n = {tuple(r[i] for i in ki): r for r in new}
    both = set(o) & set(n)
    removed = 0
    if "removed_at" in t.kinds:
        ri = t.columns.index("removed_at")
        removed = sum(1 for k in both if o[k][ri] is None and n[k][ri] is not None)
    return {"inserted": len(set(n) - set(o)), "updated": sum(1 for k in both if o[k] != n[k]),
            "deleted": len(set(o) - set(n)), "removed": removed}


# ---- the server -------------------------------------------------------------

def pg_bindir() -> Path:
    """Where the server's binaries are: pg_config's bindir when it has them,
    else the newest /usr/lib/postgresql/*/bin."""
    dirs = []
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            dirs.append(Path(out.stdout.strip()))
    except OSError:
        pass
    def version(p: str):
        return [int(x) if x.isdigit() else 0 for x in Path(p).parent.name.split(".")]
    dirs += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version,
                                     reverse=True)]
    for d in dirs:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    raise SystemExit("no PostgreSQL server binaries (initdb, pg_ctl): install PostgreSQL's "
                     "server (Debian: apt-get install postgresql)")


class Server:
    """A throwaway PostgreSQL server: data in WORK/pg, a Unix socket in
    WORK/sock, and 127.0.0.1 on a free port; trust authentication. Both
    directories go to /tmp instead when the socket's path would be too long
    or when the postgres user (the server's, as root) cannot reach WORK."""

    def __init__(self, work: Path):
        self.bindir = pg_bindir()
        self.work = work
        self.dir = work / "pg"
        self.socket_dir = work / "sock"
        self.own_dirs = []  # temporary directories, removed by `stop`
        self.port = free_port()
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.started = False

    def run(self, *cmd, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_pg, *cmd], capture_output=True, text=True, **kw)

    def own(self, path: Path) -> None:
        path.mkdir(exist_ok=True)
        if self.as_pg:
            shutil.chown(path, "postgres", "postgres")

    def temporary(self, why: str) -> Path:
        d = Path(tempfile.mkdtemp(prefix="pgcheck-"))
        self.own_dirs.append(d)
        self.own(d)
        print(f"{why}: the server's files are in {d}", flush=True)
        return d

    def start(self) -> None:
        self.own(self.dir)
        if self.as_pg and self.run("test", "-w", str(self.dir)).returncode:
            # WORK lies under a directory the postgres user may not enter.
            d = self.temporary(f"the postgres user cannot write {self.dir}")
            self.dir, self.socket_dir = d / "pg", d / "sock"
            self.own(self.dir)
        if len(str(self.socket_dir)) + len(f"/.s.PGSQL.{self.port}") >= SOCKET_PATH_MAX:
            self.socket_dir = self.temporary(f"a socket in {self.socket_dir} has too long a path")
        self.own(self.socket_dir)
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        r = self.run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER, "-A", "trust",
                     "-E", "UTF8", "--locale=C", "--no-sync")
        if r.returncode:
            raise SystemExit(f"initdb failed ({r.returncode}): {r.stdout[-2000:]}"
                             f"{r.stderr[-2000:]}")
        opts = (f"-k {self.socket_dir} -p {self.port} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self.started = True  # pg_ctl may have started it even if it fails
        r = self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60",
                     "-l", str(self.log), "-o", opts, "start")
        if r.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise SystemExit(f"pg_ctl start failed ({r.returncode}): {r.stderr[-1000:]}\n{log}")

    def stop(self) -> None:
        if self.started and (self.data / "postmaster.pid").exists():
            self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                     "stop")
        self.started = False
        for d in self.own_dirs:
            shutil.rmtree(d, ignore_errors=True)

    def connect(self, dbname: str, **kw) -> psycopg.Connection:
        return psycopg.connect(host=str(self.socket_dir), port=self.port, user=USER,
                               dbname=dbname, connect_timeout=10, **kw)

    def create_database(self, name: str) -> None:
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def socket_url(self, db: str) -> str:
        host = urllib.parse.quote(str(self.socket_dir), safe="")
        return f"postgres://{USER}@localhost:{self.port}/{db}?host={host}&schema={SCHEMA}"

    def tcp_url(self, db: str) -> str:
        return f"postgres://{USER}@127.0.0.1:{self.port}/{db}?schema={SCHEMA}&sslmode=disable"


# ---- the check --------------------------------------------------------------

class PgCheck:
    def __init__(self, binary: Path, work: Path):
        self.c = Checks()
        self.binary = binary.resolve()
        self.work = work.resolve()
        self.schema = load_schema()
        self.servers = []
        self.pg = None

    # -- setup

    def setup(self) -> None:
        w = self.work
        self.pg = Server(w)
        self.pg.start()
        # database per PostgreSQL pipeline
        self.databases = {"postgres": "huntr", "postgres_tcp": "huntr_tcp"}
        for db in self.databases.values():
            self.pg.create_database(db)
        sandbox_port = free_port()
        self.servers.append(start([str(self.binary), "sandbox", "--port", str(sandbox_port),
                                   "--scale", "60", "--seed", "42"], w / "sandbox.log"))
        self.sandbox = f"http://127.0.0.1:{sandbox_port}"
        wait_for(f"{self.sandbox}/_sandbox/stats", "the sandbox")
        # No libpq settings of the caller's: the URLs say everything.
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("PG") and k not in ("RUST_LOG", "HUNTR_KILL_AT")}
        self.env["HUNTR_ORG_TOKEN"] = TOKEN
        self.ref = w / "reference.db"
        self.config = w / "pipelines.toml"
        # The syncs run elsewhere: state paths are relative to the config file.
        self.cwd = w / "elsewhere"
        self.cwd.mkdir()
        base = f'base_url = "{self.sandbox}/org"\nrequests_per_second = 1000\n'
        self.config.write_text(
            f'[pipelines.sqlite]\n{base}destination = "sqlite:{self.ref}"\n\n'
            f'[pipelines.postgres]\n{base}'
            f'destination = "{self.pg.socket_url(self.databases["postgres"])}"\n\n'
            f'[pipelines.postgres_tcp]\n{base}'
            f'destination = "{self.pg.tcp_url(self.databases["postgres_tcp"])}"\n'
            'state = "state/pg-tcp.db"\n')
        # The run ids of each PostgreSQL pipeline's completed runs, in order.
        self.completed = {p: [] for p in self.databases}

    def stop_servers(self) -> None:
        for p in reversed(self.servers):
            stop(p)
        if self.pg is not None:
            self.pg.stop()

    # -- running the binary

    def sync_cmd(self, pipeline: str) -> list:
        return [str(self.binary), "sync", "--config", str(self.config), "-p", pipeline, "--json",
                "--wait", "30"]

    def sync(self, *pipelines: str) -> dict:
        """Runs the pipelines' syncs side by side; returns each one's --json
        summary (empty if it failed) with its "_elapsed" seconds, and keeps
        the run ids of the pipelines whose runs it lists."""
        out = run_syncs(self.c, self.sync_cmd, self.cwd, self.env, pipelines, timeout=300)
        for p, summary in out.items():
            if p in self.completed and "run_id" in summary:
                self.completed[p].append(summary["run_id"])
        return out if len(pipelines) > 1 else out[pipelines[0]]

    def advance(self) -> None:
        advance(self.sandbox)

    def snapshot(self, label: str) -> Snapshot:
        path = self.work / f"reference-{label}.db"
        shutil.copy(self.ref, path)
        return Snapshot(path, self.schema)

    # -- reading PostgreSQL

    def pg_rows(self, conn, t: Table) -> list:
        cols = ", ".join(f'"{c}"' for c in t.columns)
        rows = conn.execute(f'SELECT {cols} FROM "{SCHEMA}"."{t.name}"').fetchall()
        return sorted((tuple(pg_value(v, t.kinds[c]) for v, c in zip(r, t.columns))
                       for r in rows), key=sort_key)

    def runs(self, conn) -> tuple:
        """({run_id: runs row}, {run_id: {table: counts}}), rows as dicts."""
        cur = conn.cursor(row_factory=dict_row)
        runs = {r["run_id"]: r for r in cur.execute(
            f'SELECT * FROM "{SCHEMA}"."{RUNS}" ORDER BY finished_at, run_id')}
        per = {}
        for r in cur.execute(f'SELECT * FROM "{SCHEMA}"."{RUN_TABLES}"'):
            per.setdefault(r["run_id"], {})[r["table_name"]] = {
                k: r[k] for k in ("inserted", "updated", "deleted", "removed")}
        return runs, per

    def tables_equal(self, conn, snap: Snapshot, what: str) -> None:
        for name in snap.tables:
            t = self.schema.get(name)
            if t is None:
                continue
            try:
                got = self.pg_rows(conn, t)
            except psycopg.Error as e:
                conn.rollback()
                self.c.check(False, f"{what}: {name} cannot be read: {e}".strip())
                continue
            want = snap.rows[name]
            self.c.check(got == want, f"{what}: {name}: {differ(t, got, want)}")

    # -- the checks

    def check_contract(self, snap: Snapshot) -> None:
        """The reference's tables are the schema's."""
        self.c.check(set(snap.tables) == set(self.schema),
                     f"SQLite's contract tables {sorted(set(snap.tables) ^ set(self.schema))} "
                     f"are not those of {TABLES_TOML.name}")

    def check_layout(self, conn, pipeline: str) -> None:
        """Tables, column types, keys, indexes and comments."""
        what = f"{pipeline} layout"
        q = conn.execute
        present = {r[0] for r in q(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_type = 'BASE TABLE'", (SCHEMA,))}
        want = set(self.schema) | {RUNS, RUN_TABLES}
        self.c.check(present == want,
                     f"{what}: schema {SCHEMA} lacks {sorted(want - present)}, also holds "
                     f"{sorted(present - want)}")
        # Beside the tables, the outcome views (README "Outcomes").
        views = {r[0] for r in q(
            "SELECT table_name FROM information_schema.views WHERE table_schema = %s",
            (SCHEMA,))}
        self.c.check(views == OUTCOME_VIEWS,
                     f"{what}: outcome views {sorted(views)}, expected {sorted(OUTCOME_VIEWS)}")
        cols = {}
        for table, column, ty in q(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s ORDER BY table_name, ordinal_position", (SCHEMA,)):
            cols.setdefault(table, {})[column] = ty
        keys = {}
        for table, column in q(
                "SELECT c.relname, a.attname FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
                "WHERE n.nspname = %s AND i.indisprimary ORDER BY c.relname, k.pos", (SCHEMA,)):
            keys.setdefault(table, []).append(column)
        # The first column of every index, by table.
        leading = {}
        for table, column in q(
                "SELECT c.relname, a.attname FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] "
                "WHERE n.nspname = %s", (SCHEMA,)):
            leading.setdefault(table, set()).add(column)
        table_docs = dict(q(
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'", (SCHEMA,)).fetchall())
        column_docs = {}
        for table, column, doc in q(
                "SELECT c.relname, a.attname, col_description(c.oid, a.attnum) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                "AND NOT a.attisdropped WHERE n.nspname = %s AND c.relkind = 'r'", (SCHEMA,)):
            column_docs.setdefault(table, {})[column] = doc
        undocumented = {}
        for name in sorted(present):
            t = self.schema.get(name)
            if t is not None:
                got = cols.get(name, {})
                self.c.check(list(got) == t.columns,
                             f"{what}: {name} has columns {list(got)}, the schema "
                             f"{t.columns}")
                wrong = {c: (got[c], PG_TYPES[k]) for c, k in t.kinds.items()
                         if c in got and got[c] != PG_TYPES[k]}
                self.c.check(not wrong, f"{what}: {name} column types (have, want): {wrong}")
                self.c.check(keys.get(name) == t.key,
                             f"{what}: {name} primary key {keys.get(name)}, the schema's {t.key}")
                # Ids from outside the organization's tables (a map place,
                # a location, a Huntr user) name no row here.
                outside = {"location_place_id", "location_id", "to_user_id"}
                naming = [c for c in t.columns if (c.endswith("_id") or c == t.parent)
                          and c != t.key[0] and c not in outside]
                unindexed = [c for c in naming if c not in leading.get(name, set())]
                self.c.check(not unindexed,
                             f"{what}: {name} has no index on {unindexed} (columns naming "
                             "another row)")
            self.c.check(bool(table_docs.get(name)), f"{what}: table {name} has no comment")
            missing = [c for c, d in column_docs.get(name, {}).items() if not d]
            if missing:
                undocumented[name] = missing
        n = sum(len(v) for v in undocumented.values())
        total = sum(len(v) for v in column_docs.values())
        listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in undocumented.items())
        self.c.check(not undocumented,
                     f"{what}: {n} of {total} columns have no comment, in {len(undocumented)} "
                     f"of {len(present)} tables: {listed:.1500}")

    def check_runs(self, conn, pipeline: str, snap: Snapshot, old, summary: dict,
                   label: str) -> None:
        """The bookkeeping tables after a completed run: one row per
        completed run, in increasing order; each run's counts the sums of
        its tables' rows; this run's rows the changes old -> snap."""
        runs, per = self.runs(conn)
        ids = list(runs)  # by finished_at
        self.c.check(ids == sorted(ids) and len(set(ids)) == len(ids),
                     f"{label}: {pipeline} {RUNS} run ids by finished_at {ids} do not strictly "
                     "increase")
        self.c.check(sorted(ids) == self.completed[pipeline],
                     f"{label}: {pipeline} {RUNS} holds runs {sorted(ids)}, the completed runs "
                     f"were {self.completed[pipeline]}")
        orphans = sorted(set(per) - set(runs))
        self.c.check(not orphans, f"{label}: {pipeline} {RUN_TABLES} names runs {orphans} that "
                                  f"{RUNS} lacks")
        for rid, r in runs.items():
            tables = per.get(rid, {})
            sums = {k: sum(c[k] for c in tables.values())
                    for k in ("inserted", "updated", "deleted", "removed")}
            have = {k: r[k] for k in sums}
            self.c.check(have == sums, f"{label}: {pipeline} run {rid}: {RUNS} says {have}, its "
                                       f"{RUN_TABLES} rows add up to {sums}")
            self.c.check(r["started_at"] is not None and r["finished_at"] is not None and
                         r["started_at"] <= r["finished_at"] and bool(r["host"]),
                         f"{label}: {pipeline} run {rid}: started_at {r['started_at']}, "
                         f"finished_at {r['finished_at']}, host {r['host']!r}")
            unknown = sorted(set(tables) - set(self.schema))
            zero = sorted(n for n, c in tables.items() if not any(c.values()))
            self.c.check(not unknown and not zero,
                         f"{label}: {pipeline} run {rid}: {RUN_TABLES} names tables "
                         f"{unknown} not in the schema, and {zero} with nothing changed")
        rid = summary.get("run_id")
        if rid is None:
            return
        if not self.c.check(rid in runs, f"{label}: {pipeline} {RUNS} has no row for run {rid}"):
            return
        self.c.check(ids[-1] == rid, f"{label}: {pipeline} run {rid} is not the latest, "
                                     f"{ids[-1]} is")
        mine = per.get(rid, {})
        if "published" in summary:
            self.c.check(sorted(summary["published"]) == sorted(mine),
                         f"{label}: {pipeline} run {rid} published {sorted(summary['published'])}"
                         f", {RUN_TABLES} lists {sorted(mine)}")
        want = {}
        for name in snap.tables:
            t = self.schema.get(name)
            if t is None:
                continue
            ch = changes(t, old.rows.get(name, []) if old else [], snap.rows[name])
            if any(ch.values()):
                want[name] = ch
        bad = {n: (mine.get(n), want.get(n)) for n in sorted(set(mine) | set(want))
               if mine.get(n) != want.get(n)}
        self.c.check(not bad, f"{label}: {pipeline} run {rid}: {RUN_TABLES} (have, the changes "
                              f"between the SQLite copies) differ for {len(bad)} tables: " +
                     "; ".join(f"{n}: {h} != {w}" for n, (h, w) in bad.items()))

    # -- the rounds

    def rounds(self) -> None:
        prev = None
        pg = list(self.databases)
        for rnd in range(ROUNDS + 1):
            label = f"round {rnd}"
            if rnd:
                self.advance()
            runs = self.sync("sqlite", *pg)
            t0 = time.monotonic()
            snap = self.snapshot(f"round{rnd}")
            if rnd == 0:
                self.check_contract(snap)
                self.check_state_files()
            for p in pg:
                with self.pg.connect(self.databases[p]) as conn:
                    if rnd == 0:
                        self.check_layout(conn, p)
                    self.tables_equal(conn, snap, f"{label}: {p}")
                    self.check_runs(conn, p, snap, prev, runs[p], label)
            print(f"{label}: syncs " +
                  ", ".join(f"{p} {s['_elapsed']:.1f}s" for p, s in runs.items()) +
                  f"; {sum(len(r) for r in snap.rows.values())} rows in {len(snap.tables)} "
                  f"tables; {self.run_counts('postgres', runs['postgres'])}; checks "
                  f"{time.monotonic() - t0:.1f}s", flush=True)
            prev = snap
        self.last_snap = prev

    def run_counts(self, pipeline: str, summary: dict) -> str:
        """What a run's _huntr_sync_runs row says it changed."""
        rid = summary.get("run_id")
        with self.pg.connect(self.databases[pipeline]) as conn:
            r = conn.execute(f'SELECT inserted, updated, deleted, removed FROM "{SCHEMA}"."{RUNS}" '
                             "WHERE run_id = %s", (rid,)).fetchone()
        if r is None:
            return f"{pipeline} run {rid}: no row"
        return (f"{pipeline} run {rid}: {r[0]} inserted, {r[1]} updated, {r[2]} deleted, "
                f"{r[3]} removed")

    def check_state_files(self) -> None:
        found = glob.glob(str(self.work / ".huntr-sync" / "postgres_*" / "state.db"))
        self.c.check(len(found) == 1,
                     f"postgres: state databases beside the config file: {found}")
        self.c.check((self.work / "state" / "pg-tcp.db").is_file(),
                     "postgres_tcp: no state database where its pipeline says")
        self.c.check(not (self.cwd / ".huntr-sync").exists() and not (self.cwd / "state").exists(),
                     "state was put beside the working directory, not the config file")

    def idle_run(self) -> None:
        """A run with nothing new writes its runs row and nothing else."""
        p = "postgres"
        with self.pg.connect(self.databases[p]) as conn:
            before, before_per = self.runs(conn)
        summary = self.sync(p)
        label = f"idle run {summary.get('run_id')}"
        with self.pg.connect(self.databases[p]) as conn:
            after, after_per = self.runs(conn)
            self.tables_equal(conn, self.last_snap, f"{label}: {p}")
            self.check_runs(conn, p, self.last_snap, self.last_snap, summary, label)
        added = sorted(set(after) - set(before))
        self.c.check(added == [summary.get("run_id")] and set(before) <= set(after),
                     f"{label}: {RUNS} gained runs {added}, lost {sorted(set(before) - set(after))}")
        self.c.check(after_per == before_per,
                     f"{label}: {RUN_TABLES} changed: {ch(before_per, after_per)}")
        if added:
            r = after[added[0]]
            counts = {k: r[k] for k in ("inserted", "updated", "deleted", "removed")}
            self.c.check(not any(counts.values()), f"{label}: its {RUNS} row counts {counts}")
        self.c.check(not summary.get("published"),
                     f"{label}: nothing new, yet it published {summary.get('published')}")
        print(f"{label}: {summary['_elapsed']:.1f}s", flush=True)

    # -- crashes

    def kill_at(self, pipeline: str, point: str) -> str:
        """A sync with HUNTR_KILL_AT=point: it must die of SIGKILL there."""
        env = dict(self.env, HUNTR_KILL_AT=point)
        t0 = time.monotonic()
        r = subprocess.run(self.sync_cmd(pipeline), cwd=self.cwd, env=env, capture_output=True,
                           text=True, timeout=300)
        self.c.check(r.returncode == -signal.SIGKILL,
                     f"crash {point}: the sync exits {r.returncode}, not killed by SIGKILL: "
                     f"{r.stderr.strip()[-800:]}")
        return f"exit {r.returncode} after {time.monotonic() - t0:.2f}s"

    def sessions_gone(self, conn, seconds: float = 15) -> bool:
        """Waits until no huntr-sync session is connected (a killed run's
        backends notice the closed connection and exit)."""
        deadline = time.monotonic() + seconds
        while conn.execute("SELECT count(*) FROM pg_stat_activity "
                           "WHERE application_name LIKE 'huntr-sync%'").fetchone()[0]:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def crashes(self) -> None:
        """A new day; the socket pipeline's sync killed at each kill point
        (PostgreSQL still at the last complete run after each), then run to
        the end (at the new day, the whole day accounted for)."""
        p = "postgres"
        t0 = time.monotonic()
        old = self.last_snap
        self.advance()
        self.sync("sqlite")
        new = self.snapshot("crash")
        with self.pg.connect(self.databases[p]) as conn:
            runs_before = self.runs(conn)
        for point in KILL_POINTS:
            label = f"crash {point}"
            what = self.kill_at(p, point)
            with self.pg.connect(self.databases[p], autocommit=True) as conn:
                self.c.check(self.sessions_gone(conn),
                             f"{label}: the killed run's sessions are still connected")
                self.tables_equal(conn, old, f"{label}: {p} (the last complete run)")
                runs_now = self.runs(conn)
                self.c.check(runs_now == runs_before,
                             f"{label}: {RUNS}/{RUN_TABLES} changed: runs "
                             f"{sorted(runs_before[0])} -> {sorted(runs_now[0])}")
                stages = conn.execute(
                    "SELECT n.nspname || '.' || c.relname FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relname LIKE '\\_stage\\_%'").fetchall()
                self.c.check(not stages, f"{label}: staging tables left: {stages}")
            print(f"{label}: {what}", flush=True)
        summary = self.sync(p)
        label = f"after the crashes (run {summary.get('run_id')})"
        print(f"{label}: {self.run_counts(p, summary)}", flush=True)
        with self.pg.connect(self.databases[p]) as conn:
            self.tables_equal(conn, new, f"{label}: {p}")
            self.check_runs(conn, p, new, old, summary, label)
        # The TCP pipeline, untouched by the crashes, catches up on the day.
        summary = self.sync("postgres_tcp")
        with self.pg.connect(self.databases["postgres_tcp"]) as conn:
            self.tables_equal(conn, new, f"{label}: postgres_tcp")
            self.check_runs(conn, "postgres_tcp", new, old, summary, "crash day: postgres_tcp")
        print(f"crashes: {time.monotonic() - t0:.1f}s", flush=True)

    def run(self) -> int:
        t0 = time.monotonic()
        try:
            self.setup()
            self.rounds()
            self.idle_run()
            self.crashes()
        finally:
            self.stop_servers()
        print(f"pg check took {time.monotonic() - t0:.0f}s")
        print(f"{self.c.passed} passed, {self.c.failed} failed")
        return 1 if self.c.failed else 0


def ch(before: dict, after: dict) -> str:
    """The runs whose table rows differ between two readings."""
    runs = sorted(set(before) | set(after))
    return ", ".join(f"run {r}: {before.get(r)} -> {after.get(r)}" for r in runs
                     if before.get(r) != after.get(r))


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    binary, work = Path(sys.argv[1]), Path(sys.argv[2])
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    # SIGTERM (a CI timeout) stops the servers too, through the finally.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return PgCheck(binary, work).run()


if __name__ == "__main__":
    sys.exit(main())
