"""Hand-built Encord ontology and label rows covering every shape the COCO export converts."""

from __future__ import annotations

import numpy as np
from encord.objects.bitmask import BitmaskCoordinates

WIDTH, HEIGHT = 200, 100

ONTOLOGY = {
    "objects": [
        {"id": "1", "name": "car", "color": "#FF0000", "shape": "bounding_box", "featureNodeHash": "fh-box"},
        {
            "id": "2",
            "name": "boat",
            "color": "#00FF00",
            "shape": "rotatable_bounding_box",
            "featureNodeHash": "fh-rbb",
        },
        {"id": "3", "name": "field", "color": "#0000FF", "shape": "polygon", "featureNodeHash": "fh-poly"},
        {"id": "4", "name": "road", "color": "#FFFF00", "shape": "polyline", "featureNodeHash": "fh-line"},
        {"id": "5", "name": "nose", "color": "#00FFFF", "shape": "point", "featureNodeHash": "fh-point"},
        {"id": "6", "name": "person", "color": "#FF00FF", "shape": "skeleton", "featureNodeHash": "fh-skel"},
        {"id": "7", "name": "sky", "color": "#888888", "shape": "bitmask", "featureNodeHash": "fh-mask"},
    ],
    "classifications": [],
    "skeleton_templates": [
        {
            "template": {
                "name": "person",
                "width": 1.0,
                "height": 1.0,
                "feature_node_hash": "fh-skel",
                "shape": "skeleton",
                "skeleton": {
                    "0": {"x": 0.5, "y": 0.1, "name": "head", "featureHash": "v-head"},
                    "1": {"x": 0.5, "y": 0.5, "name": "hip", "featureHash": "v-hip"},
                    "2": {"x": 0.5, "y": 0.9, "name": "foot", "featureHash": "v-foot"},
                },
                "skeleton_edges": {"0": {"1": {"color": "#000000"}}, "1": {"2": {"color": "#000000"}}},
            }
        }
    ],
}


def obj(shape: str, feature_hash: str, object_hash: str, **coordinates) -> dict:
    return {
        "objectHash": object_hash,
        "featureHash": feature_hash,
        "name": feature_hash,
        "color": "#000000",
        "value": feature_hash,
        "createdAt": "Mon, 01 Jan 2024 00:00:00 UTC",
        "shape": shape,
        **coordinates,
    }


