#!/usr/bin/env python3
"""Lake check of the Delta Lake and object-storage destinations (issue #18,
run by .ci/run).

Starts an S3-compatible server (moto) and the sandbox organization on free
loopback ports, then syncs the same organization into four pipelines:
SQLite (the reference), Delta in a local directory, Delta on
`s3://lake/delta` and Parquet on `s3://lake/pq` with the changes export.
A full sync and three simulated days later:

1. after every round, every contract table read back with the `deltalake`
   package and with Polars (local and S3) and, for the S3 Parquet, with
   pyarrow equals the SQLite table row for row;
2. `_huntr_sync_runs` names every table for every run, its versions never
   decrease, and the previous run's versions (read by version, and one
   table by timestamp) equal the previous round's SQLite copy;
3. every run's `_changes/.../_manifest.json` lists files pyarrow reads from
   S3 with the listed row counts;
4. syncs SIGKILLed at several points, publishing included, leave every
   Delta table readable, without duplicate keys and at a committed state,
   and the next run brings every table back to SQLite's;
5. a remote destination whose local state is lost refreshes fully and
   still equals SQLite.

usage: scripts/lake_check.py HUNTR_SYNC_BINARY WORKDIR
"""
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import DeltaTable

TOKEN = "sandbox-token"
BUCKET = "lake"
RUNS = "_huntr_sync_runs"
ROUNDS = 3
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str) -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}", flush=True)
        return ok


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start at {url}")
            time.sleep(0.1)


def start(cmd, log: Path, env=None) -> subprocess.Popen:
    """A server in its own process group (stopped by `stop`)."""
    out = open(log, "wb")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


# ---- rows in one comparable form ------------------------------------------

def iso_micros(v):
    """SQLite's ISO-8601 UTC text (or unix seconds) as unix microseconds."""
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return int(v) * 1_000_000
    try:
        t = dt.datetime.fromisoformat(v)
    except ValueError:
        return None
    if t.tzinfo is None:
        return None
    return (t - EPOCH) // dt.timedelta(microseconds=1)


def text(v):
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


def sqlite_value(v, ty: pa.DataType):
    if pa.types.is_timestamp(ty):
        return iso_micros(v)
    if pa.types.is_boolean(ty):
        return None if not isinstance(v, int) else v != 0
    if pa.types.is_integer(ty):
        return None if v is None or isinstance(v, (str, bytes)) else int(v)
    if pa.types.is_floating(ty):
        return None if v is None or isinstance(v, (str, bytes)) else float(v)
    return text(v)


def sort_key(row):
    return tuple((0, 0) if v is None else (1, v) for v in row)


def arrow_rows(table: pa.Table, schema: pa.Schema) -> list:
    """A table's rows, in `schema`'s column order, sorted; timestamps as
    unix microseconds."""
    columns = []
    for field in schema:
        col = table.column(field.name)
        if pa.types.is_timestamp(col.type):
            col = pc.cast(pc.cast(col, pa.timestamp("us", tz="UTC")), pa.int64())
        columns.append(col.to_pylist())
    return sorted(zip(*columns), key=sort_key) if columns else []


def sqlite_rows(lite: sqlite3.Connection, name: str, schema: pa.Schema) -> list:
    cols = ", ".join(f'"{f.name}"' for f in schema)
    rows = lite.execute(f'SELECT {cols} FROM "{name}"').fetchall()
    return sorted((tuple(sqlite_value(v, f.type) for v, f in zip(r, schema)) for r in rows),
                  key=sort_key)


def contract_tables(db: Path) -> list:
    lite = sqlite3.connect(db)
    try:
        return [r[0] for r in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sync_%' "
            "AND name NOT LIKE 'sqlite_%' AND name <> 'push_log' ORDER BY name")]
    finally:
        lite.close()


def key_columns(lite: sqlite3.Connection, name: str) -> list:
    info = lite.execute(f'PRAGMA table_info("{name}")').fetchall()
    return [r[1] for r in sorted((r for r in info if r[5] > 0), key=lambda r: r[5])]


