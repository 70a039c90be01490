"""Operators for Encord datasets: create, get, list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_encord.hooks.inputs import validate_storage_location, validate_uuid
from airflow_provider_encord.links.encord import EncordDatasetLink
from airflow_provider_encord.operators.base import EncordBaseOperator, check_static, require_str

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class CreateDatasetOperator(EncordBaseOperator):
    """
    Create an Encord dataset, or find the one a previous run created.

    With ``reuse_existing=True`` (the default) a dataset with exactly this title is returned instead of a
    second one being made, so a retried or re-run task does not leave duplicates; put ``{{ run_id }}`` in the
    title when every run needs its own dataset.

    :param title: The dataset title (templated).
    :param description: An optional description (templated).
    :param storage_location: Where the data lives: ``CORD_STORAGE`` (default), ``AWS``, ``GCP``, ``AZURE`` or
        ``S3_COMPATIBLE`` (templated). Encord decides the storage from the integration used at upload
        time; this is kept for reference.
    :param reuse_existing: Return an existing dataset with the same title instead of creating one.
    :param encord_conn_id: The Airflow connection to Encord.
    :return: ``{"dataset_hash", "title", "created"}``; ``created`` is False for a reused dataset.
    """

    template_fields: Sequence[str] = ("encord_conn_id", "title", "description", "storage_location")
    operator_extra_links = (EncordDatasetLink(),)

    def __init__(
        self,
        *,
        title: str,
        description: str | None = None,
        storage_location: str | None = None,
        reuse_existing: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_static(title, require_str, "title")
        check_static(storage_location, validate_storage_location)
        self.title = title
        self.description = description
        self.storage_location = storage_location
        self.reuse_existing = reuse_existing

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            title = require_str(self.title, "title")
            storage_location = validate_storage_location(self.storage_location or None)
        result = self.hook.create_dataset(
            title=title,
            description=self.description,
            storage_location=storage_location,
            reuse_existing=self.reuse_existing,
        )
        self.log.info(
            "%s dataset %s (%s)",
            "Created" if result.get("created") else "Reusing",
            result.get("dataset_hash"),
            title,
        )
        self.persist_links(context, dataset_hash=result.get("dataset_hash"))
        return result


class GetDatasetOperator(EncordBaseOperator):
    """
    Read one Encord dataset's metadata (not its data rows).

    :param dataset_hash: The dataset hash (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: The dataset as a JSON-ready dict (hash, title, description, ...).
    """

    template_fields: Sequence[str] = ("encord_conn_id", "dataset_hash")
    operator_extra_links = (EncordDatasetLink(),)

    def __init__(self, *, dataset_hash: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_static(dataset_hash, validate_uuid, "dataset_hash")
        self.dataset_hash = dataset_hash

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            dataset_hash = validate_uuid(self.dataset_hash, "dataset_hash")
        self.persist_links(context, dataset_hash=dataset_hash)
        return self.hook.get_dataset(dataset_hash)


class ListDatasetsOperator(EncordBaseOperator):
    """
    List the Encord datasets the connection's user can see.

    :param title_like: Only datasets whose title contains this text (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: The hook's listing, a JSON-ready dict.
    """

    template_fields: Sequence[str] = ("encord_conn_id", "title_like")

    def __init__(self, *, title_like: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title_like = title_like

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.list_datasets(title_like=self.title_like or None)
