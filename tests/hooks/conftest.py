"""Fixtures for the hook tests: emulators shared per module where the tests only read."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_encord.hooks.encord import EncordHook
from airflow_provider_encord.testing.emulator import EncordEmulator

#: No SDK-level retries and no back-off, so that error paths answer at once.
FAST_FAIL_EXTRAS = {"max_retries": 0, "backoff_factor": 0}


def connection_env(conn_id: str, conn: dict[str, Any]) -> dict[str, str]:
    """The environment variable defining Airflow connection ``conn_id`` as JSON."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)}


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[EncordEmulator]:
    """One demo emulator per module, paging every two items so that multi-page listings are exercised.

    Only for tests that do not change its state.
    """
    with EncordEmulator(seed="demo", max_page_size=2) as emulator:
        yield emulator


@pytest.fixture
def make_hook(monkeypatch: pytest.MonkeyPatch) -> Callable[..., EncordHook]:
    """Build a hook on a fresh connection to ``emulator``, with optional extras and field overrides."""
    counter = iter(range(1_000_000))

    def make(emulator: EncordEmulator, auth: str = "ssh_key", **fields: Any) -> EncordHook:
        conn = emulator.airflow_connection(auth)
        extra = {**conn.get("extra", {}), **fields.pop("extra", {})}
        conn.update(fields)
        if extra:
            conn["extra"] = extra
        conn_id = f"encord_test_{next(counter)}"
        for key, value in connection_env(conn_id, conn).items():
            monkeypatch.setenv(key, value)
        return EncordHook(encord_conn_id=conn_id)

    return make


@pytest.fixture
def read_hook(shared_emulator: EncordEmulator, make_hook: Callable[..., EncordHook]) -> EncordHook:
    """A hook on the module's shared (read-only) emulator."""
    shared_emulator.clear_faults()
    shared_emulator.clear_requests()
    return make_hook(shared_emulator)


@pytest.fixture
def emulator(encord_emulator_factory: Callable[..., EncordEmulator]) -> EncordEmulator:
    """A fresh demo emulator for a test that changes state."""
    return encord_emulator_factory(seed="demo", upload_polls=2)


@pytest.fixture
def hook(emulator: EncordEmulator, make_hook: Callable[..., EncordHook]) -> EncordHook:
    """A hook on the test's own emulator, failing fast (no SDK retries)."""
    return make_hook(emulator, extra=FAST_FAIL_EXTRAS)
