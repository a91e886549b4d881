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
   pyarrow equals the SQLite table row for row (the remote state files
   sit where the pipelines say, or beside the config file);
2. `_huntr_sync_runs` names every table for every run, lists the tables'
   current versions, its versions never decrease, each commit carries its
   run's id, and the previous run's versions (read by version, and one
   table by timestamp) equal the previous round's SQLite copy; a run with
   nothing new commits nothing;
3. every run's `_changes/.../_manifest.json` lists files pyarrow reads from
   S3 with the listed row counts, and never changes once written;
4. syncs SIGKILLed at several points, publishing included, leave every
   Delta table readable, without duplicate keys and at a committed state
   (the last round's or the new day's), and the next run brings every
   table back to SQLite's;
5. remote destinations whose local state is lost refresh fully, under new
   run ids, and then equal a first sync of SQLite made at the same moment
   (the incremental reference keeps history a first sync cannot see, such
   as the last values of since-deleted rows: the script prints where).

Prints `N passed, M failed`; exits 1 on any failure. WORKDIR is emptied
first.

usage: scripts/lake_check.py HUNTR_SYNC_BINARY WORKDIR
"""
import datetime as dt
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import DeltaTable

from harness import Checks, advance, contract_tables, free_port, run_syncs, start, stop, wait_for

TOKEN = "sandbox-token"
BUCKET = "lake"
RUNS = "_huntr_sync_runs"
ROUNDS = 3
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


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
        self.lite = sqlite3.connect(db, check_same_thread=False)
        self.tables = contract_tables(db)
        self._rows = {}
        self.lock = threading.Lock()

    def rows(self, name: str, schema: pa.Schema) -> list:
        key = (name, tuple(f.name for f in schema))
        with self.lock:
            if key not in self._rows:
                self._rows[key] = sqlite_rows(self.lite, name, schema)
            return self._rows[key]

    def count(self, name: str) -> int:
        with self.lock:
            return self.lite.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]

    def keys(self, name: str) -> list:
        with self.lock:
            return key_columns(self.lite, name)


# ---- the check --------------------------------------------------------------

class Lake:
    def __init__(self, binary: Path, work: Path):
        self.c = Checks()
        self.binary = binary.resolve()
        self.work = work.resolve()
        self.rng = random.Random(18)
        self.servers = []
        self.pool = ThreadPoolExecutor(8)

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
        # A killed sync leaves its lease in the bucket until it lapses: a
        # short lease, and syncs that wait for it (see sync_cmd), let the
        # next run take it over within seconds instead of two minutes.
        self.env = dict(os.environ, HUNTR_ORG_TOKEN=TOKEN, AWS_ENDPOINT_URL=self.endpoint,
                        AWS_ALLOW_HTTP="true", HUNTR_LEASE_TTL_SECS="4", **creds)
        self.env.pop("RUST_LOG", None)
        self.storage = dict(creds, AWS_ENDPOINT_URL=self.endpoint, AWS_ALLOW_HTTP="true")
        self.s3fs = pafs.S3FileSystem(access_key=creds["AWS_ACCESS_KEY_ID"],
                                      secret_key=creds["AWS_SECRET_ACCESS_KEY"],
                                      region=creds["AWS_REGION"],
                                      endpoint_override=f"127.0.0.1:{s3_port}", scheme="http")
        self.ref = w / "reference.db"
        self.fresh = w / "first-sync.db"
        self.delta_dir = w / "delta"
        self.config = w / "pipelines.toml"
        # The pipelines live in a directory of their own and the syncs run
        # elsewhere: state paths are relative to the config file.
        self.cwd = w / "elsewhere"
        self.cwd.mkdir()
        base = f'base_url = "{self.sandbox}/org"\nrequests_per_second = 1000\n'
        self.config.write_text(
            f'[pipelines.sqlite]\n{base}destination = "sqlite:{self.ref}"\n\n'
            f'[pipelines.sqlite_fresh]\n{base}destination = "sqlite:{self.fresh}"\n\n'
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
        return [str(self.binary), "sync", "--config", str(self.config), "-p", pipeline, "--json",
                "--wait", "30"]

    def sync(self, *pipelines: str) -> dict:
        """Runs the pipelines' syncs side by side; returns each one's --json
        summary (empty if it failed) with its "_elapsed" seconds."""
        out = run_syncs(self.c, self.sync_cmd, self.cwd, self.env, pipelines)
        return out if len(pipelines) > 1 else out[pipelines[0]]

    def advance(self) -> None:
        advance(self.sandbox)

    # -- reading the destinations

    def delta_table(self, pipeline: str, name: str, version=None) -> DeltaTable:
        url = f"{self.delta[pipeline]}/{name}"
        opts = self.storage if url.startswith("s3://") else None
        return DeltaTable(url, version=version, storage_options=opts)

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

    def each_table(self, fn, tables) -> list:
        """fn(table) for every table, on the reader threads; an exception
        is a failed check."""
        def guarded(name: str):
            try:
                return fn(name)
            except Exception as e:  # noqa: BLE001 - a reader's failure is a finding
                self.c.check(False, f"{name!r:.100}: {type(e).__name__}: {e}")
                return None

        return list(self.pool.map(guarded, tables))

    def compare_all(self, snap: Snapshot, label: str) -> dict:
        """Every contract table, read by every reader, equals SQLite.
        Returns the Delta tables loaded, {(pipeline, table): DeltaTable}."""
        loaded = {}

        def one(name: str) -> None:
            for p in self.delta:
                try:
                    t = self.delta_table(p, name)
                    got = t.to_pyarrow_table()
                except Exception as e:  # noqa: BLE001 - any failure to read is the finding
                    self.c.check(False, f"{label}: deltalake cannot read {p} {name}: {e}")
                    continue
                loaded[(p, name)] = t
                schema = got.schema
                self.c.check("_extra" in schema.names and
                             not [n for n in schema.names if n.startswith("_") and n != "_extra"],
                             f"{label}: {p} {name} columns {schema.names}")
                self.equal(got, schema, snap, name, f"{label}: deltalake {p} {name}")
                try:
                    self.equal(pl.read_delta(t).to_arrow(), schema, snap, name,
                               f"{label}: polars {p} {name}")
                except Exception as e:  # noqa: BLE001
                    self.c.check(False, f"{label}: polars cannot read {p} {name}: {e}")
            try:
                got = self.s3_parquet(f"pq/{name}/{name}.parquet")
                self.equal(got, got.schema, snap, name, f"{label}: pyarrow s3 parquet {name}")
            except Exception as e:  # noqa: BLE001
                self.c.check(False, f"{label}: pyarrow cannot read s3 parquet {name}: {e}")

        self.each_table(one, snap.tables)
        for p in self.delta:
            present = self.delta_dirs(p)
            self.c.check(set(snap.tables) | {RUNS} <= present,
                         f"{label}: {p} lacks tables {sorted(set(snap.tables) - present)}")
        return loaded

    def delta_dirs(self, pipeline: str) -> set:
        if pipeline == "delta_local":
            return {d.name for d in self.delta_dir.iterdir() if (d / "_delta_log").is_dir()}
        keys = self.s3_keys("delta/")
        return {k.split("/")[1] for k in keys if k.split("/")[2:3] == ["_delta_log"]}

    def runs_rows(self, pipeline: str) -> list:
        return self.delta_table(pipeline, RUNS).to_pyarrow_table().to_pylist()

    def check_runs(self, pipeline: str, tables: list, run_id: int, label: str) -> dict:
        """The runs table's rules; returns what it lists for `run_id` (its
        latest publication, should the id have been used twice)."""
        rows = self.runs_rows(pipeline)
        by_run = {}
        for r in rows:
            by_run.setdefault(r["run_id"], []).append(r)
        for rid, rs in sorted(by_run.items()):
            names = [r["table_name"] for r in rs]
            self.c.check(len(names) == len(set(names)),
                         f"{label}: {pipeline} {RUNS} lists tables more than once for run {rid} "
                         f"({len(names)} rows, {len(set(names))} tables; published_at "
                         f"{sorted({str(r['published_at']) for r in rs})})")
            self.c.check(set(tables) <= set(names),
                         f"{label}: {pipeline} {RUNS} run {rid} misses "
                         f"{sorted(set(tables) - set(names))}")
        # Versions never decrease, in the order the runs were published.
        last = {}
        for r in sorted(rows, key=lambda r: (r["published_at"], r["run_id"])):
            prev = last.get(r["table_name"])
            self.c.check(prev is None or r["version"] >= prev[0],
                         f"{label}: {pipeline} {r['table_name']} version {r['version']} "
                         f"(run {r['run_id']}) after {prev}")
            last[r["table_name"]] = (r["version"], r["run_id"])
        mine = by_run.get(run_id, [])
        self.c.check(bool(mine), f"{label}: {pipeline} {RUNS} has no row for run {run_id}")
        if mine:
            latest = max(r["published_at"] for r in mine)
            mine = [r for r in mine if r["published_at"] == latest]
        return {"versions": {r["table_name"]: r["version"] for r in mine},
                "rows": {r["table_name"]: r["rows"] for r in mine},
                "run_ids": sorted(by_run)}

    def check_current_versions(self, pipeline: str, listed: dict, summary: dict,
                               snap: Snapshot, loaded: dict, label: str) -> None:
        """The listed versions are the tables' current ones, with SQLite's row
        counts; a table the run published carries its run id in the commit
        info, any other an earlier run's."""
        run_id = summary["run_id"]
        published = set(summary.get("published", []))

        def one(name: str) -> None:
            v = listed["versions"].get(name)
            if v is None:
                return
            t = loaded.get((pipeline, name)) or self.delta_table(pipeline, name)
            self.c.check(t.version() == v,
                         f"{label}: {pipeline} {name} is at version {t.version()}, "
                         f"{RUNS} says {v}")
            n = snap.count(name)
            self.c.check(listed["rows"][name] == n,
                         f"{label}: {pipeline} {RUNS} says {name} has {listed['rows'][name]} "
                         f"rows, SQLite has {n}")
            info = t.history(1)
            rid = info[0].get("huntr_sync_run_id") if info else None
            ok = rid == run_id if name in published else isinstance(rid, int) and rid < run_id
            self.c.check(ok, f"{label}: {pipeline} {name} version {t.version()} commit info "
                             f"huntr_sync_run_id = {rid!r} (run {run_id}, "
                             f"{'published' if name in published else 'unchanged'})")

        self.each_table(one, snap.tables)

    def time_travel(self, pipeline: str, prev: dict, prev_snap: Snapshot, between: float,
                    label: str) -> None:
        """The previous run's versions equal the previous round's SQLite."""
        def one(name: str) -> None:
            v = prev["versions"].get(name)
            if v is None:
                return
            try:
                old = self.delta_table(pipeline, name, version=v).to_pyarrow_table()
            except Exception as e:  # noqa: BLE001
                self.c.check(False, f"{label}: {pipeline} {name} version {v} unreadable: {e}")
                return
            self.equal(old, old.schema, prev_snap, name,
                       f"{label}: {pipeline} {name} at version {v} (previous run)")

        self.each_table(one, prev_snap.tables)
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
                # Checked when it was written; it must not change since.
                self.c.check(seen[run] == body,
                             f"{label}: {mkey} changed since it was first written")
                if seen[run] == body:
                    continue
            seen[run] = body
            self.c.check(f"run={manifest.get('run_id')}" == run,
                         f"{label}: {mkey} names run {manifest.get('run_id')}")
            listed = {e["file"] for e in manifest.get("files", [])}
            present = {k.split("/")[3] for k in keys if k.startswith(f"pq/_changes/{run}/")}
            self.c.check(present - {"_manifest.json"} == listed,
                         f"{label}: {run} holds {sorted(present)}, its manifest lists "
                         f"{sorted(listed)}")
            def one(e: dict, run=run) -> None:
                n = self.s3_parquet(f"pq/_changes/{run}/{e['file']}").num_rows
                self.c.check(n == e["rows"],
                             f"{label}: {run}/{e['file']} has {n} rows, manifest says "
                             f"{e['rows']}")

            self.each_table(one, manifest.get("files", []))

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
            if between is not None:
                time.sleep(max(0.0, between + 1.1 - time.time()))
            runs = self.sync("sqlite", "delta_local", "delta_s3", "parquet_s3")
            synced = time.time()
            self.timings = {p: s["_elapsed"] for p, s in runs.items()}
            t0 = time.monotonic()
            snap_path = self.work / f"reference-round{rnd}.db"
            shutil.copy(self.ref, snap_path)
            snap = Snapshot(snap_path)
            if rnd == 0:
                self.check_state_files()
            loaded = self.compare_all(snap, label)
            t1 = time.monotonic()
            cur = {}
            for p in self.delta:
                if "run_id" not in runs[p]:
                    continue
                cur[p] = self.check_runs(p, snap.tables, runs[p]["run_id"], label)
                self.check_current_versions(p, cur[p], runs[p], snap, loaded, label)
                if prev_snap is not None and p in prev:
                    self.time_travel(p, prev[p], prev_snap, between, label)
            t2 = time.monotonic()
            self.check_changes(self.manifests, label)
            exported = runs["parquet_s3"].get("changes_exported", 0)
            rid = runs["parquet_s3"].get("run_id")
            if rid is not None:
                body = self.manifests.get(f"run={rid}")
                listed = sum(e["rows"] for e in json.loads(body)["files"]) if body else 0
                self.c.check(listed == exported,
                             f"{label}: parquet_s3 run {rid} exported {exported} changes, "
                             f"its manifest lists {listed if body else 'none'}")
            for p in ("delta_local", "delta_s3", "parquet_s3"):
                self.spool_empty(p, label)
            print(f"{label}: syncs " +
                  ", ".join(f"{p} {s:.1f}s" for p, s in self.timings.items()) +
                  f"; checks {time.monotonic() - t0:.1f}s (read back {t1 - t0:.1f}s, "
                  f"versions {t2 - t1:.1f}s, changes {time.monotonic() - t2:.1f}s)", flush=True)
            prev, prev_snap = cur, snap
            self.versions = {p: {n: t.version() for (q, n), t in loaded.items() if q == p}
                             for p in self.delta}
            # A moment strictly between this round's commits and the next's,
            # even for a store that keeps whole seconds (the checks take
            # longer than the margins; the sleeps are rarely needed).
            between = synced + 1.1
            time.sleep(max(0.0, between - time.time()))
        self.last_snap = prev_snap
        self.idle_run()

    def idle_run(self) -> None:
        """A run with nothing new to read commits no new version."""
        summary = self.sync("delta_local")
        published = summary.get("published", [])
        now = {n: self.delta_table("delta_local", n).version() for n in self.last_snap.tables}
        moved = sorted(n for n in now if now[n] != self.versions["delta_local"].get(n))
        self.c.check(not published and not moved,
                     f"idle run {summary.get('run_id')}: nothing changed at the source, yet it "
                     f"published {published} and committed new versions of {moved}")
        self.versions["delta_local"] = now

    def spool_empty(self, pipeline: str, label: str) -> None:
        spool = self.state[pipeline].parent / "spool"
        left = sorted(os.listdir(spool)) if spool.is_dir() else []
        self.c.check(not left, f"{label}: {pipeline} leaves {left} in {spool}")

    def check_state_files(self) -> None:
        for p in ("delta_s3", "parquet_s3", "delta_local"):
            self.c.check(self.state[p].is_file(), f"{p}: no state database at {self.state[p]}")
        self.c.check(not (self.cwd / ".huntr-sync").exists() and not (self.cwd / "state").exists(),
                     "remote state was put beside the working directory, not the config file")

    # -- crashes

    def no_duplicate_keys(self, got: pa.Table, keys: list, what: str) -> None:
        if keys:
            n = got.group_by(keys).aggregate([]).num_rows
            self.c.check(n == got.num_rows,
                         f"{what} has {got.num_rows - n} duplicate keys {keys}")

    def check_after_kill(self, pipeline: str, old: Snapshot, new: Snapshot,
                         label: str) -> tuple:
        """Every table loads, has unique keys and holds the old or the new
        rows. Returns ({table: version}, how many hold the new rows)."""
        versions = {}

        def one(name: str) -> bool:
            try:
                t = self.delta_table(pipeline, name)
                got = t.to_pyarrow_table()
            except Exception as e:  # noqa: BLE001
                self.c.check(False, f"{label}: {pipeline} {name} does not load: {e}")
                return False
            versions[name] = t.version()
            self.no_duplicate_keys(got, new.keys(name), f"{label}: {pipeline} {name}")
            rows = arrow_rows(got, got.schema)
            is_new = rows == new.rows(name, got.schema)
            is_old = rows == old.rows(name, got.schema)
            self.c.check(is_new or is_old,
                         f"{label}: {pipeline} {name} is neither the last committed state nor "
                         f"the new one: {differ(rows, new.rows(name, got.schema))}")
            return is_new and not is_old

        moved = sum(self.each_table(one, new.tables))
        try:
            self.runs_rows(pipeline)
        except Exception as e:  # noqa: BLE001
            self.c.check(False, f"{label}: {pipeline} {RUNS} does not load: {e}")
        return versions, moved

    def written_since(self, pipeline: str, started: float) -> set:
        """The tables whose new data files this run has written so far: a
        local Delta table's files appear in its directory, a remote one's
        pass through the spool as `<table>.parquet` (a killed run may have
        left older ones, hence the time)."""
        seen = set()
        if pipeline == "delta_local":
            dirs = [d for d in self.delta_dir.iterdir() if d.is_dir()]
            for d in dirs:
                try:
                    if any(e.name.startswith("part-") and e.stat().st_mtime >= started
                           for e in os.scandir(d)):
                        seen.add(d.name)
                except FileNotFoundError:
                    pass
            return seen
        spool = self.state[pipeline].parent / "spool"
        try:
            seen.update(e.name.removesuffix(".parquet") for e in os.scandir(spool)
                        if e.stat().st_mtime >= started)
        except FileNotFoundError:
            pass
        return seen

    def kill_during(self, pipeline: str, how: str, arg) -> str:
        """Starts a sync and SIGKILLs it: after `arg` seconds (how = "time"),
        once the publisher has written `arg` tables ("tables") or once it
        writes the runs table ("runs"). Returns what happened."""
        p = subprocess.Popen(self.sync_cmd(pipeline), cwd=self.cwd, env=self.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        t0 = time.monotonic()
        started = time.time() - 0.01
        seen = set()
        while p.poll() is None:
            if how == "time" and time.monotonic() - t0 >= arg:
                break
            seen |= self.written_since(pipeline, started)
            if how == "tables" and len(seen - {RUNS}) >= arg:
                break
            if how == "runs" and RUNS in seen:
                break
            time.sleep(0.001)
        if p.poll() is not None:
            return f"finished (exit {p.returncode}) before the kill"
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return f"killed after {time.monotonic() - t0:.2f}s, {len(seen)} tables written"

    def crashes(self) -> None:
        """A new day; each Delta pipeline's sync killed four times (the two
        pipelines side by side), then run to the end."""
        t0 = time.monotonic()
        old = self.last_snap
        self.advance()
        self.sync("sqlite")
        shutil.copy(self.ref, self.work / "reference-crash.db")
        new = Snapshot(self.work / "reference-crash.db")
        plans = {p: [("time", round(self.rng.uniform(0.05, 0.6) * self.timings[p], 3)),
                     ("tables", self.rng.randint(1, 3)),
                     ("tables", self.rng.randint(4, 12)),
                     ("runs", None)]
                 for p in self.delta}
        with ThreadPoolExecutor(3) as ex:
            jobs = [ex.submit(self.crash, p, plans[p], old, new) for p in self.delta]
            jobs.append(ex.submit(self.sync, "parquet_s3"))
            for j in jobs:
                j.result()
        print(f"crashes: {time.monotonic() - t0:.1f}s", flush=True)

    def crash(self, pipeline: str, plan: list, old: Snapshot, new: Snapshot) -> None:
        before = self.versions[pipeline]
        mid_publish = 0
        for i, (how, arg) in enumerate(plan):
            label = f"crash {pipeline} #{i} ({how} {arg})"
            what = self.kill_during(pipeline, how, arg)
            after, moved = self.check_after_kill(pipeline, old, new, label)
            changed = [n for n in after if after[n] != before.get(n)]
            mid_publish += bool(changed) and "killed" in what
            print(f"{label}: {what}; {moved} tables hold the new rows, "
                  f"{len(changed)} committed since the crash test began", flush=True)
        self.c.check(mid_publish > 0,
                     f"crash {pipeline}: no kill landed after a commit (publishing not hit)")
        summary = self.sync(pipeline)
        label = f"after the crashes {pipeline}"
        loaded = {}

        def one(name: str) -> None:
            t = self.delta_table(pipeline, name)
            loaded[(pipeline, name)] = t
            got = t.to_pyarrow_table()
            self.equal(got, got.schema, new, name, f"{label}: {name}")
            self.no_duplicate_keys(got, new.keys(name), f"{label}: {pipeline} {name}")

        self.each_table(one, new.tables)
        if "run_id" in summary:
            # A run with nothing left to commit lists nothing: then the last
            # run that did must name the current versions.
            run_id = summary["run_id"] if summary.get("published") else \
                max(r["run_id"] for r in self.runs_rows(pipeline))
            listed = self.check_runs(pipeline, new.tables, run_id, label)
            self.check_current_versions(pipeline, listed, summary, new, loaded, label)
        self.spool_empty(pipeline, label)

    # -- lost state

    def lost_state(self) -> None:
        """The state of both remote pipelines deleted: the next run reads
        everything again and publishes what a first sync would."""
        t0 = time.monotonic()
        self.advance()
        self.sync("sqlite", "sqlite_fresh")
        fresh = Snapshot(self.fresh)
        shutil.copy(self.ref, self.work / "reference-lost.db")
        ref = Snapshot(self.work / "reference-lost.db")
        apart = [n for n in ref.tables
                 if sqlite_rows(ref.lite, n, self.schema_of(n)) !=
                 sqlite_rows(fresh.lite, n, self.schema_of(n))]
        print(f"lost state: a first sync and the incremental reference differ in "
              f"{len(apart)} tables {apart} (history a first sync cannot see)", flush=True)
        remote = ("delta_s3", "parquet_s3")
        earlier = {"delta_s3": {r["run_id"] for r in self.runs_rows("delta_s3")},
                   "parquet_s3": {int(r.split("=")[1]) for r in self.manifests}}
        for pipeline in remote:
            db = self.state[pipeline]
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        summaries = self.sync(*remote)
        for pipeline in remote:
            label = f"lost state {pipeline}"
            summary = summaries[pipeline]
            self.c.check(self.state[pipeline].is_file(), f"{label}: no new state database")
            rid = summary.get("run_id")
            ids = earlier[pipeline]
            self.c.check(rid is not None and rid > max(ids),
                         f"{label}: the new run is run {rid}, an id the destination already "
                         f"holds (runs {min(ids)}..{max(ids)})")
            if pipeline == "delta_s3":
                loaded = {}

                def one(name: str, label=label, loaded=loaded) -> None:
                    t = self.delta_table("delta_s3", name)
                    loaded[("delta_s3", name)] = t
                    got = t.to_pyarrow_table()
                    self.equal(got, got.schema, fresh, name, f"{label}: {name}")
                    self.no_duplicate_keys(got, fresh.keys(name), f"{label}: {name}")

                self.each_table(one, fresh.tables)
                if rid is not None:
                    listed = self.check_runs(pipeline, fresh.tables, rid, label)
                    self.check_current_versions(pipeline, listed, summary, fresh, loaded, label)
            else:
                def one(name: str, label=label) -> None:
                    got = self.s3_parquet(f"pq/{name}/{name}.parquet")
                    self.equal(got, got.schema, fresh, name, f"{label}: {name}")

                self.each_table(one, fresh.tables)
                self.check_changes(self.manifests, label)
        print(f"lost state: {time.monotonic() - t0:.1f}s", flush=True)

    def schema_of(self, name: str) -> pa.Schema:
        return pa.schema(self.delta_table("delta_local", name).schema().to_arrow())

    def run(self) -> int:
        t0 = time.monotonic()
        try:
            self.setup()
            self.rounds()
            self.crashes()
            self.lost_state()
        finally:
            self.pool.shutdown()
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
