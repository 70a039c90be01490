"""``EncordEmulator``: start, seed, inspect and break the local Encord API."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

# Importing the route modules registers their routes on the shared router.
from airflow_provider_encord.testing.emulator import _rpc  # noqa: F401
from airflow_provider_encord.testing.emulator._seed import seed_demo, seed_empty, seed_scale
from airflow_provider_encord.testing.emulator._server import (
    FAULT_KINDS,
    EmulatorServer,
    Fault,
    RecordedRequest,
    wait_for_port,
)
from airflow_provider_encord.testing.emulator._store import Store, User
from airflow_provider_encord.testing.emulator._v2 import router

SEEDS = ("demo", "empty", "scale")
AUTH_FORMS = ("ssh_key", "key_path", "bearer")


class EncordEmulator:
    """A local Encord API server for the unmodified ``encord`` SDK.

    :param seed: initial state: ``"demo"``, ``"empty"`` or ``"scale"``
    :param port: TCP port on 127.0.0.1; 0 picks a free one
    :param upload_polls: how many result polls an upload job answers PENDING before it is DONE
    :param max_page_size: the largest page any paged route returns (set it small to force paging)
    :param scale_images: number of images of the ``scale`` seed
    :param scale_objects: objects per image of the ``scale`` seed
    :param verbose: log every request to stderr
    """

    def __init__(
        self,
        seed: str = "demo",
        *,
        port: int = 0,
        upload_polls: int = 2,
        max_page_size: int = 100,
        scale_images: int = 1000,
        scale_objects: int = 5,
        verbose: bool = False,
    ) -> None:
        if seed not in SEEDS:
            raise ValueError(f"seed={seed!r} is not a known seed; use one of {', '.join(SEEDS)}")
        if max_page_size < 1:
            raise ValueError(f"max_page_size={max_page_size!r} must be at least 1")
        if not 0 <= scale_images <= 10**7:
            raise ValueError(f"scale_images={scale_images!r} must be between 0 and 10,000,000")
        if upload_polls < 0:
            raise ValueError(f"upload_polls={upload_polls!r} must be 0 or more")
        self.seed = seed
        self.port = port
        self.upload_polls = upload_polls
        self.max_page_size = max_page_size
        self.verbose = verbose
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._key_dir: tempfile.TemporaryDirectory[str] | None = None

        key = Ed25519PrivateKey.generate()
        self.private_key: str = key.private_bytes(
            Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()
        ).decode()
        self.public_key_hex: str = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        self.bearer_token: str = secrets.token_urlsafe(24)
        self.store = Store()
        self.owner_email = self.store.owner_email
        self.store.users[self.owner_email] = User(self.owner_email, self.public_key_hex, self.bearer_token)
        if seed == "demo":
            self.ids: dict[str, Any] = seed_demo(self.store)
        elif seed == "scale":
            self.ids = seed_scale(self.store, scale_images, scale_objects)
        else:
            self.ids = seed_empty(self.store)
        self.ids["owner_email"] = self.owner_email

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> EncordEmulator:
        """Start serving in a background thread (idempotent)."""
        if self._server is not None:
            return self
        self._key_dir = tempfile.TemporaryDirectory(prefix="encord-emulator-")
        path = Path(self._key_dir.name) / "encord_ed25519"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.private_key)
        self._key_path = path
        self._server = EmulatorServer(("127.0.0.1", self.port), self, router)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="encord-emulator",
            daemon=True,
        )
        self._thread.start()
        wait_for_port("127.0.0.1", self.port)
        return self

    def stop(self) -> None:
        """Stop serving and remove the key file."""
        server, self._server = self._server, None
        if server is not None:
            server.stopping.set()
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._key_dir is not None:
            self._key_dir.cleanup()
            self._key_dir = None

    def __enter__(self) -> EncordEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connection details ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("The emulator is not running: call start() first")
        return f"http://127.0.0.1:{self.port}"

    @property
    def private_key_path(self) -> Path:
        if self._key_dir is None:
            raise RuntimeError("The emulator is not running: call start() first")
        return self._key_path

    def airflow_connection(self, auth: str = "ssh_key") -> dict[str, Any]:
        """The connection in Airflow's JSON form.

        :param auth: ``"ssh_key"`` (key in the password), ``"key_path"`` (extra ``ssh_private_key_path``)
            or ``"bearer"`` (extra ``bearer_token``)
        """
        if auth == "ssh_key":
            return {"conn_type": "encord", "host": self.url, "password": self.private_key}
        if auth == "key_path":
            return {
                "conn_type": "encord",
                "host": self.url,
                "extra": {"ssh_private_key_path": str(self.private_key_path)},
            }
        if auth == "bearer":
            return {"conn_type": "encord", "host": self.url, "extra": {"bearer_token": self.bearer_token}}
        raise ValueError(f"auth={auth!r} is not supported; use one of {', '.join(AUTH_FORMS)}")

    def airflow_env(self, conn_id: str = "encord_default", auth: str = "ssh_key") -> dict[str, str]:
        """``{"AIRFLOW_CONN_<CONN_ID>": <JSON connection>}``, ready for ``os.environ`` or monkeypatch."""
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(self.airflow_connection(auth))}

    # -- inspection ------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(record)

    # -- faults ----------------------------------------------------------------------------------------
    def add_fault(
        self,
        route: str,
        kind: str,
        *,
        times: int | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
        error_code: str | None = None,
    ) -> Fault:
        """Make requests to ``route`` fail.

        :param route: a glob over route keys: ``"rpc:<query_type>:<METHOD>"`` (``"rpc:labelrow:GET"``) or
            ``"v2:<METHOD>:<path>"`` with either the template (``"v2:GET:/projects/{p}"``) or the concrete
            path (``"v2:GET:/projects/5f0c*"``); ``"*"`` matches every request
        :param kind: ``"status"`` (HTTP ``status``, default 500, with ``Retry-After: retry_after`` if given),
            ``"rpc_error"`` (RPC envelope with ``error_code``, e.g. ``"RATE_LIMIT_ERROR"``; RPC routes only),
            ``"latency"`` (answer after ``delay`` seconds), ``"drop"`` (close the connection, no answer),
            ``"timeout"`` (hold the answer ``delay`` seconds, default 5: set the client's read timeout lower),
            ``"truncate"`` (answer with the full ``Content-Length`` but close the connection halfway through
            the body; a 204 answer has no body and goes out whole)
        :param times: fire this many times, then let requests through; ``None`` fires forever
        :return: the fault; its ``fired`` counts how often it fired
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind={kind!r} is not a fault kind; use one of {', '.join(FAULT_KINDS)}")
        if kind == "rpc_error" and not route.startswith("rpc:"):
            raise ValueError(
                f"kind='rpc_error' needs an RPC route ('rpc:<query_type>:<METHOD>'), not {route!r}"
            )
        if kind == "status" and status is not None and not 400 <= status <= 599:
            raise ValueError(f"status={status!r} must be an HTTP error status (400-599)")
        if kind in ("latency",) and delay is None:
            raise ValueError(f"kind={kind!r} needs delay=<seconds>")
        fault = Fault(route, kind, times, status, retry_after, delay, error_code)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, keys: list[str]) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if (fault.times is None or fault.fired < fault.times) and fault.matches(keys):
                    fault.fired += 1
                    return fault
        return None
