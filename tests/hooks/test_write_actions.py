"""Actions that change state, each on its own emulator, through the real SDK."""

from __future__ import annotations

import pytest

from airflow_provider_encord.exceptions import (
    EncordInvalidInputError,
    EncordNotFoundError,
    EncordRetryableError,
    EncordUploadError,
    EncordUploadTimeoutError,
)

CAR = {"id": "1", "name": "Car", "color": "#ff0000", "shape": "bounding_box", "featureNodeHash": "a1b2c3d4"}


# ---------------------------------------------------------------------------------------------- users


def test_add_users_to_project(hook, emulator):
    project = emulator.ids["project_hash"]
    added = hook.add_users_to_project(project, ["new.reviewer@example.com"], "Reviewer")
    assert added == {"users_added": [{"user_email": "new.reviewer@example.com", "user_role": "reviewer"}]}
    users = {u["user_email"]: u["user_role"] for u in hook.list_project_users(project)["users"]}
    assert users["new.reviewer@example.com"] == "reviewer"


def test_existing_user_keeps_their_role(hook, emulator):
    annotator = emulator.ids["annotator_email"]
    added = hook.add_users_to_project(emulator.ids["project_hash"], [annotator], "admin")
    assert added["users_added"] == [{"user_email": annotator, "user_role": "annotator"}]


def test_add_users_rejects_bad_input_before_any_request(hook, emulator):
    emulator.clear_requests()
    with pytest.raises(EncordInvalidInputError, match="team_manager"):
        hook.add_users_to_project(emulator.ids["project_hash"], ["a@example.com"], "boss")
    with pytest.raises(EncordInvalidInputError, match="'not-an-email'"):
        hook.add_users_to_project(emulator.ids["project_hash"], ["not-an-email"], "annotator")
    assert emulator.requests == []


# ---------------------------------------------------------------------------------------------- creates


def test_create_dataset_and_reuse(hook, emulator):
    created = hook.create_dataset("Street scenes", description="from Airflow", storage_location="aws")
    assert created["created"] is True and created["title"] == "Street scenes"
    fetched = hook.get_dataset(created["dataset_hash"])
    assert fetched["description"] == "from Airflow"
    again = hook.create_dataset("Street scenes", reuse_existing=True)
    assert again["created"] is False and again["dataset_hash"] == created["dataset_hash"]
    other = hook.create_dataset("Street", reuse_existing=True)
    assert other["created"] is True, "reuse needs the exact title, not a partial match"
    assert other["dataset_hash"] != created["dataset_hash"]


def test_create_dataset_rejects_unknown_storage_before_any_request(hook, emulator):
    emulator.clear_requests()
    with pytest.raises(EncordInvalidInputError, match="S3_COMPATIBLE"):
        hook.create_dataset("x", storage_location="dropbox")
    with pytest.raises(EncordInvalidInputError, match="title"):
        hook.create_dataset("  ")
    assert emulator.requests == []


def test_create_ontology_with_structure_and_reuse(hook):
    created = hook.create_ontology("Vehicles", description="cars", structure={"objects": [CAR]})
    assert created["created"] is True and created["title"] == "Vehicles"
    fetched = hook.get_ontology(created["ontology_hash"])
    assert [o["name"] for o in fetched["structure"]["objects"]] == ["Car"]
    assert fetched["description"] == "cars"
    again = hook.create_ontology("Vehicles", reuse_existing=True)
    assert again == {**again, "created": False, "ontology_hash": created["ontology_hash"]}


def test_create_ontology_rejects_a_bad_structure_before_any_request(hook, emulator):
    emulator.clear_requests()
    with pytest.raises(EncordInvalidInputError, match="featureNodeHash"):
        hook.create_ontology("Broken", structure={"objects": [{"name": "Car"}]})
    with pytest.raises(EncordInvalidInputError, match="not valid JSON"):
        hook.create_ontology("Broken", structure="{objects")
    assert emulator.requests == []


def test_create_project_and_reuse(hook, emulator):
    ids = emulator.ids
    created = hook.create_project("Night drive", [ids["dataset_hash"]], ontology_hash=ids["ontology_hash"])
    assert created["created"] is True
    project = hook.get_project(created["project_hash"])
    assert project["title"] == "Night drive" and project["ontology_hash"] == ids["ontology_hash"]
    again = hook.create_project("Night drive", ids["dataset_hash"], reuse_existing=True)
    assert again == {"project_hash": created["project_hash"], "title": "Night drive", "created": False}
    same = hook.create_project(
        "Night drive", ids["dataset_hash"], ontology_hash=ids["ontology_hash"], reuse_existing=True
    )
    assert same["project_hash"] == created["project_hash"]
    other = hook.list_ontologies(title_like="Traffic")["ontologies"][0]["ontology_hash"]
    with pytest.raises(EncordInvalidInputError, match="exists already"):
        hook.create_project("Night drive", ids["dataset_hash"], ontology_hash=other, reuse_existing=True)
    assert len(hook.list_projects(title_like="Night drive")["projects"]) == 1


