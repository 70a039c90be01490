"""The example DAGs parse cleanly, cheaply, and without touching Encord or a connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_encord.operators.base import EncordBaseOperator

EXAMPLE_DAG_IDS = {
    "encord_ingestion",
    "encord_review_automation",
    "encord_coco_export",
    "encord_coco_training",
    "encord_inventory",
}
DAGS_FOLDER = Path(__file__).resolve().parents[2] / "example_dags"

PARSE_SCRIPT = """
import json, os, socket, sys

def no_network(*args, **kwargs):
    raise RuntimeError("network access while parsing DAG files")

socket.socket.connect = no_network
socket.create_connection = no_network
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "dags": sorted(bag.dags),
    "errors": {path: str(error) for path, error in bag.import_errors.items()},
    "heavy": sorted(m for m in ("encord", "pycocotools", "airflow_provider_encord.hooks.encord",
                                "airflow_provider_encord.coco") if m in sys.modules),
}))
"""


def test_every_example_dag_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == EXAMPLE_DAG_IDS


def test_parsing_imports_nothing_heavy_and_needs_no_connection(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["AIRFLOW_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", PARSE_SCRIPT, str(DAGS_FOLDER)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    assert set(parsed["dags"]) == EXAMPLE_DAG_IDS
    assert parsed["heavy"] == [], "the encord SDK and the hook must only be imported when a task runs"


def test_example_dags_are_tagged_retry_safe_and_avoid_ds(dagbag):
    for dag_id in EXAMPLE_DAG_IDS:
        dag = dagbag.dags[dag_id]
        assert {"encord", "example"} <= set(dag.tags), dag_id
        for task in dag.tasks:
            for field in task.template_fields:
                value = getattr(task, field, None)
                # Runs triggered from the CLI or the REST API have no logical date, so no ds/ts macros.
                assert "{{ ds" not in str(value) and "{{ ts" not in str(value), (dag_id, task.task_id, field)
            if isinstance(task, EncordBaseOperator):
                assert task.encord_conn_id == "encord_default"


def test_the_export_is_an_asset_that_schedules_the_training_dag(dagbag, export_dir):
    export = dagbag.dags["encord_coco_export"].get_task("export_coco")
    assert [outlet.uri for outlet in export.outlets] == [export_dir.as_uri()]
    timetable = dagbag.dags["encord_coco_training"].timetable
    condition = getattr(timetable, "asset_condition", None) or timetable.dataset_condition  # Airflow 2
    assert [asset.uri for asset in condition.objects] == [export_dir.as_uri()]
