"""The pure converter: every shape checked pixel by pixel against its label JSON, and read by pycocotools."""

from __future__ import annotations

import copy
import io

import numpy as np
import orjson
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from airflow_provider_encord.coco import CocoConverter, CocoStreamWriter, build_categories
from airflow_provider_encord.coco._schema import decode_bundle
from tests.coco.label_data import (
    HEIGHT,
    HOLE,
    ONTOLOGY,
    OUTER,
    TRIANGLE,
    WIDTH,
    image_group_row,
    image_objects,
    image_row,
    obj,
    points,
    sky_mask,
    video_row,
)


def convert(*rows, ontology=ONTOLOGY, **kwargs):
    converter = CocoConverter(ontology, **kwargs)
    images, annotations = [], []
    for row in rows:
        row_images, row_annotations = converter.convert_label_row(row)
        images += row_images
        annotations += row_annotations
    return converter, {
        "info": {},
        "categories": converter.categories,
        "images": images,
        "annotations": annotations,
    }


def by_object(document):
    return {annotation["encord_object_hash"]: annotation for annotation in document["annotations"]}


def even_odd_mask(rings_per_polygon, height, width):
    """Reference rasteriser: a pixel is inside when its centre is inside by the even-odd rule (vectorised)."""
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    mask = np.zeros((height, width), dtype=bool)
    for rings in rings_per_polygon:
        inside = np.zeros((height, width), dtype=bool)
        for ring in rings:
            pts = np.array(ring, dtype=float).reshape(-1, 2) * [width, height]
            for (x0, y0), (x1, y1) in zip(pts, np.roll(pts, -1, axis=0), strict=False):
                if y0 == y1:
                    continue
                crosses = ((y0 <= ys) & (ys < y1)) | ((y1 <= ys) & (ys < y0))
                x_at = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
                inside ^= crosses & (xs < x_at)
        mask |= inside
    return mask


def test_categories_use_encord_ids_and_keep_them_when_filtered():
    categories = build_categories(ONTOLOGY)
    assert [(c["id"], c["name"]) for c in categories] == [
        (1, "car"),
        (2, "boat"),
        (3, "field"),
        (4, "road"),
        (5, "nose"),
        (6, "person"),
        (7, "sky"),
    ]
    assert build_categories(copy.deepcopy(ONTOLOGY)) == categories
    person = categories[5]
    assert person["keypoints"] == ["head", "hip", "foot"]
    assert person["skeleton"] == [[1, 2], [2, 3]]
    filtered = CocoConverter(ONTOLOGY, object_classes=["sky", "fh-box"]).categories
    assert [(c["id"], c["name"]) for c in filtered] == [(1, "car"), (7, "sky")]


def test_categories_fall_back_to_ontology_order_when_ids_are_not_usable():
    ontology = copy.deepcopy(ONTOLOGY)
    ontology["objects"][0]["id"] = "2"  # duplicate of the second object's id
    assert [c["id"] for c in build_categories(ontology)] == [1, 2, 3, 4, 5, 6, 7]


def test_unknown_object_class_is_refused_with_the_names_available():
    with pytest.raises(ValueError, match=r"object_classes=.*'tree'.*'car'"):
        CocoConverter(ONTOLOGY, object_classes=["tree", "car"])


def test_ids_start_at_one_and_count_up_across_rows():
    _, document = convert(image_row(), image_row("lh-2", "dh-2"))
    assert [image["id"] for image in document["images"]] == [1, 2]
    assert [a["id"] for a in document["annotations"]] == list(range(1, 17))
    assert {a["image_id"] for a in document["annotations"][8:]} == {2}


def test_bounding_box_in_pixels():
    box = by_object(convert(image_row())[1])["o-box"]
    assert box["bbox"] == [20.0, 20.0, 50.0, 50.0]
    assert box["area"] == 2500.0
    assert box["segmentation"] == [[20.0, 20.0, 70.0, 20.0, 70.0, 70.0, 20.0, 70.0]]
    assert box["iscrowd"] == 0
    assert box["encord_attributes"] == [
        {
            "name": "colour",
            "feature_hash": "a-colour",
            "answers": [{"name": "red", "value": "red", "featureHash": "a-red"}],
        }
    ]


