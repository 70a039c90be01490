"""Operators for Encord ontologies: create, get, list."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_encord.hooks.inputs import validate_uuid
from airflow_provider_encord.operators.base import EncordBaseOperator, check_static, require_str

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


def _structure(value: Any) -> dict[str, Any] | None:
    """Return an ontology structure as a dict (a JSON string is parsed), or raise ``ValueError``."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as err:
            raise ValueError(f"structure is not valid JSON: {err}. Pass a dict or a JSON object.") from None
    if not isinstance(value, dict):
        raise ValueError(
            f"structure must be a dict with 'objects' and/or 'classifications', got {type(value).__name__}."
        )
    unknown = sorted(set(value) - {"objects", "classifications", "skeleton_templates", "skeletonTemplates"})
    if unknown:
        raise ValueError(
            f"structure has unknown keys {unknown}; an ontology structure has 'objects', 'classifications' "
            "and optionally 'skeleton_templates'."
        )
    for key in ("objects", "classifications"):
        if not isinstance(value.get(key, []), list):
            raise ValueError(f"structure[{key!r}] must be a list, got {type(value[key]).__name__}.")
    return value


class CreateOntologyOperator(EncordBaseOperator):
    """
    Create an Encord ontology, or find the one a previous run created.

    With ``reuse_existing=True`` (the default) an ontology with exactly this title is returned instead of a
    second one being made, so a retried task does not leave duplicates.

    :param title: The ontology title (templated).
    :param description: An optional description (templated).
    :param structure: The ontology as Encord's structure dict
        (``{"objects": [...], "classifications": [...]}``, the format ``OntologyStructure.to_dict()``
        produces) or that dict as JSON text (templated). Each object needs ``id``, ``name``, ``color``,
        ``shape`` and ``featureNodeHash``. Empty when omitted.
    :param reuse_existing: Return an existing ontology with the same title instead of creating one.
    :param encord_conn_id: The Airflow connection to Encord.
    :return: ``{"ontology_hash", "title", "created"}``.
    """

    template_fields: Sequence[str] = ("encord_conn_id", "title", "description", "structure")

    def __init__(
        self,
        *,
        title: str,
        description: str | None = None,
        structure: dict[str, Any] | str | None = None,
        reuse_existing: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_static(title, require_str, "title")
        check_static(structure, _structure)
        self.title = title
        self.description = description
        self.structure = structure
        self.reuse_existing = reuse_existing

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            title = require_str(self.title, "title")
            structure = _structure(self.structure)
        result = self.hook.create_ontology(
            title=title, description=self.description, structure=structure, reuse_existing=self.reuse_existing
        )
        self.log.info(
            "%s ontology %s (%s)",
            "Created" if result.get("created") else "Reusing",
            result.get("ontology_hash"),
            title,
        )
        return result


class GetOntologyOperator(EncordBaseOperator):
    """
    Read one Encord ontology, including its structure.

    :param ontology_hash: The ontology hash (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: The ontology as a JSON-ready dict (hash, title, structure with objects and classifications).
    """

    template_fields: Sequence[str] = ("encord_conn_id", "ontology_hash")

    def __init__(self, *, ontology_hash: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_static(ontology_hash, validate_uuid, "ontology_hash")
        self.ontology_hash = ontology_hash

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            ontology_hash = validate_uuid(self.ontology_hash, "ontology_hash")
        return self.hook.get_ontology(ontology_hash)


class ListOntologiesOperator(EncordBaseOperator):
    """
    List the Encord ontologies the connection's user can see (every page).

    :param title_like: Only ontologies whose title contains this text (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: The hook's listing, a JSON-ready dict.
    """

    template_fields: Sequence[str] = ("encord_conn_id", "title_like")

    def __init__(self, *, title_like: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title_like = title_like

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.list_ontologies(title_like=self.title_like or None)