def test_create_project_rejects_a_malformed_dataset_hash(hook):
    with pytest.raises(EncordInvalidInputError, match="dataset_hashes"):
        hook.create_project("x", ["not-a-hash"])


def test_create_storage_folder_top_level_and_nested_with_reuse(hook, emulator):
    top = hook.create_storage_folder("Incoming", description="drops")
    assert top["created"] is True and top["parent_folder_uuid"] is None
    nested = hook.create_storage_folder("Incoming", parent_folder_uuid=emulator.ids["storage_folder_uuid"])
    assert nested["parent_folder_uuid"] == emulator.ids["storage_folder_uuid"]
    assert nested["uuid"] != top["uuid"]
    assert hook.create_storage_folder("Incoming", reuse_existing=True)["uuid"] == top["uuid"]
    reused = hook.create_storage_folder(
        "Incoming", parent_folder_uuid=emulator.ids["storage_folder_uuid"], reuse_existing=True
    )
    assert reused["created"] is False and reused["uuid"] == nested["uuid"]
    names = {f["name"] for f in hook.list_storage_folders(search="Incoming")["folders"]}
    assert names == {"Incoming"}


# ---------------------------------------------------------------------------------------------- uploads


def test_upload_start_and_poll(hook, emulator):
    ids = emulator.ids
    urls = ["s3://bucket/frames/a.jpg", "gs://bucket/clips/b.mp4"]
    job = hook.start_upload(ids["dataset_hash"], ids["integration_id"], urls)
    assert set(job) == {"dataset_hash", "upload_job_id"}
    [start] = [
        r for r in emulator.requests if r.query_type == "datasetdatalongpolling" and r.query_method == "POST"
    ]
    files = start.body["values"]["payload"]["files"]
    assert files["images"] == [{"objectUrl": urls[0]}] and files["videos"] == [{"objectUrl": urls[1]}]
    statuses = []
    for _ in range(5):
        status = hook.get_upload_status(job["dataset_hash"], job["upload_job_id"])
        statuses.append(status["status"])
        if status["status"] != "PENDING":
            break
    assert statuses == ["PENDING", "PENDING", "DONE"], "one check per call, no waiting"
    assert len(status["data_hashes"]) == 2
    assert status["units_done_count"] == 2 and status["units_error_count"] == 0


def test_upload_and_wait(hook, emulator):
    ids = emulator.ids
    result = hook.upload_data_to_dataset(
        ids["dataset_hash"], ids["integration_id"], ["s3://bucket/c.png"], poll_interval=0
    )
    assert result["status"] == "DONE" and len(result["data_hashes"]) == 1
    assert set(result) >= {
        "dataset_hash",
        "upload_job_id",
        "errors",
        "units_pending_count",
        "units_done_count",
        "units_error_count",
        "units_cancelled_count",
    }


def test_upload_of_a_registration_object(hook, emulator):
    ids = emulator.ids
    registration = {"images": [{"objectUrl": "s3://bucket/d.jpg", "title": "custom title"}]}
    result = hook.upload_data_to_dataset(
        ids["dataset_hash"], ids["integration_id"], registration, poll_interval=0
    )
    assert result["data_units"][0]["title"] == "custom title"


def test_upload_timeout_names_the_job(hook, emulator):
    ids = emulator.ids
    with pytest.raises(EncordUploadTimeoutError) as info:
        hook.upload_data_to_dataset(
            ids["dataset_hash"], ids["integration_id"], ["s3://bucket/e.jpg"], timeout=0, poll_interval=0
        )
    assert info.value.upload_job_id in str(info.value) and "still PENDING" in str(info.value)
    # This emulator answers PENDING to a job's first two checks: the job kept running after the hook gave up.
    checks = [hook.get_upload_status(ids["dataset_hash"], info.value.upload_job_id) for _ in range(2)]
    assert [c["status"] for c in checks] == ["PENDING", "DONE"]
    assert len(checks[-1]["data_hashes"]) == 1


def test_upload_errors(hook, emulator):
    ids = emulator.ids
    with pytest.raises(EncordUploadError, match=r"ftp://host/f\.jpg"):
        hook.upload_data_to_dataset(
            ids["dataset_hash"], ids["integration_id"], ["ftp://host/f.jpg"], poll_interval=0
        )
    kept = hook.upload_data_to_dataset(
        ids["dataset_hash"],
        ids["integration_id"],
        ["ftp://host/g.jpg", "s3://bucket/g.jpg"],
        ignore_errors=True,
        poll_interval=0,
    )
    assert kept["status"] == "DONE" and kept["units_error_count"] == 1 and len(kept["data_hashes"]) == 1