def test_rotatable_box_keeps_the_unrotated_box_and_the_angle():
    rbb = by_object(convert(image_row())[1])["o-rbb"]
    # x 0.5*200, y 0.4*100, w 0.2*200, h 0.2*100: a 40x20 box centred on (120, 50), turned by 90 degrees.
    assert rbb["bbox"] == [100.0, 40.0, 40.0, 20.0]
    assert rbb["encord_rotation"] == 90.0
    assert rbb["area"] == 800.0
    flat = rbb["segmentation"][0]
    corners = {(round(flat[i], 1) + 0.0, round(flat[i + 1], 1) + 0.0) for i in range(0, 8, 2)}
    assert corners == {(110.0, 30.0), (130.0, 30.0), (130.0, 70.0), (110.0, 70.0)}


def test_simple_polygon_in_pixels_with_shoelace_area():
    polygon = by_object(convert(image_row())[1])["o-poly"]
    assert polygon["segmentation"] == [[20.0, 10.0, 80.0, 10.0, 80.0, 50.0]]
    assert polygon["area"] == 0.5 * 60 * 40
    assert polygon["bbox"] == [20.0, 10.0, 60.0, 40.0]


def test_polygon_with_holes_and_several_parts_becomes_a_mask_of_the_inside_pixels():
    polygon = by_object(convert(image_row())[1])["o-holes"]
    outer_area = 60 * 60
    hole_area = 20 * 20
    triangle_area = 0.5 * 40 * 15
    assert polygon["area"] == pytest.approx(outer_area - hole_area + triangle_area)
    assert polygon["iscrowd"] == 0
    decoded = mask_utils.decode(
        {"size": polygon["segmentation"]["size"], "counts": polygon["segmentation"]["counts"].encode()}
    )
    expected = even_odd_mask([[OUTER, HOLE], [TRIANGLE]], HEIGHT, WIDTH)
    assert decoded.shape == (HEIGHT, WIDTH)
    assert (decoded.astype(bool) == expected).all()
    assert not decoded[30, 30]  # inside the hole
    assert decoded[15, 15]  # inside the outer ring
    assert polygon["encord_polygons"][0][1] == [20.0, 20.0, 40.0, 20.0, 40.0, 40.0, 20.0, 40.0]
    assert polygon["bbox"] == [10.0, 10.0, 130.0, 85.0]


def test_polyline_point_and_skeleton():
    annotations = by_object(convert(image_row())[1])
    line = annotations["o-line"]
    assert line["encord_polyline"] == [0.0, 0.0, 100.0, 50.0, 200.0, 25.0]
    assert line["bbox"] == [0.0, 0.0, 200.0, 50.0]
    assert line["area"] == 0.0
    point = annotations["o-point"]
    assert point["keypoints"] == [50.0, 75.0, 2]
    assert point["num_keypoints"] == 1
    skeleton = annotations["o-skel"]
    # Template order head, hip, foot; the hip is invisible, the foot occluded.
    assert skeleton["keypoints"] == [120.0, 10.0, 2, 0, 0, 0, 120.0, 30.0, 1]
    assert skeleton["num_keypoints"] == 2
    assert skeleton["bbox"] == [120.0, 10.0, 0.0, 20.0]
    for annotation in (line, point, skeleton):
        empty = mask_utils.decode(
            {"size": [HEIGHT, WIDTH], "counts": annotation["segmentation"]["counts"].encode()}
        )
        assert empty.shape == (HEIGHT, WIDTH) and not empty.any()


def test_bitmask_decodes_to_the_same_pixels():
    bitmask = by_object(convert(image_row())[1])["o-mask"]
    expected = sky_mask()
    decoded = mask_utils.decode(
        {"size": bitmask["segmentation"]["size"], "counts": bitmask["segmentation"]["counts"].encode()}
    )
    assert (decoded.astype(bool) == expected).all()
    assert bitmask["iscrowd"] == 1
    assert bitmask["area"] == int(expected.sum())
    assert bitmask["bbox"] == [0, 0, 200, 45]


