"""Validation of typed input: accepted spellings, and errors that list the accepted values."""

from __future__ import annotations

import json

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_encord.exceptions import EncordInvalidInputError
from airflow_provider_encord.hooks.inputs import (
    ANNOTATION_TASK_STATUSES,
    LABEL_STATUSES,
    STORAGE_LOCATIONS,
    build_upload_registration,
    like_pattern,
    validate_datetime,
    validate_emails,
    validate_pathway_name,
    validate_statuses,
    validate_storage_location,
    validate_user_role,
    validate_uuid,
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("annotator", "ANNOTATOR"),
        ("Reviewer", "REVIEWER"),
        ("ADMIN", "ADMIN"),
        ("annotator_reviewer", "ANNOTATOR_REVIEWER"),
        ("Annotator-Reviewer", "ANNOTATOR_REVIEWER"),
        ("team manager", "TEAM_MANAGER"),
        (" viewer ", "VIEWER"),
    ],
)
def test_user_role_any_case(typed, expected):
    from encord.utilities.project_user import ProjectUserRole

    assert validate_user_role(typed) == expected
    assert ProjectUserRole[expected].name == expected


@pytest.mark.parametrize("bad", ["owner", "", None, 1, "unknown"])
def test_user_role_error_lists_accepted_values(bad):
    with pytest.raises(EncordInvalidInputError) as info:
        validate_user_role(bad)
    message = str(info.value)
    assert "user_role" in message and repr(bad) in message
    for role in ("annotator", "reviewer", "admin", "annotator_reviewer", "team_manager", "viewer"):
        assert role in message
    assert isinstance(info.value, AirflowFailException)


def test_storage_locations_match_the_sdk_enum():
    from encord.orm.dataset import StorageLocation

    for name in STORAGE_LOCATIONS:
        assert StorageLocation[name].name == name
    assert validate_storage_location(None) == "CORD_STORAGE"
    assert validate_storage_location("s3-compatible") == "S3_COMPATIBLE"
    assert validate_storage_location("gcp") == "GCP"
    with pytest.raises(EncordInvalidInputError, match="CORD_STORAGE, AWS, GCP, AZURE, S3_COMPATIBLE"):
        validate_storage_location("dropbox")


def test_status_names_match_the_sdk_enums():
    from encord.orm.label_row import AnnotationTaskStatus, LabelStatus

    assert set(ANNOTATION_TASK_STATUSES) == {s.name for s in AnnotationTaskStatus}
    assert set(LABEL_STATUSES) == {s.name for s in LabelStatus} - {"MISSING_LABEL_STATUS"}


def test_statuses_accept_names_and_enums_in_any_case():
    from encord.orm.label_row import LabelStatus

    assert validate_statuses(None) is None
    assert validate_statuses("completed") == ["COMPLETED"]
    assert validate_statuses(["labelled", LabelStatus.REVIEWED]) == ["LABELLED", "REVIEWED"]
    with pytest.raises(EncordInvalidInputError) as info:
        validate_statuses(["COMPLETED", "FINISHED"], "target_statuses")
    assert "target_statuses='FINISHED'" in str(info.value)
    assert "REVIEWED_TWICE" in str(info.value) and "QUEUED" in str(info.value)
    with pytest.raises(EncordInvalidInputError, match="empty"):
        validate_statuses([])


def test_pathway_names():
    assert validate_pathway_name(None) is None
    assert validate_pathway_name("Submit") == "submit"
    assert validate_pathway_name("APPROVE") == "approve"
    with pytest.raises(EncordInvalidInputError, match="submit, approve, reject"):
        validate_pathway_name("skip")


def test_uuid_emails_and_datetimes():
    assert (
        validate_uuid(" 7692C442-0AC6-5945-82A1-70290E6D6CFF ", "p") == "7692c442-0ac6-5945-82a1-70290e6d6cff"
    )
    with pytest.raises(EncordInvalidInputError, match="project_hash='not-a-uuid'"):
        validate_uuid("not-a-uuid", "project_hash")
    assert validate_emails("a@example.com") == ["a@example.com"]
    with pytest.raises(EncordInvalidInputError, match="'bob'"):
        validate_emails(["a@example.com", "bob"])
    parsed = validate_datetime("2024-05-01T00:00:00Z", "edited_after")
    assert parsed.isoformat() == "2024-05-01T00:00:00+00:00"
    assert validate_datetime("2024-05-01", "edited_after").tzinfo is not None
    with pytest.raises(EncordInvalidInputError, match="edited_after"):
        validate_datetime("yesterday", "edited_after")


def test_like_pattern_is_a_partial_match_unless_already_a_pattern():
    assert like_pattern("street") == "%street%"
    assert like_pattern("team_a") == r"%team\_a%", "an underscore in plain text is not a wildcard"
    assert like_pattern("a\\b") == r"%a\\b%"
    assert like_pattern("street%") == "street%"
    assert like_pattern("") is None
    assert like_pattern(None) is None


def test_urls_are_sorted_by_media_type():
    registration = build_upload_registration(
        [
            "s3://bucket/a.JPG",
            "gs://bucket/clip.mp4",
            "https://storage.example.com/scan.nii.gz?X-Amz-Signature=abc",
            "https://storage.example.com/doc.pdf",
            "s3://bucket/voice.wav",
            "s3://bucket/readme.txt",
            "s3://bucket/b.png",
        ]
    )
    assert registration["images"] == [{"objectUrl": "s3://bucket/a.JPG"}, {"objectUrl": "s3://bucket/b.png"}]
    assert registration["videos"] == [{"objectUrl": "gs://bucket/clip.mp4"}]
    assert registration["nifti"] == [
        {"objectUrl": "https://storage.example.com/scan.nii.gz?X-Amz-Signature=abc"}
    ]
    assert registration["pdf"] == [{"objectUrl": "https://storage.example.com/doc.pdf"}]
    assert registration["audio"] == [{"objectUrl": "s3://bucket/voice.wav"}]
    assert registration["text"] == [{"objectUrl": "s3://bucket/readme.txt"}]
    assert registration["skip_duplicate_urls"] is True


def test_registration_objects_pass_through_and_are_checked():
    ready = {"image_groups": [{"title": "g", "imageUrls": ["s3://b/1.jpg"]}]}
    expected = {**ready, "skip_duplicate_urls": True}
    assert build_upload_registration(ready) == expected, "a retried upload skips what the first try added"
    assert build_upload_registration(json.dumps(ready)) == expected
    assert ready == {"image_groups": [{"title": "g", "imageUrls": ["s3://b/1.jpg"]}]}, "input not mutated"
    chosen = {**ready, "skip_duplicate_urls": False}
    assert build_upload_registration(chosen) == chosen, "an explicit choice is kept"
    with pytest.raises(EncordInvalidInputError, match="'photos'"):
        build_upload_registration({"photos": [{"objectUrl": "s3://b/1.jpg"}]})
    with pytest.raises(EncordInvalidInputError, match="without files"):
        build_upload_registration({"images": []})


@pytest.mark.parametrize(
    ("file_urls", "fragment"),
    [
        (["/home/me/a.jpg"], "local paths"),
        (["s3://bucket/archive.zip"], "media type"),
        ([], "non-empty"),
        ("s3://bucket/scan.dcm", "registration object"),
    ],
)
def test_bad_file_urls_are_rejected(file_urls, fragment):
    with pytest.raises(EncordInvalidInputError, match=fragment):
        build_upload_registration(file_urls)
