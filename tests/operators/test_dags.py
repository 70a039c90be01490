"""Every Encord action as a task in a DAG run with ``dag.test()``, deferrable paths included."""

from __future__ import annotations

import json

import pytest
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_encord.operators import (
    AddProjectUsersOperator,
    CreateDatasetOperator,
    CreateOntologyOperator,
    CreateProjectOperator,
    CreateStorageFolderOperator,
    ExportCocoOperator,
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
    MoveTaskOperator,
    UploadDataOperator,
)
from airflow_provider_encord.sensors import LabelStatusSensor


def _states(run):
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_setup_family_dag(encord_emulator, run_dag, xcoms):
    ids = encord_emulator.ids
    with DAG("encord_setup", schedule=None, render_template_as_native_obj=False) as dag:
        folder = CreateStorageFolderOperator(task_id="folder", name="run {{ run_id }}")
        dataset = CreateDatasetOperator(task_id="dataset", title="Dataset {{ run_id }}")
        upload = UploadDataOperator(
            task_id="upload",
            dataset_hash="{{ ti.xcom_pull(task_ids='dataset')['dataset_hash'] }}",
            integration_id=ids["integration_id"],
            file_urls=[f"s3://bucket/run/{i}.jpg" for i in range(3)],
            deferrable=True,
            poll_interval=0.05,
        )
        ontology = CreateOntologyOperator(task_id="ontology", title="Ontology {{ run_id }}")
        project = CreateProjectOperator(
            task_id="project",
            title="Project {{ run_id }}",
            dataset_hashes="{{ [ti.xcom_pull(task_ids='dataset')['dataset_hash']] }}",
            ontology_hash="{{ ti.xcom_pull(task_ids='ontology')['ontology_hash'] }}",
        )
        users = AddProjectUsersOperator(
            task_id="users",
            project_hash="{{ ti.xcom_pull(task_ids='project')['project_hash'] }}",
            user_emails=[ids["annotator_email"]],
            user_role="annotator",
        )
        reads = [
            GetDatasetOperator(task_id="get_dataset", dataset_hash=ids["dataset_hash"]),
            ListDatasetsOperator(task_id="list_datasets"),
            GetOntologyOperator(task_id="get_ontology", ontology_hash=ids["ontology_hash"]),
            ListOntologiesOperator(task_id="list_ontologies"),
            GetProjectOperator(task_id="get_project", project_hash=ids["project_hash"]),
            ListProjectsOperator(task_id="list_projects"),
            ListProjectUsersOperator(task_id="list_users", project_hash=ids["project_hash"]),
            ListGroupsOperator(task_id="list_groups"),
            ListStorageFoldersOperator(task_id="list_folders"),
            ListStorageItemsOperator(task_id="list_items", folder_uuid=ids["storage_folder_uuid"]),
        ]
        folder >> dataset >> upload >> ontology >> project >> users >> reads

    run = run_dag(dag, logical_date=None)
    assert run.state == "success", _states(run)
    values = xcoms(run)
    assert values[("upload", "return_value")]["units_done_count"] == 3
    assert (
        values[("upload", "return_value")]["dataset_hash"]
        == values[("dataset", "return_value")]["dataset_hash"]
    )
    assert values[("project", "return_value")]["created"] is True
    assert values[("users", "return_value")]["users_added"][0]["user_email"] == ids["annotator_email"]
    assert values[("folder", "return_value")]["name"] == f"run {run.run_id}"
    for task in reads:
        assert values[(task.task_id, "return_value")], task.task_id
    json.dumps([v for v in values.values()])