def test_bitmask_with_offset_is_placed_and_clipped():
    row = image_row()
    small = np.zeros((4, 6), dtype=bool)
    small[1:3, 2:6] = True
    from tests.coco.label_data import bitmask_json, obj

    encoded = bitmask_json(small)
    encoded.update(top=HEIGHT - 2, left=WIDTH - 4)
    unit = row["data_units"]["dh-image"]
    unit["labels"]["objects"] = [obj("bitmask", "fh-mask", "o-offset", bitmask=encoded)]
    annotation = convert(row)[1]["annotations"][0]
    decoded = mask_utils.decode(
        {"size": [HEIGHT, WIDTH], "counts": annotation["segmentation"]["counts"].encode()}
    )
    expected = np.zeros((HEIGHT, WIDTH), dtype=bool)
    expected[HEIGHT - 1, WIDTH - 2 :] = True  # row 1 of the mask; rows 2-3 fall below the image
    assert (decoded.astype(bool) == expected).all()
    assert annotation["area"] == 2


def test_image_carries_title_size_and_classifications():
    _, document = convert(image_row())
    (image,) = document["images"]
    assert image["file_name"] == "street.jpg"
    assert (image["width"], image["height"]) == (WIDTH, HEIGHT)
    assert image["coco_url"] == "https://example.invalid/street.jpg"
    assert image["encord_label_hash"] == "lh-image"
    assert image["encord_classifications"] == [
        {
            "classification_hash": "c-weather",
            "feature_hash": "cf-weather",
            "name": "weather",
            "answers": [
                {
                    "name": "weather",
                    "feature_hash": "a-weather",
                    "answers": [{"name": "sunny", "value": "sunny", "featureHash": "a-sunny"}],
                }
            ],
            "global": True,
        }
    ]


def test_video_frames_become_images_with_objects_and_classifications():
    _converter, document = convert(video_row())
    frames = [(image["encord_frame"], image["file_name"]) for image in document["images"]]
    assert frames == [(0, "drive.mp4/000000.jpg"), (2, "drive.mp4/000002.jpg"), (3, "drive.mp4/000003.jpg")]
    boxes = document["annotations"]
    assert [b["image_id"] for b in boxes] == [1, 2]
    assert [b["bbox"] for b in boxes] == [[0.0, 0.0, 64.0, 48.0], [64.0, 0.0, 64.0, 48.0]]
    assert {b["encord_object_hash"] for b in boxes} == {"o-track"}
    assert "encord_classifications" not in document["images"][0]
    assert [c["classification_hash"] for c in document["images"][2]["encord_classifications"]] == ["c-night"]
    assert document["images"][2]["encord_classifications"][0]["answers"][0]["answers"] == "yes"


def test_image_group_gives_one_image_per_unit_in_sequence_order():
    _, document = convert(image_group_row())
    assert [(i["file_name"], i["width"], i["encord_frame"]) for i in document["images"]] == [
        ("page-0.png", 50, 0),
        ("page-1.png", 51, 1),
        ("page-2.png", 52, 2),
    ]
    assert [(a["image_id"], a["keypoints"]) for a in document["annotations"]] == [
        (1, [25.0, 20.0, 2]),
        (3, [26.0, 20.0, 2]),
    ]


def test_object_class_filter_drops_other_objects():
    converter, document = convert(image_row(), object_classes=["sky"])
    assert [a["encord_object_hash"] for a in document["annotations"]] == ["o-mask"]
    assert converter.stats.skipped_unknown_objects == 7


