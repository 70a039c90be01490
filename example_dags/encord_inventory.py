"""
Inventory: a daily, read-only report of what the Encord organisation holds.

Reads projects, datasets, ontologies, user groups and storage folders, then one project in detail (its
dataset, ontology, users, workflow stages and label rows), and logs a short report. Nothing is changed in
Encord, so the DAG is safe to run at any time. Every setting is a DAG param with a default that works
against the emulator's demo seed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_encord.operators import (
    GetDatasetOperator,
    GetOntologyOperator,
    GetProjectOperator,
    GetWorkflowStagesOperator,
    ListDatasetsOperator,
    ListGroupsOperator,
    ListLabelRowsOperator,
    ListOntologiesOperator,
    ListProjectsOperator,
    ListProjectUsersOperator,
    ListStorageFoldersOperator,
    ListStorageItemsOperator,
)

with DAG(
    dag_id="encord_inventory",
    description="Read-only daily report of Encord projects, datasets, ontologies, users and files",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={
        "project_hash": Param("7692c442-0ac6-5945-82a1-70290e6d6cff", type="string"),
        "dataset_hash": Param("553529fb-82e5-56d7-aa66-d153e6897e5d", type="string"),
        "ontology_hash": Param("c6923107-6326-538d-9e39-628d417188cf", type="string"),
        "folder": Param("Demo data", type="string", description="Storage folder to list the items of"),
    },
    tags=["encord", "example"],
) as dag:
    # --8<-- [start:listings]
    projects = ListProjectsOperator(task_id="projects")
    datasets = ListDatasetsOperator(task_id="datasets", title_like="Demo")
    ontologies = ListOntologiesOperator(task_id="ontologies")
    groups = ListGroupsOperator(task_id="groups")
    folders = ListStorageFoldersOperator(task_id="folders", search="{{ params.folder }}")
    # --8<-- [end:listings]

    # --8<-- [start:storage_items]
    items = ListStorageItemsOperator(
        task_id="folder_items",
        folder_uuid="{{ (ti.xcom_pull(task_ids='folders')['folders'] | first)['uuid'] }}",
    )
    folders >> items
    # --8<-- [end:storage_items]

    # --8<-- [start:details]
    project = GetProjectOperator(task_id="project", project_hash="{{ params.project_hash }}")
    dataset = GetDatasetOperator(task_id="dataset", dataset_hash="{{ params.dataset_hash }}")
    ontology = GetOntologyOperator(task_id="ontology", ontology_hash="{{ params.ontology_hash }}")
    users = ListProjectUsersOperator(task_id="project_users", project_hash="{{ params.project_hash }}")
    stages = GetWorkflowStagesOperator(task_id="stages", project_hash="{{ params.project_hash }}")
    label_rows = ListLabelRowsOperator(
        task_id="label_rows",
        project_hash="{{ params.project_hash }}",
        label_statuses=["LABELLED"],
    )
    # --8<-- [end:details]

    @task
    def report(results: dict[str, dict[str, Any]]) -> dict[str, int]:
        """Count what each listing returned and log it."""
        counts = {}
        for name, result in sorted(results.items()):
            lists = [value for value in result.values() if isinstance(value, list)]
            counts[name] = len(lists[0]) if lists else 1
        print("\n".join(f"{name:>14}: {count}" for name, count in counts.items()))
        return counts

    report(
        {
            "projects": projects.output,
            "datasets": datasets.output,
            "ontologies": ontologies.output,
            "groups": groups.output,
            "folder_items": items.output,
            "project": project.output,
            "dataset": dataset.output,
            "ontology": ontology.output,
            "project_users": users.output,
            "stages": stages.output,
            "labelled_rows": label_rows.output,
        }
    )
