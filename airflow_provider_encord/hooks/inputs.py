"""Validation of the values people type into Encord tasks, shared by the hook and the operators.

Nothing here imports the ``encord`` SDK, so operators can validate their static arguments in ``__init__``
at DAG-parse time for free. Every error names the parameter, the value and the accepted values.
"""

from __future__ import annotations

import json
import posixpath
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_encord.exceptions import EncordInvalidInputError

#: Project roles, by the name people type (any case, ``-`` or space for ``_``) -> ``ProjectUserRole`` name.
USER_ROLES = ("annotator", "reviewer", "admin", "annotator_reviewer", "team_manager", "viewer")
#: ``StorageLocation`` names accepted by ``create_dataset``.
STORAGE_LOCATIONS = ("CORD_STORAGE", "AWS", "GCP", "AZURE", "S3_COMPATIBLE")
#: ``encord.orm.label_row.LabelStatus`` names (computed from the labels of a row).
LABEL_STATUSES = (
    "NOT_LABELLED",
    "LABEL_IN_PROGRESS",
    "LABELLED",
    "REVIEW_IN_PROGRESS",
    "REVIEWED",
    "REVIEWED_TWICE",
)
#: ``encord.orm.label_row.AnnotationTaskStatus`` names (the task a row belongs to).
ANNOTATION_TASK_STATUSES = ("QUEUED", "ASSIGNED", "IN_REVIEW", "RETURNED", "COMPLETED")
#: Every status name ``label_statuses`` / ``target_statuses`` accept.
ALL_STATUSES = LABEL_STATUSES + ANNOTATION_TASK_STATUSES
#: Workflow actions ``move_workflow_task`` performs by name.
PATHWAY_NAMES = ("submit", "approve", "reject")

