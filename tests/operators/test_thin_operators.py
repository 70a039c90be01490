"""Each thin operator against the emulator: one hook call, a small JSON result, checks before any request."""

from __future__ import annotations

import json

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_encord.operators import (
    AddProjectUsersOperator,
    CreateDatasetOperator,
    CreateOntologyOperator,
    CreateProjectOperator,
    CreateStorageFolderOperator,
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
)

STRUCTURE = {
    "objects": [
        {
            "id": "1",
            "name": "Tree",
            "color": "#00FF00",
            "shape": "bounding_box",
            "featureNodeHash": "aaaa1111",
        }
    ],
    "classifications": [],
}


def test_get_and_list_operators_return_the_hooks_json(encord_emulator):
    ids = encord_emulator.ids
    project = GetProjectOperator(task_id="p", project_hash=ids["project_hash"]).execute({})
    assert project["title"] == "Demo project"
    dataset = GetDatasetOperator(task_id="d", dataset_hash=ids["dataset_hash"]).execute({})
    assert dataset["title"] == "Demo dataset"
    ontology = GetOntologyOperator(task_id="o", ontology_hash=ids["ontology_hash"]).execute({})
    assert {o["name"] for o in ontology["structure"]["objects"]} >= {"Car", "Road"}
    stages = GetWorkflowStagesOperator(task_id="s", project_hash=ids["project_hash"]).execute({})
    assert [s["title"] for s in stages["stages"]] == ["Annotate", "Review", "Complete"]

    projects = ListProjectsOperator(task_id="lp", title_like="Demo").execute({})
    assert [p["title"] for p in projects["projects"]] == ["Demo project"]
    datasets = ListDatasetsOperator(task_id="ld").execute({})
    assert ids["dataset_hash"] in {d["dataset_hash"] for d in datasets["datasets"]}
    ontologies = ListOntologiesOperator(task_id="lo", title_like="Demo").execute({})
    assert [o["ontology_hash"] for o in ontologies["ontologies"]] == [ids["ontology_hash"]]
    groups = ListGroupsOperator(task_id="lg").execute({})
    assert {g["group_hash"] for g in groups["groups"]} == set(ids["group_hashes"])
    users = ListProjectUsersOperator(task_id="lu", project_hash=ids["project_hash"]).execute({})
    assert {u["user_email"] for u in users["users"]} == {ids["owner_email"], ids["annotator_email"]}
    folders = ListStorageFoldersOperator(task_id="lf", search="Demo").execute({})
    assert ids["storage_folder_uuid"] in {f["uuid"] for f in folders["folders"]}
    items = ListStorageItemsOperator(task_id="li", folder_uuid=ids["storage_folder_uuid"]).execute({})
    assert items["items"] and all("uuid" in item for item in items["items"])
    rows = ListLabelRowsOperator(task_id="lr", project_hash=ids["project_hash"], workflow_stage="Complete")
    result = rows.execute({})
    assert len(result["label_rows"]) == 4
    assert {r["workflow_stage"]["title"] for r in result["label_rows"]} == {"Complete"}
    json.dumps([project, dataset, ontology, projects, groups, users, folders, items, result])


def test_create_operators_reuse_what_a_previous_try_made(encord_emulator):
    ids = encord_emulator.ids
    first = CreateDatasetOperator(task_id="d", title="Airflow dataset").execute({})
    again = CreateDatasetOperator(task_id="d", title="Airflow dataset").execute({})
    assert first["created"] is True and again["created"] is False
    assert again["dataset_hash"] == first["dataset_hash"]

    ontology = CreateOntologyOperator(task_id="o", title="Trees", structure=json.dumps(STRUCTURE)).execute({})
    assert ontology["created"] is True
    assert (
        CreateOntologyOperator(task_id="o", title="Trees").execute({})["ontology_hash"]
        == ontology["ontology_hash"]
    )

    project_op = CreateProjectOperator(
        task_id="p",
        title="Airflow project",
        dataset_hashes=[first["dataset_hash"]],
        ontology_hash=ontology["ontology_hash"],
    )
    project = project_op.execute({})
    assert project["created"] is True
    assert project_op.execute({}) == {**project, "created": False}

    folder = CreateStorageFolderOperator(
        task_id="f", name="incoming", parent_folder_uuid=ids["storage_folder_uuid"]
    ).execute({})
    assert folder["created"] is True and folder["name"] == "incoming"

    users = AddProjectUsersOperator(
        task_id="u", project_hash=project["project_hash"], user_emails="new@example.com", user_role="Reviewer"
    ).execute({})
    assert users["users_added"] == [{"user_email": "new@example.com", "user_role": "reviewer"}]


def test_create_with_reuse_disabled_makes_a_second_dataset(encord_emulator):
    first = CreateDatasetOperator(task_id="d", title="Twice", reuse_existing=False).execute({})
    second = CreateDatasetOperator(task_id="d", title="Twice", reuse_existing=False).execute({})
    assert first["dataset_hash"] != second["dataset_hash"]


