"""Encord ontology and label JSON, built as plain dictionaries in the shapes the SDK parses."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from airflow_provider_encord.testing.emulator._store import LabelRow, Project, Store, iso, stable_hex

COLOURS = ["#D33115", "#0F5AA8", "#16A34A", "#E6A700", "#7B1FA2", "#00838F"]


def ontology_editor(
    name: str, objects: list[tuple[str, str]], classifications: list[tuple[str, list[str]]]
) -> dict[str, Any]:
    """An ontology structure as ``OntologyStructure.to_dict()`` writes it.

    :param name: seeds the feature node hashes, so the same ontology always gets the same hashes
    :param objects: ``(name, shape)`` pairs, shapes as Encord spells them (``bounding_box``, ``point``...)
    :param classifications: ``(question, [option, ...])`` pairs, each a radio classification
    """
    editor_objects = [
        {
            "id": str(i + 1),
            "name": obj_name,
            "color": COLOURS[i % len(COLOURS)],
            "shape": shape,
            "featureNodeHash": stable_hex(name, "object", obj_name),
            "required": False,
            "attributes": [],
        }
        for i, (obj_name, shape) in enumerate(objects)
    ]
    editor_classifications = []
    for i, (question, options) in enumerate(classifications):
        cid = str(i + 1)
        editor_classifications.append(
            {
                "id": cid,
                "featureNodeHash": stable_hex(name, "classification", question),
                "required": False,
                "attributes": [
                    {
                        "id": f"{cid}.1",
                        "featureNodeHash": stable_hex(name, "attribute", question),
                        "type": "radio",
                        "name": question,
                        "required": False,
                        "dynamic": False,
                        "options": [
                            {
                                "id": f"{cid}.1.{j + 1}",
                                "featureNodeHash": stable_hex(name, "option", question, option),
                                "label": option,
                                "value": option.lower().replace(" ", "_"),
                                "options": [],
                            }
                            for j, option in enumerate(options)
                        ],
                    }
                ],
            }
        )
    return {"objects": editor_objects, "classifications": editor_classifications, "skeleton_templates": {}}


def _encord_time(value: datetime) -> str:
    # The format Encord writes into label JSON (``createdAt``), e.g. "Mon, 01 Jan 2024 00:00:00 UTC".
    return value.strftime("%a, %d %b %Y %H:%M:%S UTC")


def _round(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 4)


def random_labels(
    editor: dict[str, Any], rng: random.Random, n_objects: int, author: str, when: datetime, key: str
) -> dict[str, Any]:
    """Label content for one image: ``n_objects`` objects cycling through the ontology's objects, and one
    answer to each classification. Coordinates are normalised to [0, 1].

    :param key: makes the object hashes unique within the project
    """
    objects = []
    object_answers: dict[str, Any] = {}
    shapes = editor["objects"]
    stamp = _encord_time(when)
    for i in range(n_objects if shapes else 0):
        feature = shapes[i % len(shapes)]
        object_hash = stable_hex(key, "obj", i)
        obj: dict[str, Any] = {
            "name": feature["name"],
            "color": feature["color"],
            "shape": feature["shape"],
            "value": feature["name"].lower().replace(" ", "_"),
            "createdAt": stamp,
            "createdBy": author,
            "lastEditedAt": stamp,
            "lastEditedBy": author,
            "confidence": 1.0,
            "objectHash": object_hash,
            "featureHash": feature["featureNodeHash"],
            "manualAnnotation": True,
            "reviews": [],
        }
        x, y = rng.uniform(0.05, 0.6), rng.uniform(0.05, 0.6)
        w, h = rng.uniform(0.05, 0.35), rng.uniform(0.05, 0.35)
        if feature["shape"] == "bounding_box":
            obj["boundingBox"] = {"x": _round(x), "y": _round(y), "w": _round(w), "h": _round(h)}
        elif feature["shape"] == "polygon":
            obj["polygon"] = {
                "0": {"x": _round(x), "y": _round(y)},
                "1": {"x": _round(x + w), "y": _round(y)},
                "2": {"x": _round(x + w), "y": _round(y + h)},
                "3": {"x": _round(x + w / 3), "y": _round(y + h)},
            }
        elif feature["shape"] == "point":
            obj["point"] = {"0": {"x": _round(x), "y": _round(y)}}
        elif feature["shape"] == "polyline":
            obj["polyline"] = {
                "0": {"x": _round(x), "y": _round(y)},
                "1": {"x": _round(x + w), "y": _round(y + h)},
            }
        else:  # shapes without generated geometry are left out
            continue
        objects.append(obj)
        object_answers[object_hash] = {"objectHash": object_hash, "classifications": []}

    classifications = []
    classification_answers: dict[str, Any] = {}
    for j, cls in enumerate(editor["classifications"]):
        attribute = cls["attributes"][0]
        if not attribute.get("options"):
            continue
        option = attribute["options"][rng.randrange(len(attribute["options"]))]
        classification_hash = stable_hex(key, "cls", j)
        classifications.append(
            {
                "name": attribute["name"],
                "value": attribute["name"].lower().replace(" ", "_"),
                "createdAt": stamp,
                "createdBy": author,
                "lastEditedAt": stamp,
                "lastEditedBy": author,
                "confidence": 1.0,
                "featureHash": cls["featureNodeHash"],
                "classificationHash": classification_hash,
                "manualAnnotation": True,
                "reviews": [],
            }
        )
        classification_answers[classification_hash] = {
            "classificationHash": classification_hash,
            "featureHash": cls["featureNodeHash"],
            "range": [[0, 0]],
            "createdAt": stamp,
            "createdBy": author,
            "lastEditedAt": stamp,
            "lastEditedBy": author,
            "confidence": 1.0,
            "manualAnnotation": True,
            "classifications": [
                {
                    "name": attribute["name"],
                    "value": attribute["name"].lower().replace(" ", "_"),
                    "featureHash": attribute["featureNodeHash"],
                    "answers": [
                        {
                            "name": option["label"],
                            "value": option["value"],
                            "featureHash": option["featureNodeHash"],
                        }
                    ],
                    "manualAnnotation": True,
                }
            ],
        }
    return {
        "objects": objects,
        "classifications": classifications,
        "object_answers": object_answers,
        "classification_answers": classification_answers,
    }


def _workflow_node(project: Project, row: LabelRow) -> dict[str, str] | None:
    stage = project.stage(row.stage_uuid) if row.stage_uuid else None
    return {"uuid": stage.uuid, "title": stage.title} if stage else None


def row_metadata(store: Store, project: Project, row: LabelRow) -> dict[str, Any]:
    """One entry of the RPC ``labelrowmetadata`` answer (``LabelRowMetadata.from_dict``)."""
    unit = store.data_unit(row.data_hash) or {}
    dataset = store.datasets.get(unit.get("dataset_hash", ""), {})
    return {
        "label_hash": row.label_hash,
        "branch_name": "main",
        "created_at": iso(row.created_at) if row.label_hash else None,
        "last_edited_at": iso(row.last_edited_at) if row.label_hash else None,
        "data_hash": row.data_hash,
        "dataset_hash": unit.get("dataset_hash"),
        "dataset_title": dataset.get("title", ""),
        "data_title": unit.get("title", ""),
        "data_type": unit.get("data_type", "image").upper(),  # metadata carries the upper-case name
        "data_link": unit.get("url"),
        "file_type": unit.get("file_type"),
        "spaces": {},
        "label_status": row.label_status,
        "annotation_task_status": row.annotation_task_status if project.project_type == "manual_qa" else None,
        "workflow_graph_node": _workflow_node(project, row),
        "is_shadow_data": False,
        "number_of_frames": 1,
        "height": unit.get("height"),
        "width": unit.get("width"),
        "task_uuid": row.task_uuid if project.project_type == "workflow" else None,
        "priority": None,
        "is_valid": True,
        "backing_item_uuid": unit.get("backing_item_uuid"),
        "assigned_user_email": row.assignee,
        "last_actioned_by_user_email": None,
    }


def row_labels(store: Store, project: Project, row: LabelRow) -> dict[str, Any]:
    """A full label row (RPC ``labelrow`` answer) in Encord's label JSON."""
    unit = store.data_unit(row.data_hash) or {}
    dataset = store.datasets.get(unit.get("dataset_hash", ""), {})
    labels = row.labels
    if labels is None and row.label_hash and project.lazy_labels is not None:
        labels = project.lazy_labels(row)
    labels = labels or {}
    return {
        "label_hash": row.label_hash,
        "branch_name": "main",
        "created_at": iso(row.created_at),
        "last_edited_at": iso(row.last_edited_at),
        "dataset_hash": unit.get("dataset_hash"),
        "dataset_title": dataset.get("title", ""),
        "data_title": unit.get("title", ""),
        "data_hash": row.data_hash,
        "data_type": unit.get("data_type", "image"),
        "is_shadow_data": False,
        "label_status": row.label_status,
        "annotation_task_status": row.annotation_task_status,
        "data_units": {
            row.data_hash: {
                "data_hash": row.data_hash,
                "data_title": unit.get("title", ""),
                "data_type": unit.get("file_type", "image/jpeg"),
                "data_sequence": 0,
                "data_link": unit.get("url"),
                "width": unit.get("width"),
                "height": unit.get("height"),
                "labels": {
                    "objects": labels.get("objects", []),
                    "classifications": labels.get("classifications", []),
                },
            }
        },
        "object_answers": labels.get("object_answers", {}),
        "classification_answers": labels.get("classification_answers", {}),
        "object_actions": {},
        "spaces": {},
    }