def test_unsupported_data_and_shapes_are_counted_not_converted():
    row = image_row()
    row["data_units"]["dh-image"]["labels"]["objects"].append(
        {"objectHash": "o-cuboid", "featureHash": "fh-box", "shape": "cuboid", "cuboid": {}}
    )
    audio = {**image_row("lh-audio"), "data_type": "audio"}
    converter, _document = convert(row, audio)
    stats = converter.stats.as_dict()
    assert stats["skipped_unsupported_shapes"] == 1
    assert stats["skipped_unsupported_data"] == 1
    assert stats["images"] == 1 and stats["annotations"] == 8
    assert stats["annotations_per_category"] == {
        "car": 1,
        "boat": 1,
        "field": 2,
        "road": 1,
        "nose": 1,
        "person": 1,
        "sky": 1,
    }


def test_a_malformed_object_is_skipped_and_counted_the_rest_of_its_row_converted():
    row = image_row()
    objects = row["data_units"]["dh-image"]["labels"]["objects"]
    objects.append(
        {
            "objectHash": "o-bad-box",
            "featureHash": "fh-box",
            "shape": "bounding_box",
            "boundingBox": {"x": 0.1, "y": "high", "w": 0.1, "h": 0.1},
        }
    )
    objects.append(
        {
            "objectHash": "o-no-y",
            "featureHash": "fh-poly",
            "shape": "polygon",
            "polygon": {"0": {"x": 0.1}, "1": {"x": 0.2, "y": 0.2}, "2": {"x": 0.3, "y": 0.1}},
        }
    )
    objects.append({"objectHash": "o-unknown", "featureHash": "fh-other", "shape": "polygon", "polygon": 7})
    objects.append(
        {"objectHash": "o-2-points", "featureHash": "fh-poly", "polygon": points(0.1, 0.1, 0.2, 0.2)}
    )
    objects.append({"objectHash": "o-no-box", "featureHash": "fh-box", "shape": "bounding_box"})
    objects.append({"objectHash": "o-no-mask", "featureHash": "fh-mask", "shape": "bitmask"})
    converter, document = convert(row)
    stats = converter.stats.as_dict()
    assert stats["skipped_invalid_geometry"] == 5 and stats["skipped_unknown_objects"] == 1
    assert sorted(by_object(document)) == sorted(o["objectHash"] for o in image_objects())
    reference = convert(image_row())[1]
    assert document["annotations"] == reference["annotations"], "the valid objects convert as before"


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_coordinates_that_are_not_finite_numbers_are_skipped_and_counted(bad):
    """Text such as "NaN" decodes to a float that is not finite: no shape may write it as a coordinate."""
    row = image_row()
    extra = [
        obj("bounding_box", "fh-box", "o-nf-box", boundingBox={"x": bad, "y": 0.2, "w": 0.25, "h": 0.5}),
        obj(
            "rotatable_bounding_box",
            "fh-rbb",
            "o-nf-rbb",
            rotatableBoundingBox={"x": 0.5, "y": bad, "w": 0.2, "h": 0.2, "theta": 0.0},
        ),
        obj("polygon", "fh-poly", "o-nf-poly", polygon=points(0.1, 0.1, bad, 0.1, 0.4, 0.5)),
        obj("polygon", "fh-poly", "o-nf-rings", polygons=[[[0.1, 0.1, 0.4, 0.1, 0.4, bad]]]),
        obj("polyline", "fh-line", "o-nf-line", polyline=points(0.0, bad, 0.5, 0.5)),
        obj("point", "fh-point", "o-nf-point", point={"0": {"x": bad, "y": 0.75}}),
        obj(
            "skeleton",
            "fh-skel",
            "o-nf-skel",
            skeleton={"0": {"x": bad, "y": 0.3, "name": "foot", "featureHash": "v-foot"}},
        ),
    ]
    row["data_units"]["dh-image"]["labels"]["objects"] += extra
    converter, document = convert(row)
    assert converter.stats.as_dict()["skipped_invalid_geometry"] == len(extra)
    assert document["annotations"] == convert(image_row())[1]["annotations"]


