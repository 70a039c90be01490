"""The DAG the end-to-end test deploys: upload, two label-status waits, COCO export.

It is copied into the dags folder of a throw-away Airflow deployment. The identifiers of the emulator's demo
seed and the output directory come from the ``ENCORD_E2E_CONFIG`` environment variable (JSON), which every
Airflow process of that deployment is started with.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_encord.operators import ExportCocoOperator, UploadDataOperator
from airflow_provider_encord.sensors import LabelStatusSensor

CONFIG = json.loads(os.environ.get("ENCORD_E2E_CONFIG", "{}"))
DAG_ID = "encord_e2e"

if CONFIG:
    with DAG(DAG_ID, schedule=None, start_date=datetime(2024, 1, 1), catchup=False, max_active_runs=1) as dag:
        upload = UploadDataOperator(
            task_id="upload",
            dataset_hash=CONFIG["dataset_hash"],
            integration_id=CONFIG["integration_id"],
            file_urls=CONFIG["file_urls"],
            deferrable=True,
            poll_interval=1,
            timeout=CONFIG["wait_timeout"],
        )
        watch = {"project_hash": CONFIG["project_hash"], "timeout": CONFIG["wait_timeout"]}
        # Waits in the triggerer until no task is left in the Annotate stage.
        wait_annotated = LabelStatusSensor(
            task_id="wait_annotated", through_stage="Annotate", deferrable=True, poke_interval=1, **watch
        )
        # Gives its worker slot back between checks until no task is left in Review. Airflow 3.3 fails a
        # reschedule-mode sensor whose next check starts before the scheduler has handled the worker exit of
        # the previous one (apache/airflow#71172); on a busy machine that report can lag by several seconds,
        # so the checks are 10 s apart.
        wait_reviewed = LabelStatusSensor(
            task_id="wait_reviewed",
            through_stage="Review",
            mode="reschedule",
            poke_interval=10,
            **watch,
        )
        export = ExportCocoOperator(
            task_id="export",
            project_hash=CONFIG["project_hash"],
            output_path=CONFIG["output_dir"] + "/{{ run_id }}/coco.json",
        )
        upload >> wait_annotated >> wait_reviewed >> export
