"""``ephitup dev``: run a stack's environment on this machine.

S3 off: the app on local disk. S3 on: an embedded S3 emulator (moto, on 127.0.0.1) with the stack's
bucket created, and the app pointed at it. Ctrl-C stops both.
"""

from __future__ import annotations

import argparse
import os
import socket

from infra.contract import app_env
from scripts.exit_codes import Exit, PortInUseError
from scripts.stack_io import load_stacks

EMULATOR_KEY = "ephitup-dev"  # moto accepts any credentials; these are not a secret


def run_app(label: str, host: str, port: int) -> None:
    """Serve ``app.main:app`` from the current environment, saying where to look first."""
    import uvicorn

    with socket.socket() as probe:  # a clear error before uvicorn's own exit
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise PortInUseError(f"cannot listen on {host}:{port} ({error.strerror}): pick another with "
                                 "--port (make run PORT=...)") from None

    base = f"http://{host}:{port}"
    print(f"{label}: serving on {base}  (API docs {base}/docs, health {base}/health); Ctrl-C stops", flush=True)
    uvicorn.run("app.main:app", host=host, port=port, log_level="info")


def cmd_dev(args: argparse.Namespace) -> int:
    """Run a stack's environment locally; with S3 on, against an embedded S3 emulator."""
    (stack,) = load_stacks([args.stack], [])
    env = stack.env
    variables = {**app_env(env), "DATA_FOLDER": args.data_folder}
    emulator = None
    if env.s3_enabled:
        import boto3
        from moto.server import ThreadedMotoServer

        emulator = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        emulator.start()
        host, port = emulator.get_host_and_port()
        endpoint, bucket = f"http://{host}:{port}", f"ephitup-{env.stack}-local"
        boto3.client("s3", region_name=env.region, endpoint_url=endpoint, aws_access_key_id=EMULATOR_KEY,
                     aws_secret_access_key=EMULATOR_KEY).create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env.region})
        variables.update(S3_BUCKET_NAME=bucket, S3_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=EMULATOR_KEY,
                         AWS_SECRET_ACCESS_KEY=EMULATOR_KEY)
        print(f"ephitup dev: S3 emulator on {endpoint}, bucket {bucket}")
    os.environ.update(variables)
    print(f"ephitup dev: stack {env.stack}, storage mode {variables['STORAGE_MODE']}, data folder {args.data_folder}")
    try:
        run_app("ephitup dev", args.host, args.port)
    finally:
        if emulator is not None:
            emulator.stop()
    return Exit.OK
