"""Encord ontology and label JSON, built as plain dictionaries in the shapes the SDK parses."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import orjson

from airflow_provider_encord.testing.emulator._store import (
    DATA_TYPE_NAMES,
    LabelRow,
    Project,
    Store,
    iso,
    stable_hex,
)

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


def _object(feature: dict[str, Any], stamp: str, author: str, object_hash: str) -> dict[str, Any]:
    return {
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


def _geometry(shape: str, x: Any, y: Any, w: Any, h: Any, x_w: Any, y_h: Any, x_w3: Any) -> dict[str, Any]:
    """The geometry entry of an object from its corner, size and derived corners; empty for other shapes."""
    if shape == "bounding_box":
        return {"boundingBox": {"x": x, "y": y, "w": w, "h": h}}
    if shape == "polygon":
        return {
            "polygon": {
                "0": {"x": x, "y": y},
                "1": {"x": x_w, "y": y},
                "2": {"x": x_w, "y": y_h},
                "3": {"x": x_w3, "y": y_h},
            }
        }
    if shape == "point":
        return {"point": {"0": {"x": x, "y": y}}}
    if shape == "polyline":
        return {"polyline": {"0": {"x": x, "y": y}, "1": {"x": x_w, "y": y_h}}}
    return {}


def _classification(cls: dict[str, Any], stamp: str, author: str, classification_hash: str) -> dict[str, Any]:
    attribute = cls["attributes"][0]
    return {
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


def _classification_answer(
    cls: dict[str, Any], option: dict[str, Any], stamp: str, author: str, classification_hash: str
) -> dict[str, Any]:
    attribute = cls["attributes"][0]
    return {
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
        x, y = rng.uniform(0.05, 0.6), rng.uniform(0.05, 0.6)
        w, h = rng.uniform(0.05, 0.35), rng.uniform(0.05, 0.35)
        corners = [_round(v) for v in (x, y, w, h, x + w, y + h, x + w / 3)]
        geometry = _geometry(feature["shape"], *corners)
        if not geometry:  # shapes without generated geometry are left out
            continue
        objects.append({**_object(feature, stamp, author, object_hash), **geometry})
        object_answers[object_hash] = {"objectHash": object_hash, "classifications": []}

    classifications = []
    classification_answers: dict[str, Any] = {}
    for j, cls in enumerate(editor["classifications"]):
        attribute = cls["attributes"][0]
        if not attribute.get("options"):
            continue
        option = attribute["options"][rng.randrange(len(attribute["options"]))]
        classification_hash = stable_hex(key, "cls", j)
        classifications.append(_classification(cls, stamp, author, classification_hash))
        classification_answers[classification_hash] = _classification_answer(
            cls, option, stamp, author, classification_hash
        )
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
        "last_edited_at": iso(row.edited_at) if row.edited_at else None,
        "data_hash": row.data_hash,
        "dataset_hash": unit.get("dataset_hash"),
        "dataset_title": dataset.get("title", ""),
        "data_title": unit.get("title", ""),
        "data_type": DATA_TYPE_NAMES[unit.get("data_type", "image")],  # metadata carries the upper-case name
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


def _hash_hole() -> str:
    return "@@hash@@"


def _with_hash_hole(prototype: Any) -> str:
    """The JSON of ``prototype`` as a %-format string whose only hole (``%s``) is the ``@@hash@@`` string."""
    text = orjson.dumps(prototype).decode().replace("%", "%%")
    return text.replace(f'"{_hash_hole()}"', '"%s"')


class ScaleLabels:
    """Scale-seed labels of the form :func:`random_labels` gives, pre-encoded: a row costs microseconds.

    For each object slot of a row, :data:`VARIANTS` objects with random geometry (drawn once, from a fixed
    seed, as :func:`random_labels` draws them) are encoded to JSON when the seed is built, with a hole for the
    object hash; a row picks one variant per slot from its index and fills in its hashes, which are unique in
    the project. The same index always gives the same labels. :meth:`labels` returns ``orjson.Fragment``
    values that the emulator's encoder copies as they are.
    """

    #: Geometry variants per object slot (a prime, so that rows cycle through different combinations).
    VARIANTS = 1009

    def __init__(self, editor: dict[str, Any], n_objects: int, author: str, when: datetime) -> None:
        rng = random.Random(0)
        stamp = _encord_time(when)
        shapes = editor["objects"]
        self._objects: list[list[str]] = []
        for i in range(n_objects if shapes else 0):
            feature = shapes[i % len(shapes)]
            variants = []
            for _ in range(self.VARIANTS):
                x, y = rng.uniform(0.05, 0.6), rng.uniform(0.05, 0.6)
                w, h = rng.uniform(0.05, 0.35), rng.uniform(0.05, 0.35)
                corners = [_round(v) for v in (x, y, w, h, x + w, y + h, x + w / 3)]
                geometry = _geometry(feature["shape"], *corners)
                if geometry:
                    variants.append(
                        _with_hash_hole({**_object(feature, stamp, author, _hash_hole()), **geometry})
                    )
            if variants:  # shapes without generated geometry are left out
                self._objects.append(variants)
        self._answer = '"%s":' + _with_hash_hole({"objectHash": _hash_hole(), "classifications": []})
        self._classifications: list[tuple[str, list[str]]] = []
        for cls in editor["classifications"]:
            options = cls["attributes"][0].get("options") or []
            if options:
                frame = _with_hash_hole(_classification(cls, stamp, author, _hash_hole()))
                answers = [
                    '"%s":'
                    + _with_hash_hole(_classification_answer(cls, option, stamp, author, _hash_hole()))
                    for option in options
                ]
                self._classifications.append((frame, answers))
        self._slots = len(self._objects) + len(self._classifications)

    def _hash(self, index: int, slot: int) -> str:
        # Multiplying by an odd constant modulo 2**32 is a bijection: distinct (index, slot) pairs give
        # distinct 8-digit hashes up to 2**32 slots in the project.
        return f"{((index * self._slots + slot) * 0x9E3779B1) & 0xFFFFFFFF:08x}"

    def labels(self, index: int) -> dict[str, Any]:
        """The labels of row ``index``, as pre-encoded JSON parts."""
        objects: list[str] = []
        answers: list[str] = []
        for slot, variants in enumerate(self._objects):
            object_hash = self._hash(index, slot)
            objects.append(variants[(index + slot * 7) % self.VARIANTS] % object_hash)
            answers.append(self._answer % (object_hash, object_hash))
        classifications: list[str] = []
        classification_answers: list[str] = []
        for j, (frame, options) in enumerate(self._classifications):
            classification_hash = self._hash(index, len(self._objects) + j)
            classifications.append(frame % classification_hash)
            option = options[(index + j) % len(options)]
            classification_answers.append(option % (classification_hash, classification_hash))
        return {
            "objects": orjson.Fragment("[" + ",".join(objects) + "]"),
            "classifications": orjson.Fragment("[" + ",".join(classifications) + "]"),
            "object_answers": orjson.Fragment("{" + ",".join(answers) + "}"),
            "classification_answers": orjson.Fragment("{" + ",".join(classification_answers) + "}"),
        }
