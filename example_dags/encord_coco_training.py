"""
Training export: a daily incremental COCO export to object storage, and a training DAG scheduled on it.

``encord_coco_export`` runs daily and exports the labels of the tasks in the final workflow stage that were
edited during its data interval (``data_interval_start`` onwards) to
``<ENCORD_COCO_EXPORT_URI>/<project>/<interval start>.json``. The export task declares the folder as an
Airflow Asset, so every successful export emits an asset event that carries the file's path and counts.

``encord_coco_training`` is scheduled on that Asset: it picks the new export up, checks it and splits it
into train/validation COCO files next to it, ready for the training job.

A run without a logical date (triggered from the UI, the CLI or the REST API) has no data interval: it
exports every label in the stage and names the file after the run's start.

``ENCORD_COCO_EXPORT_URI`` (an environment variable, read when the file is parsed because the Asset must be
known then) is any URI Airflow's object storage understands: ``s3://my-bucket/encord/coco`` (with
``apache-airflow-providers-amazon``), ``gs://...`` (Google provider), or ``file:///data/coco``. It defaults
to ``encord_exports/coco`` under ``AIRFLOW_HOME``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Asset, Param, task

from airflow_provider_encord.operators import ExportCocoOperator

try:
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2
    from airflow.timetables.interval import CronDataIntervalTimetable

# --8<-- [start:asset]
EXPORT_URI = (
    os.environ.get("ENCORD_COCO_EXPORT_URI")
    or (
        Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser().absolute() / "encord_exports" / "coco"
    ).as_uri()
)
COCO_EXPORTS = Asset(EXPORT_URI)
#: One file per data interval (per run when there is none), under a folder per project.
EXPORT_NAME = (
    "{{ params.project_hash }}/{{ (dag_run.data_interval_start or dag_run.run_after) | ts_nodash }}.json"
)
# --8<-- [end:asset]

with DAG(
    dag_id="encord_coco_export",
    description="Daily incremental COCO export of the finished Encord labels",
    # A data-interval timetable: each run covers the day before it (on Airflow 3 "@daily" has no interval).
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "project_hash": Param("7692c442-0ac6-5945-82a1-70290e6d6cff", type="string"),
        "stage": Param("Complete", type="string", description="Export the tasks in this workflow stage"),
    },
    tags=["encord", "example"],
) as export_dag:
    # --8<-- [start:export]
    export = ExportCocoOperator(
        task_id="export_coco",
        project_hash="{{ params.project_hash }}",
        workflow_stage="{{ params.stage }}",
        # Incremental: only labels edited in the run's data interval [start, end), so consecutive runs export
        # disjoint sets and a late re-run exports the same rows; everything when the run has no interval.
        # (A run without a logical date has no data_interval_start in its context: read it from the run.)
        edited_after="{{ dag_run.data_interval_start | ts if dag_run.data_interval_start else '' }}",
        edited_before="{{ dag_run.data_interval_end | ts if dag_run.data_interval_end else '' }}",
        output_path=f"{EXPORT_URI}/{EXPORT_NAME}",
        asset=COCO_EXPORTS,  # a DAG scheduled on COCO_EXPORTS runs after every export
    )
    # --8<-- [end:export]


with DAG(
    dag_id="encord_coco_training",
    description="Check the newest COCO export and split it for training",
    schedule=[COCO_EXPORTS],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"validation_share": Param(0.2, type="number", minimum=0, maximum=1)},
    tags=["encord", "example"],
) as training_dag:
    # --8<-- [start:training]
    @task
    def locate_export() -> str:
        """The path of the export that triggered this run; the newest export for a manual run."""
        import re

        from airflow.providers.common.compat.sdk import ObjectStoragePath, get_current_context

        context = get_current_context()
        events = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
        paths = [
            event.extra["path"] for batch in events.values() for event in batch if event.extra.get("path")
        ]
        if paths:
            return paths[-1]
        exports = sorted(
            (
                p
                for p in ObjectStoragePath(EXPORT_URI).rglob("*.json")
                if re.fullmatch(r"\d{8}T\d{6}\.json", p.name)
            ),
            key=lambda p: p.name,
        )
        if not exports:
            raise FileNotFoundError(f"No COCO export under {EXPORT_URI}: run encord_coco_export first.")
        return str(exports[-1])

    @task
    def split_for_training(path: str, validation_share: float) -> dict[str, Any]:
        """Check the export and write train/validation COCO files next to it (a stable split by image)."""
        import hashlib
        import json
        from collections import Counter

        from airflow.providers.common.compat.sdk import AirflowSkipException, ObjectStoragePath

        source = ObjectStoragePath(path if "://" in path else Path(path).absolute().as_uri())
        coco = json.loads(source.read_bytes())
        if not coco["annotations"]:
            raise AirflowSkipException(f"{path} holds no annotations: nothing new to train on.")
        names = {category["id"]: category["name"] for category in coco["categories"]}
        unknown = {a["category_id"] for a in coco["annotations"]} - set(names)
        if unknown:
            raise ValueError(f"{path}: annotations refer to unknown categories {sorted(unknown)}.")

        def is_validation(image: dict[str, Any]) -> bool:
            digest = hashlib.sha256(str(image["file_name"]).encode()).digest()
            return digest[0] < 256 * float(validation_share)

        result: dict[str, Any] = {"source": path}
        for split in ("train", "val"):
            images = [i for i in coco["images"] if is_validation(i) == (split == "val")]
            ids = {i["id"] for i in images}
            annotations = [a for a in coco["annotations"] if a["image_id"] in ids]
            target = source.parent / f"{source.stem}.{split}.json"
            target.write_text(json.dumps({**coco, "images": images, "annotations": annotations}))
            result[split] = {"path": str(target), "images": len(images), "annotations": len(annotations)}
        counts = Counter(names[a["category_id"]] for a in coco["annotations"])
        result["annotations_per_category"] = dict(sorted(counts.items()))
        return result

    split_for_training(locate_export(), "{{ params.validation_share }}")
    # --8<-- [end:training]
