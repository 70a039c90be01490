"""Encord ontology and label JSON, built as plain dictionaries in the shapes the SDK parses."""

from __future__ import annotations

import operator
import random
import re
from datetime import datetime
from typing import Any

import orjson

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


#: The values a label template can hold, in the order :meth:`ScaleLabels.labels` computes them.
_SLOTS = ("hash", "x", "y", "w", "h", "x_w", "y_h", "x_w3")


class _Template:
    """JSON text with holes: a prototype is encoded once, then each row only fills in its values.

    A hole is a string ``"@@<slot>@@"`` in the prototype; ``hash`` holes take a string, the others a
    coordinate, written with 4 decimals (the precision of :func:`random_labels`).
    """

    _HOLE = re.compile(r'"@@(\w+)@@"')

    def __init__(self, prototype: Any) -> None:
        parts = self._HOLE.split(orjson.dumps(prototype).decode())
        names = parts[1::2]
        text = parts[0].replace("%", "%%")
        for name, static in zip(names, parts[2::2], strict=True):
            text += ('"%s"' if name == "hash" else "%.4f") + static.replace("%", "%%")
        self.text = text
        indices = [_SLOTS.index(name) for name in names]
        self._pick = operator.itemgetter(*indices) if len(indices) > 1 else None
        self._single = indices[0] if len(indices) == 1 else None

    def render(self, values: tuple[Any, ...]) -> str:
        if self._pick is not None:
            return self.text % self._pick(values)
        if self._single is not None:
            return self.text % values[self._single]
        return self.text % ()


def _hole(name: str) -> str:
    return f"@@{name}@@"


class ScaleLabels:
    """The labels :func:`random_labels` gives, pre-encoded: the same values at a fraction of the cost.

    The JSON of each object and classification is encoded once per ontology entry as a template; a row only
    draws its random numbers (in the same order as :func:`random_labels`, so the content is identical) and
    fills them in. :meth:`labels` returns ``orjson.Fragment`` values that the emulator's encoder copies as
    they are.
    """

    def __init__(self, editor: dict[str, Any], n_objects: int, author: str, when: datetime) -> None:
        stamp = _encord_time(when)
        shapes = editor["objects"]
        holes = [_hole(name) for name in _SLOTS[1:]]
        self._objects: list[_Template | None] = []
        for i in range(n_objects if shapes else 0):
            feature = shapes[i % len(shapes)]
            geometry = _geometry(feature["shape"], *holes)
            prototype = {**_object(feature, stamp, author, _hole("hash")), **geometry}
            self._objects.append(_Template(prototype) if geometry else None)
        self._answer = _Template({"objectHash": _hole("hash"), "classifications": []})
        self._classifications: list[tuple[int, _Template, list[_Template]]] = []
        for j, cls in enumerate(editor["classifications"]):
            options = cls["attributes"][0].get("options") or []
            if options:
                frame = _Template(_classification(cls, stamp, author, _hole("hash")))
                answers = [
                    _Template(_classification_answer(cls, option, stamp, author, _hole("hash")))
                    for option in options
                ]
                self._classifications.append((j, frame, answers))

    def labels(self, index: int, key: str) -> dict[str, Any]:
        """The labels of row ``index`` (``key`` as for :func:`random_labels`), as pre-encoded JSON parts."""
        rng = random.Random(index)
        uniform = rng.uniform
        objects: list[str] = []
        answers: list[str] = []
        for i, template in enumerate(self._objects):
            object_hash = stable_hex(key, "obj", i)
            x, y = uniform(0.05, 0.6), uniform(0.05, 0.6)
            w, h = uniform(0.05, 0.35), uniform(0.05, 0.35)
            if template is None:
                continue
            # x, y <= 0.6 and w, h <= 0.35: every coordinate is inside [0, 1], so random_labels' clamp
            # changes nothing and "%.4f" gives the value of its round(value, 4).
            values = (object_hash, x, y, w, h, x + w, y + h, x + w / 3)
            objects.append(template.render(values))
            answers.append(f'"{object_hash}":' + self._answer.render(values))
        classifications: list[str] = []
        classification_answers: list[str] = []
        for j, frame, options in self._classifications:
            option = rng.randrange(len(options))
            values = (stable_hex(key, "cls", j),)
            classifications.append(frame.render(values))
            classification_answers.append(f'"{values[0]}":' + options[option].render(values))
        return {
            "objects": orjson.Fragment("[" + ",".join(objects) + "]"),
            "classifications": orjson.Fragment("[" + ",".join(classifications) + "]"),
            "object_answers": orjson.Fragment("{" + ",".join(answers) + "}"),
            "classification_answers": orjson.Fragment("{" + ",".join(classification_answers) + "}"),
        }
