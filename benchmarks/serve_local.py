"""Serving an episode from the disk: the app against nginx (``sendfile on``, one worker), same file, same run.

Run by hand: ``.venv/bin/python -m benchmarks.serve_local [--rounds 3]`` (nginx on PATH: Debian's
``nginx-light`` package).

One 64 MiB episode is stored through the app in local mode; then 1 and 16 listeners (a process each)
read it whole again and again, 1 GiB per figure, from the app's audio URL and from nginx serving the
same data folder, taking turns to go first. The servers run on a CPU of their own and the listeners on
the other, so a figure is the server's and not the listeners'. Printed per round: throughput
app ÷ nginx, and each server's CPU seconds per GiB served, app ÷ nginx.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

from benchmarks._harness import Process, app_server, free_port, process_tree
from benchmarks.serve_audio import PER_MEASUREMENT, SIZE, cpu_seconds, listeners, parallel_seconds

STREAMS = (1, 16)
SERVER_CPU, LISTENER_CPUS = {1}, {0}


def nginx(root: Path, work: Path) -> tuple[Process, str]:
    port = free_port()
    config = work / "nginx.conf"
    config.write_text(f"""
worker_processes 1;
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
pid {work}/nginx.pid;
error_log stderr;
events {{}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    types {{ audio/mpeg mp3; }}
    server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
""")
    base = f"http://127.0.0.1:{port}"
    server = Process(["nginx", "-c", str(config), "-p", str(work)], {}, lambda: httpx.get(base).status_code > 0,
                     "nginx", SERVER_CPU)
    return server, base


def tree_cpu_seconds(pid: int) -> float:
    """The process and its children (nginx's worker does the serving)."""
    return sum(cpu_seconds(process) for process in process_tree(pid))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        parser.error("needs two CPUs: the servers on one, the listeners on the other")
    os.sched_setaffinity(0, LISTENER_CPUS)
    work = Path(tempfile.mkdtemp(prefix="ephitup-serve-local-"))
    data = work / "data"
    app, app_base = app_server({"DATA_FOLDER": str(data), "STORAGE_MODE": "local", "MAX_UPLOAD_MB": "200"},
                               SERVER_CPU)
    web, web_base = nginx(data, work)
    try:
        episode = httpx.post(f"{app_base}/api/podcasts/episodes", data={"name": "bench"}, timeout=300,
                             files={"audio": ("b.mp3", os.urandom(SIZE), "audio/mpeg")}).json()
        urls = {"app": f"{app_base}{episode['audio_url']}", "nginx": f"{web_base}/{episode['audio_ref']}"}
        servers = {"app": app, "nginx": web}
        pools = {name: listeners("proxy", "", "", url) for name, url in urls.items()}
        for pool in pools.values():
            parallel_seconds(pool, 1, reads=1)
        speeds: dict[tuple[str, int], list[float]] = {}
        ratios: dict[tuple[str, int], list[float]] = {}
        for round_ in range(args.rounds):
            for streams in STREAMS:
                order = ("app", "nginx") if (round_ + streams) % 2 == 0 else ("nginx", "app")
                took, cpu = {}, {}
                for name in order:
                    before = tree_cpu_seconds(servers[name].popen.pid)
                    took[name] = parallel_seconds(pools[name], streams)
                    cpu[name] = (tree_cpu_seconds(servers[name].popen.pid) - before) / (PER_MEASUREMENT * SIZE / 2**30)
                    speeds.setdefault((name, streams), []).append(PER_MEASUREMENT * SIZE / took[name] / 2**20)
                    speeds.setdefault((f"{name} cpu", streams), []).append(cpu[name])
                ratios.setdefault(("throughput", streams), []).append(took["nginx"] / took["app"])
                ratios.setdefault(("cpu", streams), []).append(cpu["app"] / max(cpu["nginx"], 1e-9))
        for pool in pools.values():
            pool.terminate()
    finally:
        app.stop()
        web.stop()
    print(f"a {SIZE >> 20} MiB episode from the disk, {args.rounds} rounds; servers on CPU 1, listeners on CPU 0")
    print(f"{'streams':>8} {'app MiB/s':>10} {'nginx MiB/s':>12} {'app CPU-s/GiB':>14} {'nginx CPU-s/GiB':>16}   "
          "throughput app/nginx (min median max, target >= 0.9)   CPU app/nginx (target <= 1.5)")
    for streams in STREAMS:
        throughput, cpu_ratio = sorted(ratios[("throughput", streams)]), sorted(ratios[("cpu", streams)])
        print(f"{streams:8d} {statistics.median(speeds[('app', streams)]):10.0f} "
              f"{statistics.median(speeds[('nginx', streams)]):12.0f} "
              f"{statistics.median(speeds[('app cpu', streams)]):14.2f} "
              f"{statistics.median(speeds[('nginx cpu', streams)]):16.2f}   "
              f"{throughput[0]:.2f} {statistics.median(throughput):.2f} {throughput[-1]:.2f}"
              f"{'':>37}{cpu_ratio[0]:.2f} {statistics.median(cpu_ratio):.2f} {cpu_ratio[-1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
