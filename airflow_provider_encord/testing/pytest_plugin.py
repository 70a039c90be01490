"""Pytest fixtures that run the local Encord API emulator.

Enable them in a ``conftest.py``::

    pytest_plugins = ["airflow_provider_encord.testing.pytest_plugin"]

then ``def test_my_dag(encord_emulator): ...``: the emulator serves the demo seed and the
``encord_default`` Airflow connection points at it. ``encord_emulator_factory(seed="scale", max_page_size=5)``
starts more, with any :class:`~airflow_provider_encord.testing.emulator.EncordEmulator` arguments; every
emulator is stopped when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_encord.testing.emulator import EncordEmulator


@pytest.fixture
def encord_emulator_factory() -> Iterator[Callable[..., EncordEmulator]]:
    """A callable taking ``EncordEmulator`` keyword arguments and returning a started emulator."""
    started: list[EncordEmulator] = []

    def start(**kwargs: Any) -> EncordEmulator:
        emulator = EncordEmulator(**kwargs).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def encord_emulator(
    encord_emulator_factory: Callable[..., EncordEmulator], monkeypatch: pytest.MonkeyPatch
) -> EncordEmulator:
    """A started emulator with the demo seed; ``AIRFLOW_CONN_ENCORD_DEFAULT`` points at it."""
    emulator = encord_emulator_factory(seed="demo")
    for key, value in emulator.airflow_env().items():
        monkeypatch.setenv(key, value)
    return emulator
