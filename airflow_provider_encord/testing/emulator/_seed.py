"""Seeds: the state an emulator starts with. Every identifier is derived from a name, so runs are stable."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from airflow_provider_encord.testing.emulator._labels import ScaleLabels, ontology_editor, random_labels
from airflow_provider_encord.testing.emulator._store import (
    GeneratedImages,
    LabelRow,
    Project,
    RowTable,
    Stage,
    Store,
    User,
    hex_index,
    item_record,
    seed_time,
    stable_uuid,
)

ANNOTATOR_EMAIL = "annotator@example.com"
REVIEWER_EMAIL = "reviewer@example.com"
IMAGE_SIZES = [(640, 480), (1280, 720), (1920, 1080), (800, 600)]

DEMO_OBJECTS = [("Car", "bounding_box"), ("Road", "polygon"), ("Pedestrian", "point")]
DEMO_CLASSIFICATIONS = [("Weather", ["Sunny", "Rainy", "Foggy"])]

#: ProjectUserRole values
ADMIN, ANNOTATOR, REVIEWER = 0, 1, 2


def add_ontology(store: Store, title: str, editor: dict[str, Any], created: datetime) -> str:
    ontology_hash = stable_uuid("ontology", title)
    store.ontologies[ontology_hash] = {
        "ontology_hash": ontology_hash,
        "title": title,
        "description": f"{title} (seeded)",
        "editor": editor,
        "created_at": created,
        "last_edited_at": created,
    }
    return ontology_hash


def add_folder(
    store: Store, name: str, parent: str | None, created: datetime, description: str = "", **extra: Any
) -> str:
    folder_uuid = stable_uuid("folder", parent or "", name)
    store.folders[folder_uuid] = {
        "uuid": folder_uuid,
        "parent": parent,
        "name": name,
        "description": description,
        "client_metadata": None,
        "owner": store.owner_email,
        "created_at": created,
        "last_edited_at": created,
        "synced_dataset_hash": extra.get("synced_dataset_hash"),
    }
    return folder_uuid


def add_item(
    store: Store, folder: str, name: str, item_type: str, created: datetime, **fields: Any
) -> dict[str, Any]:
    fields["uuid"] = fields.get("uuid") or stable_uuid("item", folder, name)
    item = item_record(store.owner_email, folder, name, item_type, created, **fields)
    store.items[item["uuid"]] = item
    return item


def add_dataset(store: Store, title: str, created: datetime, backing_folder: str | None) -> str:
    dataset_hash = stable_uuid("dataset", title)
    store.datasets[dataset_hash] = {
        "dataset_hash": dataset_hash,
        "title": title,
        "description": f"{title} (seeded)",
        "created_at": created,
        "last_edited_at": created,
        "backing_folder_uuid": backing_folder,
        "data_hashes": [],
    }
    return dataset_hash


def add_image(
    store: Store,
    dataset_hash: str,
    folder: str,
    title: str,
    size: tuple[int, int],
    created: datetime,
    **kw: Any,
) -> str:
    data_hash = kw.pop("data_hash", None) or stable_uuid("data", dataset_hash, title)
    width, height = size
    url = kw.pop("url", f"s3://demo-bucket/images/{title}")
    item = add_item(
        store,
        folder,
        title,
        "image",
        created,
        url=url,
        mime_type="image/jpeg",
        width=width,
        height=height,
        file_size=width * height // 4,  # about what a JPEG of that size weighs
        backed_data_units_count=1,
        integration_hash=kw.pop("integration_hash", None),
    )
    store.data[data_hash] = {
        "data_hash": data_hash,
        "title": title,
        "dataset_hash": dataset_hash,
        "data_type": "image",
        "file_type": "image/jpeg",
        "url": url,
        "width": width,
        "height": height,
        "backing_item_uuid": item["uuid"],
        "created_at": created,
    }
    store.datasets[dataset_hash]["data_hashes"].append(data_hash)
    return data_hash


def workflow_stages(project_hash: str) -> list[Stage]:
    """Annotate -> Review -> Complete; reject in Review sends a task back to Annotate."""
    annotate = stable_uuid("stage", project_hash, "Annotate")
    review = stable_uuid("stage", project_hash, "Review")
    complete = stable_uuid("stage", project_hash, "Complete")
    return [
        Stage(annotate, "Annotate", "ANNOTATION", {"SUBMIT": review}),
        Stage(review, "Review", "REVIEW", {"APPROVE": complete, "REJECT": annotate}),
        Stage(complete, "Complete", "DONE", {}),
    ]


def seed_empty(store: Store) -> dict[str, Any]:
    integration = stable_uuid("integration", "Local integration")
    store.integrations[integration] = {"id": integration, "title": "Local integration", "provider": "s3"}
    return {"integration_id": integration}


def seed_demo(store: Store) -> dict[str, Any]:
    """The demo seed (see the package docstring for its contents)."""
    ids = seed_empty(store)
    integration = stable_uuid("integration", "Demo S3 integration")
    store.integrations[integration] = {"id": integration, "title": "Demo S3 integration", "provider": "s3"}
    ids["integration_id"] = integration
    store.users[ANNOTATOR_EMAIL] = store.users.get(ANNOTATOR_EMAIL) or _user(ANNOTATOR_EMAIL)
    store.users[REVIEWER_EMAIL] = store.users.get(REVIEWER_EMAIL) or _user(REVIEWER_EMAIL)

    editor = ontology_editor("Demo ontology", DEMO_OBJECTS, DEMO_CLASSIFICATIONS)
    ontology_hash = add_ontology(store, "Demo ontology", editor, seed_time(0))
    add_ontology(
        store,
        "Traffic signs ontology",
        ontology_editor("Traffic signs ontology", [("Sign", "bounding_box")], []),
        seed_time(1),
    )

    top = add_folder(store, "Demo data", None, seed_time(2), "Top folder of the demo")
    images = add_folder(store, "images", top, seed_time(3))
    videos = add_folder(store, "videos", top, seed_time(4))
    archive = add_folder(store, "archive", videos, seed_time(5))
    medical = add_folder(store, "medical", top, seed_time(6))
    add_folder(store, "Scratch", None, seed_time(7), "An empty top-level folder")

    dataset_hash = add_dataset(store, "Demo dataset", seed_time(8), images)
    store.folders[images]["synced_dataset_hash"] = dataset_hash  # its backing folder, as create_dataset makes
    data_hashes = []
    for i in range(12):
        size = IMAGE_SIZES[i % 3]
        data_hashes.append(
            add_image(
                store,
                dataset_hash,
                images,
                f"street_{i:02d}.jpg",
                size,
                seed_time(10 + i),
                integration_hash=integration,
            )
        )
    add_dataset(store, "Empty dataset", seed_time(9), None)

    add_item(
        store,
        videos,
        "drive_01.mp4",
        "video",
        seed_time(30),
        mime_type="video/mp4",
        width=1920,
        height=1080,
        duration=12.0,
        fps=25.0,
        frame_count=300,
        url="s3://demo-bucket/videos/drive_01.mp4",
    )
    add_item(
        store,
        archive,
        "drive_00.mp4",
        "video",
        seed_time(31),
        mime_type="video/mp4",
        width=1280,
        height=720,
        duration=8.0,
        fps=30.0,
        frame_count=240,
        url="s3://demo-bucket/videos/drive_00.mp4",
    )
    add_item(store, top, "crossing_sequence", "imageGroup", seed_time(32), url=None, file_size=None)
    add_item(store, medical, "chest_ct", "dicomSeries", seed_time(33), url=None, file_size=None)
    add_item(store, medical, "report.pdf", "pdf", seed_time(34), mime_type="application/pdf")
    add_item(store, top, "notes.txt", "plainText", seed_time(35), mime_type="text/plain")

    for i, (name, description) in enumerate(
        [("Annotators", "Labelling team"), ("Reviewers", "Quality team"), ("ML engineers", "Model owners")]
    ):
        store.groups.append(
            {
                "group_hash": stable_uuid("group", name),
                "name": name,
                "description": description,
                "created_at": seed_time(40 + i),
            }
        )

    # Workflow project: rows spread over the three stages, two unlabelled.
    project_hash = stable_uuid("project", "Demo project")
    stages = workflow_stages(project_hash)
    project = Project(
        project_hash=project_hash,
        title="Demo project",
        description="Workflow project of the demo seed",
        ontology_hash=ontology_hash,
        dataset_hashes=[dataset_hash],
        created_at=seed_time(50),
        last_edited_at=seed_time(50),
        creator_email=store.owner_email,
        stages=stages,
        users={store.owner_email: ADMIN, ANNOTATOR_EMAIL: ANNOTATOR},
    )
    label_hashes = []
    for i, data_hash in enumerate(data_hashes):
        stage = stages[0] if i < 4 else stages[1] if i < 8 else stages[2]
        labelled = i not in (0, 1)
        label_hash = stable_uuid("label", project_hash, data_hash) if labelled else None
        when = seed_time(60 + i * 10)
        row = LabelRow(
            data_hash=data_hash,
            label_hash=label_hash,
            task_uuid=stable_uuid("task", project_hash, data_hash),
            created_at=when,
            last_edited_at=when,
            label_status="LABELLED" if labelled else "NOT_LABELLED",
            stage_uuid=stage.uuid,
            task_status="ASSIGNED" if i == 2 else "NEW",
            assignee=ANNOTATOR_EMAIL if i == 2 else None,
            labels=random_labels(editor, random.Random(i), 2 + i % 4, ANNOTATOR_EMAIL, when, label_hash)
            if labelled
            else None,
        )
        project.rows.add(row)
        if label_hash:
            label_hashes.append(label_hash)
    store.projects[project_hash] = project

    # Manual-QA project on the same data with classic statuses.
    qa_hash = stable_uuid("project", "Legacy QA project")
    qa = Project(
        project_hash=qa_hash,
        title="Legacy QA project",
        description="Manual-QA project of the demo seed",
        ontology_hash=ontology_hash,
        dataset_hashes=[dataset_hash],
        created_at=seed_time(51),
        last_edited_at=seed_time(51),
        creator_email=store.owner_email,
        project_type="manual_qa",
        users={store.owner_email: ADMIN, REVIEWER_EMAIL: REVIEWER},
    )
    statuses = [
        ("QUEUED", "NOT_LABELLED"),
        ("ASSIGNED", "LABEL_IN_PROGRESS"),
        ("IN_REVIEW", "LABELLED"),
        ("RETURNED", "REVIEW_IN_PROGRESS"),
        ("COMPLETED", "REVIEWED"),
        ("COMPLETED", "REVIEWED_TWICE"),
    ]
    for i, data_hash in enumerate(data_hashes[:6]):
        task_status, label_status = statuses[i]
        labelled = label_status != "NOT_LABELLED"
        label_hash = stable_uuid("label", qa_hash, data_hash) if labelled else None
        when = seed_time(200 + i * 10)
        qa.rows.add(
            LabelRow(
                data_hash=data_hash,
                label_hash=label_hash,
                task_uuid=stable_uuid("task", qa_hash, data_hash),
                created_at=when,
                last_edited_at=when,
                label_status=label_status,
                annotation_task_status=task_status,
                labels=random_labels(
                    editor, random.Random(100 + i), 1 + i % 3, REVIEWER_EMAIL, when, label_hash
                )
                if labelled
                else None,
            )
        )
    store.projects[qa_hash] = qa

    ids.update(
        project_hash=project_hash,
        manual_qa_project_hash=qa_hash,
        dataset_hash=dataset_hash,
        ontology_hash=ontology_hash,
        stages={s.title: s.uuid for s in stages},
        storage_folder_uuid=top,
        storage_folders={
            "Demo data": top,
            "images": images,
            "videos": videos,
            "archive": archive,
            "medical": medical,
        },
        data_hashes=data_hashes,
        label_hashes=label_hashes,
        group_hashes=[g["group_hash"] for g in store.groups],
        annotator_email=ANNOTATOR_EMAIL,
    )
    return ids


def _user(email: str) -> User:
    return User(email=email)


SCALE_DATA = "5ca1eda7-0000-4000-8000-"
SCALE_ITEM = "5ca11e00-0000-4000-8000-"
SCALE_LABEL = "5ca1e1ab-0000-4000-8000-"
SCALE_TASK = "5ca1e7a5-0000-4000-8000-"


def seed_scale(store: Store, images: int = 1000, objects: int = 5) -> dict[str, Any]:
    """``images`` images with ``objects`` objects each, all in the Complete stage of one workflow project.

    Nothing per image is stored: data units, dataset rows, storage items, label rows and label JSON are
    generated from the image index whenever a request needs them, so 100k rows cost no more memory than ten.
    """
    ids = seed_empty(store)
    editor = ontology_editor("Scale ontology", DEMO_OBJECTS, DEMO_CLASSIFICATIONS)
    ontology_hash = add_ontology(store, "Scale ontology", editor, seed_time(0))
    folder = add_folder(store, "Scale data", None, seed_time(1))
    dataset_hash = add_dataset(store, "Scale dataset", seed_time(2), folder)
    store.folders[folder]["synced_dataset_hash"] = dataset_hash
    project_hash = stable_uuid("project", "Scale project")
    stages = workflow_stages(project_hash)
    when = seed_time(10)
    generated = GeneratedImages(
        count=images,
        dataset_hash=dataset_hash,
        folder_uuid=folder,
        owner=store.owner_email,
        created_at=when,
        data_prefix=SCALE_DATA,
        item_prefix=SCALE_ITEM,
        url_prefix="s3://scale-bucket/",
        name_prefix="scale_",
        sizes=tuple(IMAGE_SIZES),
        integration_hash=ids["integration_id"],
    )
    store.generated.append(generated)

    def row(index: int) -> LabelRow:
        return LabelRow(
            data_hash=generated.data_hash(index),
            label_hash=f"{SCALE_LABEL}{index:012x}",
            task_uuid=f"{SCALE_TASK}{index:012x}",
            created_at=when,
            last_edited_at=when,
            label_status="LABELLED",
            annotation_task_status="COMPLETED",
            stage_uuid=stages[2].uuid,
            labels=None,  # generated on demand, see ``lazy_labels``
        )

    scale_labels = ScaleLabels(editor, objects, store.owner_email, when)
    project = Project(
        project_hash=project_hash,
        title="Scale project",
        description=f"{images} images with {objects} objects each",
        ontology_hash=ontology_hash,
        dataset_hashes=[dataset_hash],
        created_at=when,
        last_edited_at=when,
        creator_email=store.owner_email,
        stages=stages,
        users={store.owner_email: ADMIN},
        rows=RowTable(images, row, generated.index_of_data, lambda h: hex_index(SCALE_LABEL, h, images)),
        lazy_labels=lambda r: scale_labels.labels(generated.index_of_data(r.data_hash)),
    )
    store.projects[project_hash] = project
    ids.update(
        project_hash=project_hash,
        dataset_hash=dataset_hash,
        ontology_hash=ontology_hash,
        stages={s.title: s.uuid for s in stages},
        storage_folder_uuid=folder,
    )
    return ids