def test_labelling_family_dag(encord_emulator, run_dag, xcoms, tmp_path):
    ids = encord_emulator.ids
    project = ids["project_hash"]
    stage = (
        "{{ (ti.xcom_pull(task_ids='stages')['stages'] | selectattr('title', 'eq', '%s') | first)['uuid'] }}"
    )
    rows = "{{ ti.xcom_pull(task_ids='%s')['label_rows'] | map(attribute='data_hash') | list }}"
    rest_of_annotate = (
        "{{ (ti.xcom_pull('annotate')['label_rows'] | map(attribute='data_hash') | list)[1:] }}"
    )
    output = tmp_path / "coco.json"
    with DAG("encord_labelling", schedule=None) as dag:
        stages = GetWorkflowStagesOperator(task_id="stages", project_hash=project)
        waiting = LabelStatusSensor(
            task_id="not_yet",
            project_hash=project,
            deferrable=True,
            poke_interval=0.05,
            timeout=0.3,
            soft_fail=True,
        )
        annotate = ListLabelRowsOperator(task_id="annotate", project_hash=project, workflow_stage="Annotate")
        review = ListLabelRowsOperator(task_id="review", project_hash=project, workflow_stage="Review")
        submit_one = MoveTaskOperator(
            task_id="submit_one",
            project_hash=project,
            stage_uuid=stage % "Annotate",
            data_hash="{{ ti.xcom_pull(task_ids='annotate')['label_rows'][0]['data_hash'] }}",
            pathway_name="submit",
        )
        move_rest = MoveTaskOperator(
            task_id="move_rest",
            project_hash=project,
            stage_uuid=stage % "Annotate",
            data_hashes=rest_of_annotate,
            destination_stage_uuid=stage % "Complete",
        )
        approve = MoveTaskOperator(
            task_id="approve",
            project_hash=project,
            stage_uuid=stage % "Review",
            data_hashes=rows % "review",
            pathway_name="approve",
        )
        approve_new = MoveTaskOperator(
            task_id="approve_new",
            project_hash=project,
            stage_uuid=stage % "Review",
            data_hash="{{ ti.xcom_pull(task_ids='annotate')['label_rows'][0]['data_hash'] }}",
            pathway_name="approve",
        )
        done = LabelStatusSensor(
            task_id="all_complete",
            project_hash=project,
            through_stage="Review",
            deferrable=True,
            poke_interval=0.05,
        )
        export = ExportCocoOperator(
            task_id="export",
            project_hash=project,
            output_path=str(output),
            asset=True,
            workflow_stage="Complete",
        )
        stages >> waiting  # a leaf: its skip must not skip the rest
        stages >> [annotate, review]
        annotate >> submit_one >> move_rest
        [move_rest, review] >> approve >> approve_new >> done >> export

    run = run_dag(dag)
    states = _states(run)
    assert run.state == "success", states
    assert states["not_yet"] == "skipped"  # deferred, timed out in the trigger, soft_fail
    assert all(state == "success" for task, state in states.items() if task != "not_yet"), states
    values = xcoms(run)
    assert values[("submit_one", "return_value")]["status"] == "moved"
    assert len(values[("move_rest", "return_value")]["moved"]) == 3
    assert len(values[("approve", "return_value")]["moved"]) == 4
    assert len(values[("all_complete", "return_value")]) == 10  # the two unlabelled rows have no label hash
    exported = values[("export", "return_value")]
    assert exported["path"] == str(output) and exported["images"] == 10  # labelled rows only
    assert json.loads(output.read_text())["images"]


@pytest.mark.parametrize("deferrable", [True, False])
def test_upload_failure_fails_the_run(encord_emulator, run_dag, deferrable):
    ids = encord_emulator.ids
    with DAG(f"encord_upload_fails_{deferrable}", schedule=None) as dag:
        UploadDataOperator(
            task_id="upload",
            dataset_hash=ids["dataset_hash"],
            integration_id=ids["integration_id"],
            file_urls=["ftp://nowhere/a.jpg"],
            deferrable=deferrable,
            poll_interval=0.05,
        )
    run = run_dag(dag)
    assert run.state == "failed"
    assert _states(run)["upload"] == "failed"