def test_upload_rejects_bad_input_before_any_request(hook, emulator):
    emulator.clear_requests()
    with pytest.raises(EncordInvalidInputError, match="integration_id"):
        hook.start_upload(emulator.ids["dataset_hash"], "my-bucket", ["s3://b/a.jpg"])
    with pytest.raises(EncordInvalidInputError, match="local paths"):
        hook.start_upload(emulator.ids["dataset_hash"], emulator.ids["integration_id"], ["/tmp/a.jpg"])
    assert emulator.requests == []


def test_upload_repeat_skips_duplicates(hook, emulator):
    ids = emulator.ids
    first = hook.upload_data_to_dataset(
        ids["dataset_hash"], ids["integration_id"], ["s3://b/h.jpg"], poll_interval=0
    )
    second = hook.upload_data_to_dataset(
        ids["dataset_hash"], ids["integration_id"], ["s3://b/h.jpg"], poll_interval=0
    )
    assert len(first["data_hashes"]) == 1 and second["data_hashes"] == []


# ---------------------------------------------------------------------------------------------- workflow


def _stage_of(hook, project, data_hash):
    rows = hook.list_label_rows(project)["label_rows"]
    return next(r["workflow_stage"]["title"] for r in rows if r["data_hash"] == data_hash)


def test_submit_approve_reject_and_move(hook, emulator):
    ids = emulator.ids
    project, stages, data = ids["project_hash"], ids["stages"], ids["data_hashes"]
    submitted = hook.move_workflow_task(project, data[2], stages["Annotate"], pathway_name="Submit")
    assert submitted["status"] == "moved" and submitted["moved"] == [data[2]]
    assert _stage_of(hook, project, data[2]) == "Review"
    approved = hook.move_workflow_tasks(project, stages["Review"], data[4:6], pathway_name="approve")
    assert approved["moved"] == data[4:6]
    assert {_stage_of(hook, project, h) for h in data[4:6]} == {"Complete"}
    hook.move_workflow_task(project, data[6], stages["Review"], pathway_name="reject")
    assert _stage_of(hook, project, data[6]) == "Annotate"
    moved = hook.move_workflow_tasks(
        project, stages["Complete"], data[8:10], destination_stage_uuid=stages["Review"]
    )
    assert moved["moved"] == data[8:10]
    assert {_stage_of(hook, project, h) for h in data[8:10]} == {"Review"}


def test_moves_are_bundled(hook, emulator):
    ids = emulator.ids
    emulator.clear_requests()
    hook.move_workflow_tasks(
        ids["project_hash"], ids["stages"]["Review"], ids["data_hashes"][4:8], pathway_name="approve"
    )
    actions = [r for r in emulator.requests if r.method == "POST" and r.path.endswith("/actions")]
    assert len(actions) == 1 and len(actions[0].body) == 4


def test_repeating_a_move_reports_it(hook, emulator):
    ids = emulator.ids
    project, stages, data = ids["project_hash"], ids["stages"], ids["data_hashes"]
    hook.move_workflow_task(project, data[3], stages["Annotate"], pathway_name="submit")
    again = hook.move_workflow_task(project, data[3], stages["Annotate"], pathway_name="submit")
    assert again == {"status": "already_moved", "moved": [], "already_moved": [data[3]], "data_hash": data[3]}
    hook.move_workflow_tasks(
        project, stages["Complete"], data[10:], destination_stage_uuid=stages["Annotate"]
    )
    mixed = hook.move_workflow_tasks(
        project, stages["Complete"], data[9:], destination_stage_uuid=stages["Annotate"]
    )
    assert mixed["moved"] == [data[9]] and mixed["already_moved"] == data[10:]


def test_move_of_a_task_in_neither_place_names_it(hook, emulator):
    ids = emulator.ids
    project, stages, data = ids["project_hash"], ids["stages"], ids["data_hashes"]
    with pytest.raises(EncordNotFoundError, match=data[0]):
        hook.move_workflow_tasks(
            project, stages["Review"], [data[0]], destination_stage_uuid=stages["Complete"]
        )
    unknown = "00000000-0000-4000-8000-000000000002"
    with pytest.raises(EncordNotFoundError, match=unknown):
        hook.move_workflow_task(project, unknown, stages["Annotate"], pathway_name="submit")


