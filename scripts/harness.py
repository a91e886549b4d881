"""What the CI's read-back checks (lake_check.py, pg_check.py) share:
counting checks, starting and stopping servers on free loopback ports,
running the binary's syncs and advancing the sandbox's days, and which
SQLite tables are the contract's."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


class Checks:
    """Counts checks; called from reader threads too."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.lock = threading.Lock()

    def check(self, ok: bool, what: str) -> bool:
        with self.lock:
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
    with open(log, "wb") as out:
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


def contract_tables(db: Path) -> list:
    """The contract's tables in a SQLite destination (not the state's own
    bookkeeping: sync_*, push_log)."""
    lite = sqlite3.connect(db)
    try:
        return [r[0] for r in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sync_%' "
            "AND name NOT LIKE 'push_%' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    finally:
        lite.close()


def run_syncs(c: Checks, cmd_of, cwd: Path, env: dict, pipelines, timeout=None) -> dict:
    """Runs the pipelines' syncs (`cmd_of(pipeline)`, with --json) side by
    side; returns each one's summary (empty if it failed) with its
    "_elapsed" seconds."""
    def one(p: str) -> dict:
        t0 = time.monotonic()
        r = subprocess.run(cmd_of(p), cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=timeout)
        summary = {}
        if c.check(r.returncode == 0,
                   f"sync {p} exits {r.returncode}: {r.stderr.strip()[-800:]}"):
            try:
                summary = json.loads(r.stdout.strip().splitlines()[-1])
            except (json.JSONDecodeError, IndexError):
                c.check(False, f"sync {p} --json printed {r.stdout[:200]!r}")
        summary["_elapsed"] = time.monotonic() - t0
        return summary

    with ThreadPoolExecutor(len(pipelines)) as ex:
        return dict(zip(pipelines, ex.map(one, pipelines)))


def advance(sandbox: str, days: int = 1) -> None:
    """Lets the sandbox organization live `days` simulated days."""
    req = urllib.request.Request(f"{sandbox}/_sandbox/advance?days={days}", method="POST")
    urllib.request.urlopen(req, timeout=30).read()
