"""
Run the example pipeline against the local Encord emulator and print what happened.

``make demo`` runs this with the project's virtualenv. Nothing leaves the machine and no Encord account is
needed: the emulator serves the demo seed on 127.0.0.1, Airflow keeps its metadata in a throw-away SQLite
database under ``.demo/``, and each example DAG runs with ``dag.test()`` (deferred tasks run their trigger
in the same process). The task logs go to ``.demo/demo.log``; the summary goes to the terminal.

Exit status: 0 when every DAG run succeeded, 1 otherwise.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_HOME = ROOT / ".demo"
DAGS_FOLDER = ROOT / "example_dags"
LOG_FILE = DEMO_HOME / "demo.log"
#: The demo seed's labels were made on 2024-01-01: the daily export that runs after that day picks them up.
EXPORT_DATE = datetime(2024, 1, 2, tzinfo=timezone.utc)

#: (dag_id, logical date) in pipeline order; None runs the DAG the way a UI/CLI/REST trigger does.
PIPELINE: list[tuple[str, datetime | None]] = [
    ("encord_ingestion", None),
    ("encord_review_automation", None),
    ("encord_coco_export", EXPORT_DATE),
    ("encord_coco_training", None),
    ("encord_inventory", None),
]


def prepare_environment() -> None:
    """A fresh Airflow home under .demo/; must happen before Airflow is imported."""
    shutil.rmtree(DEMO_HOME, ignore_errors=True)
    DEMO_HOME.mkdir(parents=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(DEMO_HOME / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "ENCORD_COCO_EXPORT_URI": (DEMO_HOME / "exports" / "coco").as_uri(),
        }
    )


@contextmanager
def output_to(path: Path):
    """Send everything written to stdout and stderr (Airflow's task logs included) to ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def load_dags() -> dict[str, Any]:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.2
        from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    for dag in bag.dags.values():
        for task in dag.tasks:
            task.retries = 0  # dag.test() would wait out the retry delay: report a failure at once
    if bag.import_errors:
        for path, error in bag.import_errors.items():
            print(f"Import error in {path}:\n{error}", file=sys.stderr)
        raise SystemExit(1)
    return bag.dags


def task_rows(dag_run) -> list[tuple[str, str, float | None]]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = (
            session.query(TaskInstance)
            .filter(TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id)
            .all()
        )
        rows = [(ti.task_id, str(ti.state or "none"), ti.start_date, ti.end_date, ti.duration) for ti in tis]
    rows.sort(key=lambda r: (r[1] is None, r[2] or datetime.max.replace(tzinfo=timezone.utc), r[0]))
    return [(task_id, state, duration) for task_id, state, _, _, duration in rows]


def xcoms(dag_run) -> dict[str, Any]:
    """The return values of the run's tasks: ``{task_id: value}``."""
    from airflow.utils.session import create_session

    try:
        from airflow.models.xcom import XComModel as Model
    except ImportError:  # Airflow 2
        from airflow.models.xcom import BaseXCom as Model
    with create_session() as session:
        rows = (
            session.query(Model)
            .filter(
                Model.dag_id == dag_run.dag_id, Model.run_id == dag_run.run_id, Model.key == "return_value"
            )
            .all()
        )
        values = {}
        for row in rows:
            value = row.value
            if isinstance(value, (bytes, str)):
                import json

                with suppress(ValueError):
                    value = json.loads(value)
            values[row.task_id] = value
        return values


def created_lines(dag_id: str, values: dict[str, Any]) -> list[str]:
    """What the run made or changed, from its XComs."""

    def made(result: dict[str, Any]) -> str:
        return "created" if result.get("created") else "found"

    lines = []
    if dag_id == "encord_ingestion":
        if "storage_folder" in values:
            folder = values["storage_folder"]
            lines.append(f"storage folder {folder['name']!r} {folder['uuid']} ({made(folder)})")
        if "dataset" in values:
            dataset = values["dataset"]
            lines.append(f"dataset {dataset['title']!r} {dataset['dataset_hash']} ({made(dataset)})")
        if "upload" in values:
            upload = values["upload"]
            lines.append(
                f"upload job {upload['upload_job_id']}: {upload['status']}, "
                f"{upload['units_done_count']} files registered, {upload['units_error_count']} failed"
            )
        if "ontology" in values:
            ontology = values["ontology"]
            lines.append(f"ontology {ontology['title']!r} {ontology['ontology_hash']} ({made(ontology)})")
        if "project" in values:
            lines.append(f"project {values['project']['project_hash']} ({made(values['project'])})")
        for task_id in ("add_annotators", "add_reviewers"):
            for user in values.get(task_id, {}).get("users_added", []):
                lines.append(f"project user {user['user_email']} as {user['user_role']}")
    elif dag_id == "encord_review_automation":
        if "wait_for_annotation" in values:
            lines.append(f"{len(values['wait_for_annotation'])} labelled tasks past annotation")
        for task_id, verb in (("approve_labelled", "approved"), ("send_back_unlabelled", "sent back")):
            if task_id in values:
                result = values[task_id]
                lines.append(
                    f"{verb}: {len(result.get('moved', []))} tasks "
                    f"({len(result.get('already_moved', []))} already moved)"
                )
    elif dag_id == "encord_coco_export" and "export_coco" in values:
        export = values["export_coco"]
        lines.append(f"COCO file: {export['path']}")
        lines.append(
            f"{export.get('images')} images, {export.get('annotations')} annotations, "
            f"{export.get('categories')} categories"
        )
        per_category = export.get("annotations_per_category") or {}
        width = max((len(name) for name in per_category), default=0)
        lines += [f"  {name:<{width}}  {count:>4}" for name, count in per_category.items()]
    elif dag_id == "encord_coco_training" and "split_for_training" in values:
        split = values["split_for_training"]
        for name in ("train", "val"):
            part = split[name]
            lines.append(
                f"{name}: {part['images']} images, {part['annotations']} annotations -> {part['path']}"
            )
    elif dag_id == "encord_inventory" and "report" in values:
        lines.append(", ".join(f"{count} {name}" for name, count in values["report"].items()))
    return lines


def main() -> int:
    started = time.monotonic()
    prepare_environment()

    from airflow_provider_encord.testing.emulator import EncordEmulator

    emulator = EncordEmulator(seed="demo", upload_polls=1).start()
    os.environ.update(emulator.airflow_env())
    print(f"Encord emulator (demo seed) at {emulator.url}; Airflow home {os.environ['AIRFLOW_HOME']}")
    print(f"Task logs: {LOG_FILE.relative_to(ROOT)}\n")
    failed = False
    try:
        with output_to(LOG_FILE):
            from airflow.utils import db

            db.initdb()
            dags = load_dags()
        for dag_id, logical_date in PIPELINE:
            with output_to(LOG_FILE):
                dag_run = dags[dag_id].test(logical_date=logical_date)
            state = str(dag_run.state)
            failed |= state != "success"
            when = "no logical date"
            start, end = dag_run.data_interval_start, dag_run.data_interval_end
            if start is not None:
                when = f"data interval {start:%Y-%m-%d} to {end:%Y-%m-%d}"
            print(f"{dag_id}  [{state}]  ({when})")
            for task_id, task_state, duration in task_rows(dag_run):
                seconds = f"{duration:6.2f}s" if duration is not None else "      -"
                failed |= task_state in ("failed", "upstream_failed")
                print(f"  {task_id:<24} {task_state:<16} {seconds}")
            for line in created_lines(dag_id, xcoms(dag_run)):
                print(f"  > {line}")
            print()
    finally:
        emulator.stop()
    verdict = "FAILED (see the task logs)" if failed else "all DAG runs succeeded"
    print(f"Demo finished in {time.monotonic() - started:.1f}s: {verdict}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
