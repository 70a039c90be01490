"""``title_like`` and ``data_title_like`` follow PostgreSQL's LIKE, backslash escapes included."""

from __future__ import annotations

import pytest
from encord.exceptions import InvalidArgumentsError
from encord.orm.dataset import StorageLocation

from airflow_provider_encord.testing.emulator._store import like
from tests.emulator.conftest import sdk_client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("%", "", True),
        ("a_c", "abc", True),
        ("a_c", "ac", False),
        ("A%", "abc", True),  # ILIKE: case-insensitive
        ("100\\%", "100%", True),
        ("100\\%", "1000", False),
        ("a\\_c", "a_c", True),
        ("a\\_c", "abc", False),
        ("C:\\\\data", "C:\\data", True),
        ("C:\\\\data", "C:data", False),
        ("\\a\\b", "ab", True),  # an escaped ordinary character is itself
        ("%\\%%", "50% off", True),
        ("%\\%%", "50 off", False),
        ("a.c", "abc", False),  # regular-expression characters are literal
        ("(x)+", "(x)+", True),
    ],
)
def test_like_has_postgres_semantics(pattern, value, matches):
    assert like(pattern, value) is matches


def test_a_pattern_ending_with_the_escape_character_is_an_error():
    with pytest.raises(ValueError, match="must not end with the escape character"):
        like("abc\\", "abc")


def test_v2_title_like_honours_escapes(client):
    for title in ["Cars 100%", "Cars 1000", "cars_v2", "carsXv2", "C:\\data"]:
        client.create_dataset(title, StorageLocation.AWS)

    def titles(pattern):
        return sorted(d["dataset"].title for d in client.get_datasets(title_like=pattern))

    assert titles("Cars 100%") == ["Cars 100%", "Cars 1000"]
    assert titles("Cars 100\\%") == ["Cars 100%"]
    assert titles("cars_v2") == ["carsXv2", "cars_v2"]
    assert titles("%s\\_v%") == ["cars_v2"]
    assert titles("C:\\\\%") == ["C:\\data"]
    with pytest.raises(InvalidArgumentsError, match="escape character"):
        client.get_datasets(title_like="Cars\\")


def test_rpc_data_title_like_honours_escapes(encord_emulator_factory):
    emu = encord_emulator_factory(seed="demo", upload_polls=0)
    client = sdk_client(emu)
    dataset = client.get_dataset(emu.ids["dataset_hash"], include_data_rows=False)
    titles = ["50% crop.jpg", "50x crop.jpg", "crop_1.jpg", "cropX1.jpg"]
    files = {"images": [{"objectUrl": f"s3://bucket/{i}.jpg", "title": t} for i, t in enumerate(titles)]}
    job = dataset.add_private_data_to_dataset_start(emu.ids["integration_id"], files)
    assert dataset.add_private_data_to_dataset_get_result(job, timeout_seconds=0).status.value == "DONE"
    project = client.get_project(emu.ids["project_hash"])

    def found(pattern):
        return sorted(r.data_title for r in project.list_label_rows_v2(data_title_like=pattern))

    assert found("50% crop.jpg") == ["50% crop.jpg", "50x crop.jpg"]
    assert found("50\\% crop.jpg") == ["50% crop.jpg"]
    assert found("crop_1%") == ["cropX1.jpg", "crop_1.jpg"]
    assert found("crop\\_1%") == ["crop_1.jpg"]
    assert found("street\\_1_.jpg") == ["street_10.jpg", "street_11.jpg"]
    with pytest.raises(InvalidArgumentsError, match="escape character"):
        project.list_label_rows_v2(data_title_like="crop\\")