def test_move_task_one_and_many_and_a_rerun_is_a_no_op(encord_emulator):
    ids = encord_emulator.ids
    stages = ids["stages"]
    rows = ListLabelRowsOperator(task_id="r", project_hash=ids["project_hash"], workflow_stage="Annotate")
    in_annotate = [r["data_hash"] for r in rows.execute({})["label_rows"]]
    one = MoveTaskOperator(
        task_id="m1",
        project_hash=ids["project_hash"],
        stage_uuid=stages["Annotate"],
        data_hash=in_annotate[0],
        pathway_name="submit",
    )
    assert one.execute({})["status"] == "moved"
    assert one.execute({})["status"] == "already_moved"

    many = MoveTaskOperator(
        task_id="m2",
        project_hash=ids["project_hash"],
        stage_uuid=stages["Annotate"],
        data_hashes=str(in_annotate[1:]),  # an XCom rendered as text
        destination_stage_uuid=stages["Complete"],
    )
    result = many.execute({})
    assert sorted(result["moved"]) == sorted(in_annotate[1:])
    rerun = many.execute({})
    assert rerun["moved"] == [] and sorted(rerun["already_moved"]) == sorted(in_annotate[1:])
    left = ListLabelRowsOperator(task_id="r2", project_hash=ids["project_hash"], workflow_stage="Annotate")
    assert left.execute({})["label_rows"] == []


def test_move_task_with_an_empty_list_succeeds_without_a_request(encord_emulator):
    ids = encord_emulator.ids
    op = MoveTaskOperator(
        task_id="m",
        project_hash=ids["project_hash"],
        stage_uuid=ids["stages"]["Review"],
        data_hashes="{{ params.to_approve }}",
        pathway_name="approve",
    )
    op.render_template_fields({"params": {"to_approve": []}})
    encord_emulator.clear_requests()
    assert op.execute({}) == {"status": "nothing_to_move", "moved": [], "already_moved": []}
    assert encord_emulator.requests == []


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: GetProjectOperator(task_id="t", project_hash="not-a-uuid"), "project_hash"),
        (lambda: CreateDatasetOperator(task_id="t", title="  "), "title"),
        (
            lambda: CreateDatasetOperator(task_id="t", title="x", storage_location="dropbox"),
            "storage_location",
        ),
        (lambda: CreateOntologyOperator(task_id="t", title="x", structure="{nope"), "structure"),
        (lambda: CreateOntologyOperator(task_id="t", title="x", structure={"shapes": []}), "unknown keys"),
        (lambda: CreateProjectOperator(task_id="t", title="x", dataset_hashes=[]), "dataset_hashes"),
        (
            lambda: AddProjectUsersOperator(
                task_id="t", project_hash=_UUID, user_emails=["a@example.com"], user_role="boss"
            ),
            "user_role",
        ),
        (
            lambda: AddProjectUsersOperator(
                task_id="t", project_hash=_UUID, user_emails=["nope"], user_role="viewer"
            ),
            "e-mail",
        ),
        (
            lambda: CreateStorageFolderOperator(task_id="t", name="x", parent_folder_uuid="12"),
            "parent_folder_uuid",
        ),
        (lambda: ListStorageItemsOperator(task_id="t", folder_uuid="folder"), "folder_uuid"),
        (
            lambda: MoveTaskOperator(
                task_id="t", project_hash=_UUID, stage_uuid=_UUID, data_hash="d", pathway_name="escalate"
            ),
            "pathway_name",
        ),
        (
            lambda: MoveTaskOperator(
                task_id="t",
                project_hash=_UUID,
                stage_uuid=_UUID,
                data_hash="d",
                data_hashes=["e"],
                pathway_name="x",
            ),
            "exactly one of data_hash",
        ),
        (
            lambda: MoveTaskOperator(task_id="t", project_hash=_UUID, stage_uuid=_UUID, data_hash="d"),
            "exactly one of pathway_name",
        ),
        (
            lambda: ListLabelRowsOperator(task_id="t", project_hash=_UUID, label_statuses=["FINISHED"]),
            "label_statuses",
        ),
        (
            lambda: ListLabelRowsOperator(task_id="t", project_hash=_UUID, edited_after="yesterday"),
            "edited_after",
        ),
    ],
)
def test_static_arguments_are_checked_when_the_dag_is_parsed(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


_UUID = "00000000-0000-0000-0000-000000000001"


def test_templated_arguments_are_checked_after_rendering_before_any_request(encord_emulator):
    op = GetProjectOperator(task_id="t", project_hash="{{ params.project }}")
    op.render_template_fields({"params": {"project": "oops"}})
    encord_emulator.clear_requests()
    with pytest.raises(AirflowFailException, match="project_hash='oops'"):
        op.execute({})
    assert encord_emulator.requests == []


def test_template_fields_render_every_data_argument(encord_emulator):
    ids = encord_emulator.ids
    op = MoveTaskOperator(
        task_id="t",
        project_hash="{{ params.project }}",
        stage_uuid="{{ params.stage }}",
        data_hashes="{{ params.hashes }}",
        pathway_name="{{ params.action }}",
    )
    op.render_template_fields(
        {
            "params": {
                "project": ids["project_hash"],
                "stage": ids["stages"]["Review"],
                "hashes": ids["data_hashes"][4:6],
                "action": "approve",
            }
        }
    )
    assert op.project_hash == ids["project_hash"]
    assert op.pathway_name == "approve"
    assert op.execute({})["moved"] == ids["data_hashes"][4:6]