#: File extensions (lower case, with the dot) -> key of Encord's registration JSON.
MEDIA_KEYS_BY_EXTENSION: dict[str, str] = {
    **dict.fromkeys((".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".avif"), "images"),
    **dict.fromkeys((".mp4", ".mov", ".webm", ".avi", ".mkv", ".m4v"), "videos"),
    **dict.fromkeys((".mp3", ".wav", ".flac", ".aac", ".ogg", ".m4a"), "audio"),
    **dict.fromkeys((".txt", ".md", ".html", ".htm", ".xml", ".csv"), "text"),
    ".pdf": "pdf",
    **dict.fromkeys((".nii", ".nii.gz"), "nifti"),
}
#: Keys a ready-made registration object may hold.
REGISTRATION_KEYS = ("images", "videos", "image_groups", "dicom_series", "audio", "text", "pdf", "nifti")


def _fail(param: str, value: Any, accepted: Iterable[str], hint: str = "") -> EncordInvalidInputError:
    listed = ", ".join(accepted)
    return EncordInvalidInputError(f"Invalid {param}={value!r}: accepted values are {listed}.{hint}")


def validate_user_role(user_role: Any) -> str:
    """Return the ``ProjectUserRole`` name of a role typed in any case (``annotator`` -> ``ANNOTATOR``).

    :param user_role: one of annotator, reviewer, admin, annotator_reviewer, team_manager, viewer.
    """
    if isinstance(user_role, str):
        key = re.sub(r"[\s-]+", "_", user_role.strip()).lower()
        if key in USER_ROLES:
            return key.upper()
    raise _fail("user_role", user_role, USER_ROLES)


def validate_storage_location(storage_location: Any) -> str:
    """Return the ``StorageLocation`` member name (``None`` means ``CORD_STORAGE``).

    :param storage_location: CORD_STORAGE, AWS, GCP, AZURE or S3_COMPATIBLE, any case.
    """
    if storage_location is None:
        return "CORD_STORAGE"
    if isinstance(storage_location, str):
        key = re.sub(r"[\s-]+", "_", storage_location.strip()).upper()
        if key in STORAGE_LOCATIONS:
            return key
    raise _fail("storage_location", storage_location, STORAGE_LOCATIONS)


def validate_statuses(statuses: Any, param: str = "label_statuses") -> list[str] | None:
    """Return upper-case status names, or ``None`` when no filter was given.

    :param statuses: a status name or a list of them: Encord's ``LabelStatus`` and ``AnnotationTaskStatus``
        names (NOT_LABELLED ... REVIEWED_TWICE, QUEUED ... COMPLETED), any case.
    :param param: the parameter name to quote in the error.
    """
    if statuses is None:
        return None
    if isinstance(statuses, str):
        statuses = [statuses]
    if not isinstance(statuses, Iterable) or isinstance(statuses, Mapping):
        raise _fail(param, statuses, ALL_STATUSES, " Pass a list of status names.")
    names = []
    for status in statuses:
        name = getattr(status, "name", status)
        if not isinstance(name, str) or name.strip().upper() not in ALL_STATUSES:
            raise _fail(param, status, ALL_STATUSES)
        names.append(name.strip().upper())
    if not names:
        raise EncordInvalidInputError(f"{param} is an empty list: pass None for no filter, or status names.")
    return names


def validate_pathway_name(pathway_name: Any) -> str | None:
    """Return ``submit``, ``approve`` or ``reject`` (or ``None``).

    :param pathway_name: the action to perform on a workflow task, any case.
    """
    if pathway_name is None:
        return None
    if isinstance(pathway_name, str) and pathway_name.strip().lower() in PATHWAY_NAMES:
        return pathway_name.strip().lower()
    raise _fail("pathway_name", pathway_name, PATHWAY_NAMES)


def validate_uuid(value: Any, param: str) -> str:
    """Return the canonical string form of a UUID, or raise naming ``param``."""
    try:
        return str(uuid.UUID(str(value).strip()))
    except (ValueError, AttributeError, TypeError):
        raise EncordInvalidInputError(
            f"Invalid {param}={value!r}: expected a UUID such as 00000000-0000-0000-0000-000000000000."
        ) from None


def validate_hash_list(values: Any, param: str) -> list[str]:
    """Return a non-empty list of identifier strings (a single string is accepted as a one-item list)."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Sequence) or not values or not all(isinstance(v, str) and v for v in values):
        raise EncordInvalidInputError(
            f"Invalid {param}={values!r}: expected a non-empty list of identifiers."
        )
    return [v.strip() for v in values]


def validate_emails(user_emails: Any) -> list[str]:
    """Return a non-empty list of e-mail addresses (a single string is accepted)."""
    if isinstance(user_emails, str):
        user_emails = [user_emails]
    if not isinstance(user_emails, Sequence) or not user_emails:
        raise EncordInvalidInputError(
            f"Invalid user_emails={user_emails!r}: expected a non-empty list of e-mail addresses."
        )
    emails = []
    for email in user_emails:
        if not isinstance(email, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email.strip()):
            raise EncordInvalidInputError(
                f"Invalid e-mail address {email!r} in user_emails: expected name@domain.tld."
            )
        emails.append(email.strip())
    return emails


def validate_datetime(value: Any, param: str) -> datetime | None:
    """Parse an ISO-8601 string or a ``datetime``; naive values are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise EncordInvalidInputError(
                f"Invalid {param}={value!r}: expected an ISO-8601 date-time such as 2024-05-01T00:00:00Z."
            ) from None
    if not isinstance(value, datetime):
        raise EncordInvalidInputError(f"Invalid {param}={value!r}: expected a datetime or ISO-8601 string.")
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def like_pattern(text: str | None) -> str | None:
    """Turn user text into an SQL LIKE pattern matching it anywhere (``cat`` -> ``%cat%``).

    In plain text, ``_`` and ``\\`` are escaped with a backslash (LIKE's default escape character), so that
    ``team_a`` matches only titles containing ``team_a``. Text that holds a ``%`` is taken as a LIKE pattern
    and passed unchanged, wildcards and all.
    """
    if text is None or text == "":
        return None
    if "%" in text:
        return text
    return "%" + text.replace("\\", "\\\\").replace("_", "\\_") + "%"


def _media_key(url: str) -> str | None:
    path = urlsplit(url).path.lower()
    if path.endswith(".nii.gz"):
        return "nifti"
    return MEDIA_KEYS_BY_EXTENSION.get(posixpath.splitext(path)[1])


def build_upload_registration(file_urls: Any) -> dict[str, Any]:
    """Turn ``file_urls`` into Encord's registration JSON for a private-data upload.

    :param file_urls: either a list of cloud URLs (``s3://``, ``gs://``, ``https://`` ...), each sorted into
        ``images``, ``videos``, ``audio``, ``text``, ``pdf`` or ``nifti`` by its file extension; or a ready
        registration object (a dict, or its JSON text) with keys among ``images``, ``videos``,
        ``image_groups``, ``dicom_series``, ``audio``, ``text``, ``pdf``, ``nifti``. Registrations set
        ``skip_duplicate_urls`` (unless a registration object sets it itself) so that a retried upload does
        not register the same files twice.
    """
    if isinstance(file_urls, str) and file_urls.strip().startswith(("{", "[")):
        try:
            file_urls = json.loads(file_urls)
        except ValueError:
            raise EncordInvalidInputError("file_urls looks like JSON but does not parse.") from None
    if isinstance(file_urls, Mapping):
        return _validate_registration(file_urls)
    if isinstance(file_urls, str):
        file_urls = [file_urls]
    if not isinstance(file_urls, Sequence) or not file_urls:
        raise EncordInvalidInputError(
            f"Invalid file_urls={file_urls!r}: expected a non-empty list of cloud URLs or a registration "
            "object."
        )
    registration: dict[str, Any] = {}
    for url in file_urls:
        if not isinstance(url, str) or not urlsplit(url.strip()).scheme or not urlsplit(url.strip()).netloc:
            raise EncordInvalidInputError(
                f"Invalid URL {url!r} in file_urls: expected a cloud URL such as s3://bucket/key.jpg or "
                "https://storage.example.com/key.jpg (local paths cannot be registered)."
            )
        key = _media_key(url.strip())
        if key is None:
            raise EncordInvalidInputError(
                f"Cannot tell the media type of {url!r} in file_urls from its extension; accepted extensions "
                f"are {', '.join(sorted(MEDIA_KEYS_BY_EXTENSION))}. Image groups and DICOM series need a "
                "registration object instead of a URL list."
            )
        registration.setdefault(key, []).append({"objectUrl": url.strip()})
    registration["skip_duplicate_urls"] = True
    return registration


def _validate_registration(registration: Mapping[str, Any]) -> dict[str, Any]:
    unknown = [k for k in registration if k not in (*REGISTRATION_KEYS, "skip_duplicate_urls")]
    if unknown:
        raise _fail("file_urls key", unknown[0], REGISTRATION_KEYS, " (a registration object's keys)")
    if not any(isinstance(registration.get(k), list) and registration[k] for k in REGISTRATION_KEYS):
        raise EncordInvalidInputError(
            "file_urls is a registration object without files: give at least one non-empty list under "
            f"{', '.join(REGISTRATION_KEYS)}."
        )
    return {**registration, "skip_duplicate_urls": registration.get("skip_duplicate_urls", True)}