def test_numbers_given_as_text_are_read_as_numbers():
    row = image_row()
    unit = row["data_units"]["dh-image"]
    unit["width"], unit["height"] = str(WIDTH), str(HEIGHT)
    for labelled in unit["labels"]["objects"]:
        if "boundingBox" in labelled:
            labelled["boundingBox"] = {key: str(value) for key, value in labelled["boundingBox"].items()}
    assert convert(row)[1]["annotations"] == convert(image_row())[1]["annotations"]


def test_something_that_is_not_a_label_row_is_counted_not_converted():
    broken = {**image_row("lh-broken"), "data_units": ["not", "units"]}
    converter, document = convert(broken, image_row())
    assert converter.stats.skipped_invalid_rows == 1
    assert {image["encord_label_hash"] for image in document["images"]} == {"lh-image"}


def test_a_bundle_is_decoded_whole_or_left_to_plain_json():
    bundle = {"status": 200, "response": [image_row(), video_row()]}
    rows = decode_bundle(orjson.dumps(bundle))
    assert [row.label_hash for row in rows] == ["lh-image", video_row()["label_hash"]]
    assert convert(*rows)[1] == convert(image_row(), video_row())[1]
    broken = {"status": 200, "response": [image_row(), {**image_row("lh-broken"), "data_units": 3}]}
    assert decode_bundle(orjson.dumps(broken)) is None, "the caller parses it as plain JSON instead"
    error = {"status": 404, "response": ["RESOURCE_NOT_FOUND_ERROR"]}
    assert decode_bundle(orjson.dumps(error)) is None


def test_pycocotools_loads_the_export_and_cocoeval_scores_it_against_itself(tmp_path):
    converter = CocoConverter(ONTOLOGY)
    out = io.BytesIO()
    with CocoStreamWriter(out, info={"description": "test"}, categories=converter.categories) as writer:
        for row in (image_row(), video_row(), image_group_row()):
            writer.add(*converter.convert_label_row(row))
    path = tmp_path / "coco.json"
    path.write_bytes(out.getvalue())
    ground_truth = COCO(str(path))
    assert len(ground_truth.getImgIds()) == 1 + 3 + 3
    assert len(ground_truth.getAnnIds()) == 8 + 2 + 2
    assert 0 not in ground_truth.anns

    for iou_type in ("bbox", "segm", "keypoints"):
        results = [
            {**annotation, "score": 1.0}
            for annotation in ground_truth.dataset["annotations"]
            if iou_type != "keypoints" or "keypoints" in annotation
        ]
        detections = ground_truth.loadRes(copy.deepcopy(results))
        evaluation = COCOeval(ground_truth, detections, iou_type)
        if iou_type == "keypoints":
            # COCOeval scores one keypoint layout at a time: the 3-vertex skeleton.
            evaluation.params.catIds = [6]
            evaluation.params.kpt_oks_sigmas = np.array([0.05, 0.05, 0.05])
        else:
            # Shapes with an area only: zero-area boxes and empty masks cannot overlap anything.
            evaluation.params.catIds = [1, 2, 3, 7]
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
        assert evaluation.stats[0] == pytest.approx(1.0), iou_type


def test_stream_writer_writes_in_large_chunks_and_matches_the_dict():
    converter = CocoConverter(ONTOLOGY)
    rows = [image_row(f"lh-{i}", f"dh-{i}") for i in range(200)]

    class CountingFile(io.BytesIO):
        sizes: list[int] = []

        def write(self, data):
            self.sizes.append(len(data))
            return super().write(data)

    out = CountingFile()
    with CocoStreamWriter(out, info={}, categories=converter.categories, chunk_size=64 * 1024) as writer:
        for row in rows:
            writer.add(*converter.convert_label_row(row))
    assert all(size >= 64 * 1024 for size in out.sizes[:-1])
    assert len(out.sizes) < len(out.getvalue()) // (64 * 1024) + 2
    document = orjson.loads(out.getvalue())
    assert list(document) == ["info", "categories", "images", "annotations"]
    assert len(document["images"]) == 200 and len(document["annotations"]) == 1600
    assert [a["id"] for a in document["annotations"]] == list(range(1, 1601))
