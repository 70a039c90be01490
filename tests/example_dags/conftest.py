"""Fixtures for the example DAG tests: the parsed example DAGs and an emulator the DAGs talk to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "example_dags"


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory: pytest.TempPathFactory):
    """Where the example COCO export writes; set before the DAG files are parsed (the Asset needs it)."""
    path = tmp_path_factory.mktemp("coco-exports")
    saved = os.environ.get("ENCORD_COCO_EXPORT_URI")
    os.environ["ENCORD_COCO_EXPORT_URI"] = path.as_uri()
    yield path
    if saved is None:
        os.environ.pop("ENCORD_COCO_EXPORT_URI", None)
    else:
        os.environ["ENCORD_COCO_EXPORT_URI"] = saved


@pytest.fixture(scope="session")
def dagbag(export_dir: Path):
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.2
        from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    for dag in bag.dags.values():
        for task in dag.tasks:
            task.retries = 0  # dag.test() would wait out the retry delay: fail at once instead
    return bag


@pytest.fixture
def emulator(encord_emulator_factory, monkeypatch: pytest.MonkeyPatch):
    """The demo seed; uploads finish on the second status check, so the upload task defers once."""
    emu = encord_emulator_factory(seed="demo", upload_polls=1)
    for key, value in emu.airflow_env().items():
        monkeypatch.setenv(key, value)
    return emu