def points(*xy: float) -> dict:
    return {str(i): {"x": xy[2 * i], "y": xy[2 * i + 1]} for i in range(len(xy) // 2)}


def sky_mask() -> np.ndarray:
    """An irregular mask: two blobs, one with a hole, touching the image edge."""
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[0:30, 150:200] = True
    mask[10:20, 160:170] = False
    mask[40:45, 10:13] = True
    mask[44, 0:5] = True
    return mask


def bitmask_json(mask: np.ndarray) -> dict:
    """The SDK's own Encord encoding of a mask (row-major RLE string)."""
    return BitmaskCoordinates(mask).to_dict()


# The multi-ring polygon: an outer square with a square hole, plus a separate triangle.
OUTER = [0.05, 0.1, 0.35, 0.1, 0.35, 0.7, 0.05, 0.7]
HOLE = [0.1, 0.2, 0.2, 0.2, 0.2, 0.4, 0.1, 0.4]
TRIANGLE = [0.5, 0.8, 0.7, 0.8, 0.6, 0.95]


def image_objects() -> list[dict]:
    return [
        obj("bounding_box", "fh-box", "o-box", boundingBox={"x": 0.1, "y": 0.2, "w": 0.25, "h": 0.5}),
        obj(
            "rotatable_bounding_box",
            "fh-rbb",
            "o-rbb",
            rotatableBoundingBox={"x": 0.5, "y": 0.4, "w": 0.2, "h": 0.2, "theta": 90.0},
        ),
        obj("polygon", "fh-poly", "o-poly", polygon=points(0.1, 0.1, 0.4, 0.1, 0.4, 0.5)),
        obj(
            "polygon",
            "fh-poly",
            "o-holes",
            polygon=points(*OUTER),
            polygons=[[OUTER, HOLE], [TRIANGLE]],
        ),
        obj("polyline", "fh-line", "o-line", polyline=points(0.0, 0.0, 0.5, 0.5, 1.0, 0.25)),
        obj("point", "fh-point", "o-point", point={"0": {"x": 0.25, "y": 0.75}}),
        obj(
            "skeleton",
            "fh-skel",
            "o-skel",
            skeleton={
                "0": {"x": 0.6, "y": 0.3, "name": "foot", "featureHash": "v-foot", "visibility": "occluded"},
                "1": {"x": 0.6, "y": 0.1, "name": "head", "featureHash": "v-head"},
                "2": {"x": 0.6, "y": 0.2, "name": "hip", "featureHash": "v-hip", "visibility": "invisible"},
            },
        ),
        obj("bitmask", "fh-mask", "o-mask", bitmask=bitmask_json(sky_mask())),
    ]


def image_row(label_hash: str = "lh-image", data_hash: str = "dh-image") -> dict:
    return {
        "label_hash": label_hash,
        "data_hash": data_hash,
        "data_title": "street.jpg",
        "data_type": "image",
        "data_units": {
            data_hash: {
                "data_hash": data_hash,
                "data_title": "street.jpg",
                "data_type": "image/jpeg",
                "data_sequence": 0,
                "data_link": "https://example.invalid/street.jpg",
                "width": WIDTH,
                "height": HEIGHT,
                "labels": {"objects": image_objects(), "classifications": []},
            }
        },
        "object_answers": {
            "o-box": {
                "objectHash": "o-box",
                "classifications": [
                    {
                        "name": "colour",
                        "value": "colour",
                        "featureHash": "a-colour",
                        "answers": [{"name": "red", "value": "red", "featureHash": "a-red"}],
                        "manualAnnotation": True,
                    }
                ],
            }
        },
        "classification_answers": {
            "c-weather": {
                "classificationHash": "c-weather",
                "featureHash": "cf-weather",
                "classifications": [
                    {
                        "name": "weather",
                        "value": "weather",
                        "featureHash": "a-weather",
                        "answers": [{"name": "sunny", "value": "sunny", "featureHash": "a-sunny"}],
                    }
                ],
            }
        },
        "object_actions": {},
    }


def video_row() -> dict:
    labels = {
        "0": {
            "objects": [
                obj("bounding_box", "fh-box", "o-track", boundingBox={"x": 0, "y": 0, "w": 0.1, "h": 0.1})
            ]
        },
        "2": {
            "objects": [
                obj("bounding_box", "fh-box", "o-track", boundingBox={"x": 0.1, "y": 0, "w": 0.1, "h": 0.1})
            ]
        },
    }
    return {
        "label_hash": "lh-video",
        "data_hash": "dh-video",
        "data_title": "drive.mp4",
        "data_type": "video",
        "data_units": {
            "dh-video": {
                "data_hash": "dh-video",
                "data_title": "drive.mp4",
                "data_type": "video/mp4",
                "data_sequence": 0,
                "width": 640,
                "height": 480,
                "labels": labels,
            }
        },
        "object_answers": {"o-track": {"objectHash": "o-track", "classifications": []}},
        "classification_answers": {
            "c-night": {
                "classificationHash": "c-night",
                "featureHash": "cf-night",
                "range": [[2, 3]],
                "classifications": [{"name": "night", "featureHash": "a-night", "answers": "yes"}],
            }
        },
        "object_actions": {},
    }


def image_group_row() -> dict:
    units = {}
    for index in range(3):
        data_hash = f"dh-group-{index}"
        units[data_hash] = {
            "data_hash": data_hash,
            "data_title": f"page-{index}.png",
            "data_type": "image/png",
            "data_sequence": str(index),
            "width": 50 + index,
            "height": 40,
            "labels": {
                "objects": [obj("point", "fh-point", f"o-group-{index}", point={"0": {"x": 0.5, "y": 0.5}})]
                if index != 1
                else [],
                "classifications": [],
            },
        }
    return {
        "label_hash": "lh-group",
        "data_hash": "dh-group",
        "data_title": "pages",
        "data_type": "img_group",
        "data_units": dict(reversed(list(units.items()))),
        "object_answers": {},
        "classification_answers": {},
        "object_actions": {},
    }
