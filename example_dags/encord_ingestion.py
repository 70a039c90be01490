"""
Ingestion: register newly delivered cloud files in Encord and set a project up for them.

    find_new_files ─┐
    storage_folder ─┼─> upload (waits in the triggerer) ─> project ─> annotators, reviewers
    dataset ────────┤                                     ^
    ontology ───────┴─────────────────────────────────────┘

The new files come from a delivery manifest (one cloud URL a line, or a JSON list) that the producer of the
data writes next to the files; ``manifest_uri`` may be a local path or any object-storage URI
(``s3://bucket/manifests/latest.txt``). They are registered in the dataset and filed in the storage folder.
Every Encord step finds what an earlier run created instead of making it twice, so the DAG can be re-run and
retried safely.

Every setting is a DAG param with a default that works against the emulator's demo seed: override them per
run (``airflow dags trigger encord_ingestion --conf '{"integration_id": "..."}'``) or change the defaults.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_encord.operators import (
    AddProjectUsersOperator,
    CreateDatasetOperator,
    CreateOntologyOperator,
    CreateProjectOperator,
    CreateStorageFolderOperator,
    UploadDataOperator,
)

DEMO_MANIFEST = (Path(__file__).parent / "data" / "new_images.txt").as_posix()

# --8<-- [start:ontology]
#: The labelling ontology, in the form ``OntologyStructure.to_dict()`` produces.
STREET_ONTOLOGY = {
    "objects": [
        {
            "id": "1",
            "name": "Vehicle",
            "color": "#D33115",
            "shape": "bounding_box",
            "featureNodeHash": "5e1c0a01",
        },
        {"id": "2", "name": "Lane", "color": "#0F5AA8", "shape": "polygon", "featureNodeHash": "5e1c0a02"},
        {
            "id": "3",
            "name": "Pedestrian",
            "color": "#16A34A",
            "shape": "point",
            "featureNodeHash": "5e1c0a03",
        },
    ],
    "classifications": [
        {
            "id": "1",
            "featureNodeHash": "5e1c0b01",
            "attributes": [
                {
                    "id": "1.1",
                    "name": "Time of day",
                    "type": "radio",
                    "featureNodeHash": "5e1c0b02",
                    "required": False,
                    "options": [
                        {"id": "1.1.1", "label": "Day", "value": "day", "featureNodeHash": "5e1c0b03"},
                        {"id": "1.1.2", "label": "Night", "value": "night", "featureNodeHash": "5e1c0b04"},
                    ],
                }
            ],
        }
    ],
}
# --8<-- [end:ontology]

with DAG(
    dag_id="encord_ingestion",
    description="New cloud files -> Encord dataset -> project with annotators and reviewers",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={
        "manifest_uri": Param(DEMO_MANIFEST, type="string", description="Where the list of new files is"),
        "integration_id": Param(
            "ebd443a4-f91b-5b77-9d84-3f3c6971c47a",
            type="string",
            description="UUID of the Encord storage integration that can read the files",
        ),
        "storage_folder": Param("Camera fleet deliveries", type="string"),
        "dataset_title": Param("Street scenes", type="string"),
        "ontology_title": Param("Street scenes ontology", type="string"),
        "project_title": Param("Street scenes annotation", type="string"),
        "annotators": Param(["annotator@example.com"], type="array"),
        "reviewers": Param(["reviewer@example.com"], type="array"),
    },
    tags=["encord", "example"],
) as dag:
    # --8<-- [start:find_new_files]
    @task
    def find_new_files(manifest_uri: str) -> list[str]:
        """Read the delivery manifest: the cloud URLs of the files that arrived since the last run."""
        import json

        from airflow.providers.common.compat.sdk import AirflowSkipException, ObjectStoragePath

        location = manifest_uri if "://" in manifest_uri else f"file://{Path(manifest_uri).absolute()}"
        text = ObjectStoragePath(location).read_text().strip()
        if text.startswith("["):
            urls = json.loads(text)
        else:
            urls = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        urls = list(dict.fromkeys(urls))  # the same file listed twice is registered once
        if not urls:
            raise AirflowSkipException(f"No new files in {manifest_uri}.")
        return urls

    new_files = find_new_files("{{ params.manifest_uri }}")
    # --8<-- [end:find_new_files]

    # --8<-- [start:dataset]
    storage_folder = CreateStorageFolderOperator(
        task_id="storage_folder",
        name="{{ params.storage_folder }}",
        description="Files registered by the encord_ingestion DAG",
    )
    dataset = CreateDatasetOperator(
        task_id="dataset",
        title="{{ params.dataset_title }}",
        description="Street scenes delivered by the camera fleet",
        storage_location="AWS",
    )
    # --8<-- [end:dataset]

    # --8<-- [start:upload]
    upload = UploadDataOperator(
        task_id="upload",
        dataset_hash="{{ ti.xcom_pull(task_ids='dataset')['dataset_hash'] }}",
        integration_id="{{ params.integration_id }}",
        file_urls=new_files,
        folder_uuid="{{ ti.xcom_pull(task_ids='storage_folder')['uuid'] }}",  # file them in that folder
        deferrable=True,  # the worker slot is free while Encord processes the files
        poll_interval=10,
        timeout=timedelta(hours=2),
    )
    # --8<-- [end:upload]

    # --8<-- [start:project]
    ontology = CreateOntologyOperator(
        task_id="ontology",
        title="{{ params.ontology_title }}",
        description="Vehicles, lanes and pedestrians in street scenes",
        structure=STREET_ONTOLOGY,
    )
    project = CreateProjectOperator(
        task_id="project",
        title="{{ params.project_title }}",
        dataset_hashes=["{{ ti.xcom_pull(task_ids='dataset')['dataset_hash'] }}"],
        ontology_hash="{{ ti.xcom_pull(task_ids='ontology')['ontology_hash'] }}",
        description="Annotate the street scenes delivered by the camera fleet",
        trigger_rule="none_failed",  # also when there were no new files to upload
    )
    annotators = AddProjectUsersOperator(
        task_id="add_annotators",
        project_hash="{{ ti.xcom_pull(task_ids='project')['project_hash'] }}",
        user_emails="{{ params.annotators }}",
        user_role="annotator",
    )
    reviewers = AddProjectUsersOperator(
        task_id="add_reviewers",
        project_hash="{{ ti.xcom_pull(task_ids='project')['project_hash'] }}",
        user_emails="{{ params.reviewers }}",
        user_role="reviewer",
    )
    # --8<-- [end:project]

    [storage_folder, dataset] >> upload >> project
    [dataset, ontology] >> project >> [annotators, reviewers]