def differ(got: list, want: list) -> str:
    """What differs between two sorted row lists, briefly."""
    g, w = set(got), set(want)
    extra, missing = sorted(g - w, key=sort_key), sorted(w - g, key=sort_key)
    out = f"{len(got)} rows, want {len(want)}"
    if extra:
        out += f"; e.g. unexpected {extra[0]!r:.300}"
    if missing:
        out += f"; e.g. missing {missing[0]!r:.300}"
    if not extra and not missing:
        out += "; same rows, different multiplicities"
    return out


class Snapshot:
    """The SQLite reference's contract tables at one point: each table's
    rows for a given column set, computed once."""

    def __init__(self, db: Path):
        self.db = db
        self.lite = sqlite3.connect(db)
        self.tables = contract_tables(db)
        self._rows = {}

    def rows(self, name: str, schema: pa.Schema) -> list:
        key = (name, tuple(f.name for f in schema))
        if key not in self._rows:
            self._rows[key] = sqlite_rows(self.lite, name, schema)
        return self._rows[key]


# ---- the check --------------------------------------------------------------

class Lake:
    def __init__(self, binary: Path, work: Path):
        self.c = Checks()
        self.binary = binary.resolve()
        self.work = work.resolve()
        self.rng = random.Random(18)
        self.servers = []

    # -- setup

    def setup(self) -> None:
        w = self.work
        s3_port, sandbox_port = free_port(), free_port()
        self.endpoint = f"http://127.0.0.1:{s3_port}"
        creds = {"AWS_ACCESS_KEY_ID": "lake-check", "AWS_SECRET_ACCESS_KEY": "lake-check",
                 "AWS_REGION": "us-east-1"}
        self.servers.append(start(["moto_server", "-H", "127.0.0.1", "-p", str(s3_port)],
                                  w / "moto.log"))
        self.servers.append(start([str(self.binary), "sandbox", "--port", str(sandbox_port),
                                   "--scale", "60", "--seed", "42"], w / "sandbox.log"))
        wait_for(self.endpoint, "moto_server")
        self.sandbox = f"http://127.0.0.1:{sandbox_port}"
        wait_for(f"{self.sandbox}/_sandbox/stats", "the sandbox")
        boto3.client("s3", endpoint_url=self.endpoint, **{
            "aws_access_key_id": creds["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": creds["AWS_SECRET_ACCESS_KEY"],
            "region_name": creds["AWS_REGION"]}).create_bucket(Bucket=BUCKET)
        self.env = dict(os.environ, HUNTR_ORG_TOKEN=TOKEN, AWS_ENDPOINT_URL=self.endpoint,
                        AWS_ALLOW_HTTP="true", **creds)
        self.env.pop("RUST_LOG", None)
        self.storage = dict(creds, AWS_ENDPOINT_URL=self.endpoint, AWS_ALLOW_HTTP="true")
        self.s3fs = pafs.S3FileSystem(access_key=creds["AWS_ACCESS_KEY_ID"],
                                      secret_key=creds["AWS_SECRET_ACCESS_KEY"],
                                      region=creds["AWS_REGION"],
                                      endpoint_override=f"127.0.0.1:{s3_port}", scheme="http")
        self.ref = w / "reference.db"
        self.delta_dir = w / "delta"
        self.config = w / "pipelines.toml"
        # The pipelines live in a directory of their own and the syncs run
        # elsewhere: state paths are relative to the config file.
        self.cwd = w / "elsewhere"
        self.cwd.mkdir()
        base = f'base_url = "{self.sandbox}/org"\nrequests_per_second = 1000\n'
        self.config.write_text(
            f'[pipelines.sqlite]\n{base}destination = "sqlite:{self.ref}"\n\n'
            f'[pipelines.delta_local]\n{base}destination = "delta:{self.delta_dir}"\n\n'
            f'[pipelines.delta_s3]\n{base}destination = "delta:s3://{BUCKET}/delta"\n'
            'state = "state/delta-s3.db"\n\n'
            f'[pipelines.parquet_s3]\n{base}destination = "parquet:s3://{BUCKET}/pq"\n'
            "export_changes = true\n")
        self.state = {"delta_s3": w / "state" / "delta-s3.db",
                      "parquet_s3": w / ".huntr-sync" / "s3___lake_pq" / "state.db",
                      "delta_local": self.delta_dir / "_huntr_sync" / "state.db"}
        self.delta = {"delta_local": str(self.delta_dir), "delta_s3": f"s3://{BUCKET}/delta"}

    def stop_servers(self) -> None:
        for p in reversed(self.servers):
            stop(p)

    # -- running the binary

    def sync_cmd(self, pipeline: str) -> list:
        return [str(self.binary), "sync", "--config", str(self.config), "-p", pipeline, "--json"]

    def sync(self, pipeline: str) -> dict:
        t0 = time.monotonic()
        r = subprocess.run(self.sync_cmd(pipeline), cwd=self.cwd, env=self.env,
                           capture_output=True, text=True)
        secs = time.monotonic() - t0
        ok = self.c.check(r.returncode == 0,
                          f"sync {pipeline} exits {r.returncode}: {r.stderr.strip()[-800:]}")
        summary = {}
        if ok:
            try:
                summary = json.loads(r.stdout)
            except json.JSONDecodeError:
                self.c.check(False, f"sync {pipeline} --json printed {r.stdout[:200]!r}")
        summary["_elapsed"] = secs
        return summary

    def advance(self) -> None:
        req = urllib.request.Request(f"{self.sandbox}/_sandbox/advance?days=1", method="POST")
        urllib.request.urlopen(req, timeout=30).read()

    # -- reading the destinations

    def delta_table(self, pipeline: str, name: str, version=None) -> DeltaTable:
        url = f"{self.delta[pipeline]}/{name}"
        opts = self.storage if url.startswith("s3://") else None
        return DeltaTable(url, version=version, storage_options=opts)

    def polars_table(self, pipeline: str, name: str) -> pa.Table:
        url = f"{self.delta[pipeline]}/{name}"
        opts = self.storage if url.startswith("s3://") else None
        return pl.read_delta(url, storage_options=opts).to_arrow()

    def s3_parquet(self, key: str) -> pa.Table:
        return pq.read_table(f"{BUCKET}/{key}", filesystem=self.s3fs)

    def s3_keys(self, prefix: str) -> list:
        sel = pafs.FileSelector(f"{BUCKET}/{prefix}", recursive=True, allow_not_found=True)
        return [i.path[len(BUCKET) + 1:] for i in self.s3fs.get_file_info(sel)
                if i.type == pafs.FileType.File]

    # -- the checks

    def equal(self, got: pa.Table, schema: pa.Schema, snap: Snapshot, name: str,
              what: str) -> bool:
        rows = arrow_rows(got, schema)
        want = snap.rows(name, schema)
        return self.c.check(rows == want, f"{what}: {differ(rows, want)}")

    def compare_all(self, snap: Snapshot, label: str) -> None:
        """Every contract table, read by every reader, equals SQLite."""
        for name in snap.tables:
            for p in self.delta:
                try:
                    t = self.delta_table(p, name)
                    got = t.to_pyarrow_table()
                except Exception as e:  # noqa: BLE001 - any failure to read is the finding
                    self.c.check(False, f"{label}: deltalake cannot read {p} {name}: {e}")
                    continue
                schema = got.schema
                self.c.check("_extra" in schema.names and
                             not [n for n in schema.names if n.startswith("_") and n != "_extra"],
                             f"{label}: {p} {name} columns {schema.names}")
                self.equal(got, schema, snap, name, f"{label}: deltalake {p} {name}")
                try:
                    self.equal(self.polars_table(p, name), schema, snap, name,
                               f"{label}: polars {p} {name}")
                except Exception as e:  # noqa: BLE001
                    self.c.check(False, f"{label}: polars cannot read {p} {name}: {e}")
            try:
                got = self.s3_parquet(f"pq/{name}/{name}.parquet")
                self.equal(got, got.schema, snap, name, f"{label}: pyarrow s3 parquet {name}")
            except Exception as e:  # noqa: BLE001
                self.c.check(False, f"{label}: pyarrow cannot read s3 parquet {name}: {e}")
        for p in self.delta:
            present = self.delta_dirs(p)
            self.c.check(set(snap.tables) | {RUNS} <= present,
                         f"{label}: {p} lacks tables {sorted(set(snap.tables) - present)}")

    def delta_dirs(self, pipeline: str) -> set:
        if pipeline == "delta_local":
            return {d.name for d in self.delta_dir.iterdir() if (d / "_delta_log").is_dir()}
        keys = self.s3_keys("delta/")
        return {k.split("/")[1] for k in keys if k.split("/")[2:3] == ["_delta_log"]}

    def runs_rows(self, pipeline: str) -> list:
        return self.delta_table(pipeline, RUNS).to_pyarrow_table().to_pylist()

    def check_runs(self, pipeline: str, tables: list, run_id: int, label: str) -> dict:
        """The runs table's rules; returns this run's {table: version}."""
        rows = self.runs_rows(pipeline)
        by_run = {}
        for r in rows:
            by_run.setdefault(r["run_id"], []).append(r)
        mine = by_run.get(run_id, [])
        self.c.check(bool(mine), f"{label}: {pipeline} {RUNS} has no row for run {run_id}")
        for rid, rs in sorted(by_run.items()):
            names = [r["table_name"] for r in rs]
            self.c.check(len(names) == len(set(names)),
                         f"{label}: {pipeline} {RUNS} lists a table twice for run {rid} "
                         f"({len(names)} rows, {len(set(names))} tables; published_at "
                         f"{sorted({str(r['published_at']) for r in rs})})")
            self.c.check(set(tables) <= set(names),
                         f"{label}: {pipeline} {RUNS} run {rid} misses "
                         f"{sorted(set(tables) - set(names))}")
        # Versions never decrease, in the order the runs were published.
        last = {}
        ordered = sorted(rows, key=lambda r: (r["published_at"], r["run_id"]))
        for r in ordered:
            prev = last.get(r["table_name"])
            self.c.check(prev is None or r["version"] >= prev[0],
                         f"{label}: {pipeline} {r['table_name']} version {r['version']} "
                         f"(run {r['run_id']}) after {prev}")
            last[r["table_name"]] = (r["version"], r["run_id"])
        versions = {r["table_name"]: r["version"] for r in mine}
        counts = {r["table_name"]: r["rows"] for r in mine}
        return {"versions": versions, "rows": counts}

    def check_current_versions(self, pipeline: str, listed: dict, run_id: int,
                               snap: Snapshot, label: str) -> None:
        """The listed versions are the tables' current ones, with SQLite's row
        counts, committed by a run no later than this one."""
        for name in snap.tables:
            v = listed["versions"].get(name)
            if v is None:
                continue
            t = self.delta_table(pipeline, name)
            self.c.check(t.version() == v,
                         f"{label}: {pipeline} {name} is at version {t.version()}, "
                         f"{RUNS} says {v}")
            n = snap.lite.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
            self.c.check(listed["rows"][name] == n,
                         f"{label}: {pipeline} {RUNS} says {name} has {listed['rows'][name]} "
                         f"rows, SQLite has {n}")
            info = [h for h in t.history() if h.get("version") == t.version()]
            rid = info[0].get("huntr_sync_run_id") if info else None
            self.c.check(isinstance(rid, int) and rid <= run_id,
                         f"{label}: {pipeline} {name} version {t.version()} commit info "
                         f"huntr_sync_run_id = {rid!r} (run {run_id})")

    def time_travel(self, pipeline: str, prev: dict, prev_snap: Snapshot, between: float,
                    label: str) -> None:
        """The previous run's versions equal the previous round's SQLite."""
        for name in prev_snap.tables:
            v = prev["versions"].get(name)
            if v is None:
                continue
            try:
                old = self.delta_table(pipeline, name, version=v).to_pyarrow_table()
            except Exception as e:  # noqa: BLE001
                self.c.check(False, f"{label}: {pipeline} {name} version {v} unreadable: {e}")
                continue
            self.equal(old, old.schema, prev_snap, name,
                       f"{label}: {pipeline} {name} at version {v} (previous run)")
        # By timestamp: a moment between the previous round and this one.
        name = "jobs"
        t = self.delta_table(pipeline, name)
        when = dt.datetime.fromtimestamp(between, tz=dt.timezone.utc)
        t.load_as_version(when)
        self.c.check(t.version() == prev["versions"][name],
                     f"{label}: {pipeline} {name} as of {when.isoformat()} is version "
                     f"{t.version()}, the previous run's is {prev['versions'][name]}")
        old = t.to_pyarrow_table()
        self.equal(old, old.schema, prev_snap, name,
                   f"{label}: {pipeline} {name} as of {when.isoformat()}")

    def check_changes(self, seen: dict, label: str) -> None:
        """Every run's manifest; the files it lists, with their row counts."""
        keys = self.s3_keys("pq/_changes/")
        runs = sorted({k.split("/")[2] for k in keys}, key=lambda r: int(r.split("=")[1]))
        for run in runs:
            mkey = f"pq/_changes/{run}/_manifest.json"
            if not self.c.check(mkey in keys, f"{label}: {run} has no manifest"):
                continue
            with self.s3fs.open_input_stream(f"{BUCKET}/{mkey}") as f:
                body = f.read()
            manifest = json.loads(body)
            if run in seen:
                self.c.check(seen[run] == body,
                             f"{label}: {mkey} changed since it was first written")
            seen.setdefault(run, body)
            self.c.check(f"run={manifest.get('run_id')}" == run,
                         f"{label}: {mkey} names run {manifest.get('run_id')}")
            listed = {e["file"] for e in manifest.get("files", [])}
            present = {k.split("/")[3] for k in keys if k.startswith(f"pq/_changes/{run}/")}
            self.c.check(present - {"_manifest.json"} == listed,
                         f"{label}: {run} holds {sorted(present)}, its manifest lists "
                         f"{sorted(listed)}")
            for e in manifest.get("files", []):
                try:
                    n = self.s3_parquet(f"pq/_changes/{run}/{e['file']}").num_rows
                except Exception as err:  # noqa: BLE001
                    self.c.check(False, f"{label}: {run}/{e['file']} unreadable: {err}")
                    continue
                self.c.check(n == e["rows"],
                             f"{label}: {run}/{e['file']} has {n} rows, manifest says "
                             f"{e['rows']}")

    # -- the rounds

    def rounds(self) -> None:
        prev = {}
        prev_snap = None
        between = None
        self.manifests = {}
        for rnd in range(ROUNDS + 1):
            label = f"round {rnd}"
            if rnd:
                self.advance()
            runs = {p: self.sync(p) for p in ("sqlite", "delta_local", "delta_s3", "parquet_s3")}
            self.timings = {p: s["_elapsed"] for p, s in runs.items()}
            snap_path = self.work / f"reference-round{rnd}.db"
            shutil.copy(self.ref, snap_path)
            snap = Snapshot(snap_path)
            if rnd == 0:
                self.check_state_files()
            self.compare_all(snap, label)
            cur = {}
            for p in self.delta:
                rid = runs[p].get("run_id")
                if rid is None:
                    continue
                cur[p] = self.check_runs(p, snap.tables, rid, label)
                self.check_current_versions(p, cur[p], rid, snap, label)
                if prev_snap is not None and p in prev:
                    self.time_travel(p, prev[p], prev_snap, between, label)
            self.check_changes(self.manifests, label)
            exported = runs["parquet_s3"].get("changes_exported", 0)
            rid = runs["parquet_s3"].get("run_id")
            if rid is not None:
                self.c.check(exported == 0 or f"run={rid}" in self.manifests,
                             f"{label}: parquet_s3 run {rid} exported {exported} changes "
                             "and wrote no manifest")
            for p in ("delta_local", "delta_s3", "parquet_s3"):
                spool = self.state[p].parent / "spool"
                left = sorted(os.listdir(spool)) if spool.is_dir() else []
                self.c.check(not left, f"{label}: {p} leaves {left} in {spool}")
            print(f"{label}: " + ", ".join(f"{p} {s:.1f}s" for p, s in self.timings.items()),
                  flush=True)
            prev, prev_snap = cur, snap
            # A moment strictly between this round's commits and the next's.
            time.sleep(1.1)
            between = time.time()
            time.sleep(1.1)
        self.last_snap = prev_snap

    def check_state_files(self) -> None:
        for p in ("delta_s3", "parquet_s3", "delta_local"):
            self.c.check(self.state[p].is_file(), f"{p}: no state database at {self.state[p]}")
        self.c.check(not (self.cwd / ".huntr-sync").exists() and not (self.cwd / "state").exists(),
                     "remote state was put beside the working directory, not the config file")

    # -- crashes

    def delta_commits(self, pipeline: str) -> dict:
        """{table: current version} of every Delta table, or the error."""
        out = {}
        for name in self.last_snap.tables + [RUNS]:
            out[name] = self.delta_table(pipeline, name).version()
        return out

    def check_after_kill(self, pipeline: str, old: Snapshot, new: Snapshot, label: str) -> int:
        """Every table loads, has unique keys and holds the old or the new
        rows. Returns how many tables hold the new rows."""
        moved = 0
        for name in new.tables:
            try:
                got = self.delta_table(pipeline, name).to_pyarrow_table()
            except Exception as e:  # noqa: BLE001
                self.c.check(False, f"{label}: {pipeline} {name} does not load: {e}")
                continue
            keys = key_columns(new.lite, name)
            if keys:
                n_keys = got.group_by(keys).aggregate([]).num_rows
                self.c.check(n_keys == got.num_rows,
                             f"{label}: {pipeline} {name} has {got.num_rows - n_keys} duplicate "
                             f"keys {keys}")
            rows = arrow_rows(got, got.schema)
            is_new = rows == new.rows(name, got.schema)
            is_old = rows == old.rows(name, got.schema)
            moved += is_new and not is_old
            self.c.check(is_new or is_old,
                         f"{label}: {pipeline} {name} is neither the last committed state nor "
                         f"the new one: {differ(rows, new.rows(name, got.schema))}")
        try:
            self.runs_rows(pipeline)
        except Exception as e:  # noqa: BLE001
            self.c.check(False, f"{label}: {pipeline} {RUNS} does not load: {e}")
        return moved

    def kill_during(self, pipeline: str, how: str, arg) -> str:
        """Starts a sync and SIGKILLs it: after `arg` seconds (how = "time"),
        once the publisher has spooled `arg` tables ("tables") or once it
        spools the runs table ("runs"). Returns what happened."""
        spool = self.state[pipeline].parent / "spool"
        p = subprocess.Popen(self.sync_cmd(pipeline), cwd=self.cwd, env=self.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        t0 = time.monotonic()
        seen = set()
        while p.poll() is None:
            if how == "time" and time.monotonic() - t0 >= arg:
                break
            try:
                seen.update(os.listdir(spool))
            except FileNotFoundError:
                pass
            if how == "tables" and len(seen - {f"{RUNS}.parquet"}) >= arg:
                break
            if how == "runs" and f"{RUNS}.parquet" in seen:
                break
            time.sleep(0.001)
        if p.poll() is not None:
            return f"finished (exit {p.returncode}) before the kill"
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return f"killed after {time.monotonic() - t0:.2f}s, {len(seen)} files spooled"

    def crashes(self) -> None:
        old = self.last_snap
        self.advance()
        self.sync("sqlite")
        shutil.copy(self.ref, self.work / "reference-crash.db")
        new = Snapshot(self.work / "reference-crash.db")
        for pipeline in self.delta:
            before = self.delta_commits(pipeline)
            took = self.timings[pipeline]
            plan = [("time", round(self.rng.uniform(0.05, 0.6) * took, 3)),
                    ("tables", self.rng.randint(1, 3)),
                    ("tables", self.rng.randint(4, 12)),
                    ("runs", None)]
            mid_publish = 0
            for i, (how, arg) in enumerate(plan):
                label = f"crash {pipeline} #{i} ({how} {arg})"
                what = self.kill_during(pipeline, how, arg)
                moved = self.check_after_kill(pipeline, old, new, label)
                after = self.delta_commits(pipeline)
                changed = sorted(n for n in after if after[n] != before[n])
                mid_publish += bool(changed) and "killed" in what
                print(f"{label}: {what}; {moved} tables hold the new rows, "
                      f"{len(changed)} tables committed since the crash test began", flush=True)
            self.c.check(mid_publish > 0,
                         f"crash {pipeline}: no kill landed after a commit (publishing not hit)")
            summary = self.sync(pipeline)
            label = f"after the crashes {pipeline}"
            for name in new.tables:
                got = self.delta_table(pipeline, name).to_pyarrow_table()
                self.equal(got, got.schema, new, name, f"{label}: {name}")
            if "run_id" in summary:
                listed = self.check_runs(pipeline, new.tables, summary["run_id"], label)
                self.check_current_versions(pipeline, listed, summary["run_id"], new, label)
        self.sync("parquet_s3")
        self.crash_snap = new

    # -- lost state

    def lost_state(self) -> None:
        self.advance()
        self.sync("sqlite")
        shutil.copy(self.ref, self.work / "reference-lost.db")
        snap = Snapshot(self.work / "reference-lost.db")
        for pipeline in ("delta_s3", "parquet_s3"):
            db = self.state[pipeline]
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            summary = self.sync(pipeline)
            label = f"lost state {pipeline}"
            self.c.check(self.state[pipeline].is_file(), f"{label}: no new state database")
            if pipeline == "delta_s3":
                for name in snap.tables:
                    got = self.delta_table(pipeline, name).to_pyarrow_table()
                    self.equal(got, got.schema, snap, name, f"{label}: {name}")
                    keys = key_columns(snap.lite, name)
                    n_keys = got.group_by(keys).aggregate([]).num_rows if keys else got.num_rows
                    self.c.check(n_keys == got.num_rows,
                                 f"{label}: {name} has {got.num_rows - n_keys} duplicate keys")
                if "run_id" in summary:
                    listed = self.check_runs(pipeline, snap.tables, summary["run_id"], label)
                    self.check_current_versions(pipeline, listed, summary["run_id"], snap, label)
            else:
                for name in snap.tables:
                    got = self.s3_parquet(f"pq/{name}/{name}.parquet")
                    self.equal(got, got.schema, snap, name, f"{label}: {name}")
                self.check_changes(self.manifests, label)

    def run(self) -> int:
        t0 = time.monotonic()
        try:
            self.setup()
            self.rounds()
            self.crashes()
            self.lost_state()
        finally:
            self.stop_servers()
        print(f"lake check took {time.monotonic() - t0:.0f}s")
        print(f"{self.c.passed} passed, {self.c.failed} failed")
        return 1 if self.c.failed else 0


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    binary, work = Path(sys.argv[1]), Path(sys.argv[2])
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    return Lake(binary, work).run()


if __name__ == "__main__":
    sys.exit(main())
