"""`migrate to-s3`, then `migrate to-local --delete-remote`, each killed with SIGKILL at every named
point of a move and at random moments, and rerun to completion: nothing is lost.

After every kill, every record must point at audio that exists with its recorded size (so no local
file went before its record pointed at a verified S3 object); at the end every episode plays through
the app, byte-identical.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.runtime import Runtime
from app.settings import Settings
from tests.support.aws import s3_env
from tests.support.data import build_local_episodes
from tests.support.live import played
from tests.support.paths import ROOT

TRIALS = 12
CLI = [sys.executable, "-m", "scripts.cli"]


def every_record_points_at_audio_that_exists(env: dict[str, str]) -> int:
    """Checks the invariant; returns how many episodes are already in S3."""
    with Runtime.open(Settings.from_env(env)) as runtime:
        in_s3 = 0
        for episode in runtime.records.episodes():
            storage, key = runtime.stores.locate(episode.audio_ref)
            assert storage.stat(key).size == episode.size, f"{episode.id}: {episode.audio_ref} is not whole"
            in_s3 += storage is runtime.stores.remote
        return in_s3


def kill_at_random_moments(argv: list[str], env: dict[str, str], rng: random.Random) -> list[int]:
    """Start ``argv``, SIGKILL it after a random delay, check the invariant; TRIALS times."""
    progress = []
    for _ in range(TRIALS):
        process = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.22, 0.4))  # past start-up (~0.2 s), well inside the ~1.5 s of work
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        progress.append(every_record_points_at_audio_that_exists(env))
    return progress


def run_to_completion(argv: list[str], env: dict[str, str]) -> None:
    final = subprocess.run(argv, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stdout + final.stderr


def test_kill_9_at_random_moments_then_rerun(tmp_path: Path, moto_server: str, server_bucket) -> None:
    name, s3 = server_bucket
    env = s3_env(tmp_path / "data", S3_ENDPOINT_URL=moto_server, S3_BUCKET_NAME=name, STORAGE_MODE="auto")
    audio = build_local_episodes(tmp_path / "data", count=50, size=1024 * 1024)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    migrate = [*CLI, "migrate"]

    to_s3 = [*migrate, "to-s3", "--concurrency", "1"]
    progress = kill_at_random_moments(to_s3, env, rng)
    print(f"seed {seed}: episodes in S3 after each kill of to-s3: {progress}")
    assert progress[0] < 50, "the first kill came after the migration had finished: it tested nothing"
    run_to_completion(to_s3, env)
    assert every_record_points_at_audio_that_exists(env) == 50
    assert not list((tmp_path / "data" / "podcasts").rglob("*.mp3"))
    assert played(env, "s3") == audio

    to_local = [*migrate, "to-local", "--delete-remote", "--concurrency", "1"]
    progress = kill_at_random_moments(to_local, env, rng)
    print(f"seed {seed}: episodes still in S3 after each kill of to-local: {progress}")
    assert progress[0] > 0, "the first kill came after the migration had finished: it tested nothing"
    run_to_completion(to_local, env)
    assert every_record_points_at_audio_that_exists(env) == 0
    assert s3.list_objects_v2(Bucket=name).get("KeyCount") == 0  # every leftover deleted by the rerun
    assert played(env, "local") == audio


TO_S3 = ["migrate", "to-s3", "--concurrency", "1"]
TO_LOCAL = ["migrate", "to-local", "--delete-remote", "--concurrency", "1"]
KILL_POINTS = [  # (when, what, before the kill: how many are in S3, the move)
    ("after", "app.storage.s3:S3Storage.save_file", 1, TO_S3),  # uploaded and verified, record not switched
    ("after", "app.records:Records.mark_stored", 2, TO_S3),  # record switched, the local copy still there
    ("after", "app.storage.local:LocalStorage.delete", 2, TO_S3),  # local copy gone, still recorded as kept
    ("before", "app.records:Records.forget_local_copy", 2, TO_S3),
    ("after", "app.storage.local:LocalStorage._write_sidecar", 3, TO_LOCAL),  # downloaded, described, not switched
    ("after", "app.records:Records.mark_stored", 2, TO_LOCAL),  # switched to the disk, S3 copy still there
]


@pytest.mark.parametrize("when,target,in_s3,move", KILL_POINTS,
                         ids=[f"{m[1]}-{w}-{t.rsplit('.', 1)[1]}" for w, t, _, m in KILL_POINTS])
def test_a_kill_at_each_point_of_a_move_then_a_rerun_loses_nothing(
        tmp_path: Path, moto_server: str, server_bucket, when: str, target: str, in_s3: int, move: list[str]) -> None:
    name, s3 = server_bucket
    env = s3_env(tmp_path / "data", S3_ENDPOINT_URL=moto_server, S3_BUCKET_NAME=name, STORAGE_MODE="auto")
    audio = build_local_episodes(tmp_path / "data", count=4, size=50_000)
    if move is TO_LOCAL:
        run_to_completion([*CLI, *TO_S3], env)
    killed = subprocess.run([sys.executable, "-m", "tests.support.kill_at", when, target, "2", "--", *move],
                            cwd=ROOT, env={**os.environ, **env}, capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert every_record_points_at_audio_that_exists(env) == in_s3

    run_to_completion([*CLI, *move], env)
    done_in_s3 = move is TO_S3
    assert every_record_points_at_audio_that_exists(env) == (4 if done_in_s3 else 0)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]
    assert len(keys) == (4 if done_in_s3 else 0) and not any("_orphans" in key for key in keys)
    assert len(list((tmp_path / "data" / "podcasts").rglob("*.mp3"))) == (0 if done_in_s3 else 4)
    assert played(env, "s3" if done_in_s3 else "local") == audio
