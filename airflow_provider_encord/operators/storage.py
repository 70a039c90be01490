"""Operators for Encord Files (storage): create a folder, list folders, list the items of a folder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_encord.hooks.inputs import validate_uuid
from airflow_provider_encord.operators.base import (
    EncordBaseOperator,
    check_static,
    optional_uuid,
    require_str,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class CreateStorageFolderOperator(EncordBaseOperator):
    """
    Create a folder in Encord Files, or find the one a previous run created.

    With ``reuse_existing=True`` (the default) a folder with exactly this name under the same parent is
    returned instead of a second one being made, so a retried task does not leave duplicates.

    :param name: The folder name (templated).
    :param description: An optional description (templated).
    :param parent_folder_uuid: The UUID of the parent folder; top level when omitted (templated).
    :param reuse_existing: Return an existing folder with the same name instead of creating one.
    :param encord_conn_id: The Airflow connection to Encord.
    :return: ``{"name", "uuid", "created"}``.
    """

    template_fields: Sequence[str] = ("encord_conn_id", "name", "description", "parent_folder_uuid")

    def __init__(
        self,
        *,
        name: str,
        description: str | None = None,
        parent_folder_uuid: str | None = None,
        reuse_existing: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_static(name, require_str, "name")
        check_static(parent_folder_uuid, optional_uuid, "parent_folder_uuid")
        self.name = name
        self.description = description
        self.parent_folder_uuid = parent_folder_uuid
        self.reuse_existing = reuse_existing

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            name = require_str(self.name, "name")
            parent = optional_uuid(self.parent_folder_uuid, "parent_folder_uuid")
        result = self.hook.create_storage_folder(
            name=name,
            description=self.description,
            parent_folder_uuid=parent,
            reuse_existing=self.reuse_existing,
        )
        self.log.info(
            "%s storage folder %s (%s)",
            "Created" if result.get("created") else "Reusing",
            result.get("uuid"),
            name,
        )
        return result


class ListStorageFoldersOperator(EncordBaseOperator):
    """
    Find folders in Encord Files, at every level.

    :param search: Only folders whose name contains this text (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: The hook's listing, a JSON-ready dict.
    """

    template_fields: Sequence[str] = ("encord_conn_id", "search")

    def __init__(self, *, search: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.search = search

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.list_storage_folders(search=self.search or None)


class ListStorageItemsOperator(EncordBaseOperator):
    """
    List the items (images, videos, ...) of one folder in Encord Files.

    :param folder_uuid: The folder's UUID (templated).
    :param search: Only items whose name contains this text (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: The hook's listing, a JSON-ready dict.
    """

    template_fields: Sequence[str] = ("encord_conn_id", "folder_uuid", "search")

    def __init__(self, *, folder_uuid: str, search: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_static(folder_uuid, validate_uuid, "folder_uuid")
        self.folder_uuid = folder_uuid
        self.search = search

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            folder_uuid = validate_uuid(self.folder_uuid, "folder_uuid")
        return self.hook.list_storage_items(folder_uuid, search=self.search or None)