def test_a_pathway_on_a_task_that_never_reached_the_stage_is_an_error(hook, emulator):
    ids = emulator.ids
    project, stages, data = ids["project_hash"], ids["stages"], ids["data_hashes"]
    # data[0] is still in Annotate: approving it in Review cannot have happened before.
    with pytest.raises(EncordNotFoundError, match=rf"{data[0]} \(now in {stages['Annotate']}\)"):
        hook.move_workflow_task(project, data[0], stages["Review"], pathway_name="approve")
    # data[8] is in Complete: rejecting it in Review would have sent it back to Annotate.
    with pytest.raises(EncordNotFoundError, match="an annotation stage before 'Review'"):
        hook.move_workflow_task(project, data[8], stages["Review"], pathway_name="reject")
    assert _stage_of(hook, project, data[0]) == "Annotate"
    assert _stage_of(hook, project, data[8]) == "Complete"
    # A task past the stage (submitted, then approved by someone) counts as submitted already.
    passed = hook.move_workflow_task(project, data[8], stages["Annotate"], pathway_name="submit")
    assert passed["status"] == "already_moved"
    hook.move_workflow_task(project, data[5], stages["Review"], pathway_name="reject")
    again = hook.move_workflow_task(project, data[5], stages["Review"], pathway_name="reject")
    assert again["status"] == "already_moved" and _stage_of(hook, project, data[5]) == "Annotate"


def test_move_input_errors_before_any_action(hook, emulator):
    ids = emulator.ids
    project, stages, data = ids["project_hash"], ids["stages"], ids["data_hashes"]
    emulator.clear_requests()
    with pytest.raises(EncordInvalidInputError, match="submit, approve, reject"):
        hook.move_workflow_task(project, data[0], stages["Annotate"], pathway_name="finish")
    with pytest.raises(EncordInvalidInputError, match="exactly one"):
        hook.move_workflow_task(project, data[0], stages["Annotate"])
    with pytest.raises(EncordInvalidInputError, match="exactly one"):
        hook.move_workflow_task(
            project,
            data[0],
            stages["Annotate"],
            pathway_name="submit",
            destination_stage_uuid=stages["Review"],
        )
    assert emulator.requests == [], "argument errors are found before any request"
    with pytest.raises(EncordInvalidInputError, match="annotation stages"):
        hook.move_workflow_task(project, data[0], stages["Annotate"], pathway_name="approve")
    with pytest.raises(EncordNotFoundError, match="Annotate"):
        hook.move_workflow_task(
            project, data[0], "00000000-0000-4000-8000-000000000003", pathway_name="submit"
        )
    assert not [r for r in emulator.requests if r.method == "POST" and "/workflow/" in r.path]
    with pytest.raises(EncordInvalidInputError, match="manual QA"):
        hook.move_workflow_task(
            ids["manual_qa_project_hash"], data[0], stages["Annotate"], pathway_name="submit"
        )


def test_failed_action_stays_retryable_and_moves_nothing(hook, emulator):
    ids = emulator.ids
    emulator.add_fault("v2:POST:/projects/*/workflow/stages/*/actions", "status", status=503)
    with pytest.raises(EncordRetryableError):
        hook.move_workflow_task(
            ids["project_hash"], ids["data_hashes"][2], ids["stages"]["Annotate"], "submit"
        )
    assert _stage_of(hook, ids["project_hash"], ids["data_hashes"][2]) == "Annotate"
    emulator.clear_faults()
    done = hook.move_workflow_task(
        ids["project_hash"], ids["data_hashes"][2], ids["stages"]["Annotate"], "submit"
    )
    assert done["status"] == "moved"


def test_upload_into_a_chosen_storage_folder(hook, emulator):
    ids = emulator.ids
    folder = ids["storage_folders"]["images"]
    result = hook.upload_data_to_dataset(
        ids["dataset_hash"],
        ids["integration_id"],
        ["s3://bucket/filed.jpg"],
        poll_interval=0,
        folder_uuid=folder,
    )
    assert result["status"] == "DONE"
    assert "filed.jpg" in [item["name"] for item in hook.list_storage_items(folder)["items"]]
    start = next(
        r
        for r in emulator.requests
        if r.query_type == "datasetdatalongpolling" and r.method == "POST" and r.query_method == "POST"
    )
    assert start.body["values"]["payload"]["folderUuid"] == folder


def test_upload_rejects_a_bad_folder_before_any_request(hook, emulator):
    emulator.clear_requests()
    with pytest.raises(EncordInvalidInputError, match="folder_uuid"):
        hook.start_upload(
            emulator.ids["dataset_hash"],
            emulator.ids["integration_id"],
            ["s3://b/x.jpg"],
            folder_uuid="images",
        )
    assert emulator.requests == []
