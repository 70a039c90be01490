"""Operators for Encord projects and their users: create, get, list, add users, list users, list groups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_encord.hooks.inputs import validate_emails, validate_user_role, validate_uuid
from airflow_provider_encord.links.encord import EncordProjectLink
from airflow_provider_encord.operators.base import (
    EncordBaseOperator,
    check_static,
    optional_uuid,
    require_str,
    str_list,
    uuid_list,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


def _emails(value: Any) -> list[str]:
    """E-mail addresses from a list, one address, or a list rendered as text."""
    return validate_emails(str_list(value, "user_emails") if isinstance(value, str) else value)


class CreateProjectOperator(EncordBaseOperator):
    """
    Create an Encord project over one or more datasets, or find the one a previous run created.

    With ``reuse_existing=True`` (the default) a project with exactly this title is returned instead of a
    second one being made, so a retried task does not leave duplicates.

    :param title: The project title (templated).
    :param dataset_hashes: The datasets to annotate: a list of hashes, or one (templated; an XCom
        pulled as text works).
    :param description: An optional description (templated).
    :param ontology_hash: The ontology to use (templated).
    :param reuse_existing: Return an existing project with the same title instead of creating one.
    :param encord_conn_id: The Airflow connection to Encord.
    :return: ``{"project_hash", "created"}``.
    """

    template_fields: Sequence[str] = (
        "encord_conn_id",
        "title",
        "dataset_hashes",
        "description",
        "ontology_hash",
    )
    operator_extra_links = (EncordProjectLink(),)

    def __init__(
        self,
        *,
        title: str,
        dataset_hashes: list[str] | str,
        description: str | None = None,
        ontology_hash: str | None = None,
        reuse_existing: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_static(title, require_str, "title")
        check_static(dataset_hashes, uuid_list, "dataset_hashes")
        check_static(ontology_hash, optional_uuid, "ontology_hash")
        self.title = title
        self.dataset_hashes = dataset_hashes
        self.description = description
        self.ontology_hash = ontology_hash
        self.reuse_existing = reuse_existing

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            title = require_str(self.title, "title")
            dataset_hashes = uuid_list(self.dataset_hashes, "dataset_hashes")
            ontology_hash = optional_uuid(self.ontology_hash, "ontology_hash")
        result = self.hook.create_project(
            title=title,
            dataset_hashes=dataset_hashes,
            description=self.description,
            ontology_hash=ontology_hash,
            reuse_existing=self.reuse_existing,
        )
        self.log.info(
            "%s project %s (%s)",
            "Created" if result.get("created") else "Reusing",
            result.get("project_hash"),
            title,
        )
        self.persist_links(context, project_hash=result.get("project_hash"))
        return result


class GetProjectOperator(EncordBaseOperator):
    """
    Read one Encord project's metadata.

    :param project_hash: The project hash (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: The project as a JSON-ready dict (hash, title, ontology hash, status, ...).
    """

    template_fields: Sequence[str] = ("encord_conn_id", "project_hash")
    operator_extra_links = (EncordProjectLink(),)

    def __init__(self, *, project_hash: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_static(project_hash, validate_uuid, "project_hash")
        self.project_hash = project_hash

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            project_hash = validate_uuid(self.project_hash, "project_hash")
        self.persist_links(context, project_hash=project_hash)
        return self.hook.get_project(project_hash)


class ListProjectsOperator(EncordBaseOperator):
    """
    List the Encord projects the connection's user can see.

    :param title_like: Only projects whose title contains this text (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: The hook's listing, a JSON-ready dict.
    """

    template_fields: Sequence[str] = ("encord_conn_id", "title_like")

    def __init__(self, *, title_like: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title_like = title_like

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.list_projects(title_like=self.title_like or None)


class AddProjectUsersOperator(EncordBaseOperator):
    """
    Add users to an Encord project with one role.

    A user who is already on the project keeps the role they have; running the task twice is harmless.

    :param project_hash: The project hash (templated).
    :param user_emails: The users' e-mail addresses: a list or one address (templated).
    :param user_role: One of ``annotator``, ``reviewer``, ``annotator_reviewer``, ``team_manager``, ``admin``,
        ``viewer`` (templated, any case).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: ``{"users_added": [{"user_email", "user_role"}]}``.
    """

    template_fields: Sequence[str] = ("encord_conn_id", "project_hash", "user_emails", "user_role")
    operator_extra_links = (EncordProjectLink(),)

    def __init__(
        self, *, project_hash: str, user_emails: list[str] | str, user_role: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        check_static(project_hash, validate_uuid, "project_hash")
        check_static(user_emails, _emails)
        check_static(user_role, validate_user_role)
        self.project_hash = project_hash
        self.user_emails = user_emails
        self.user_role = user_role

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            project_hash = validate_uuid(self.project_hash, "project_hash")
            emails = _emails(self.user_emails)
            role = validate_user_role(self.user_role)
        self.persist_links(context, project_hash=project_hash)
        result = self.hook.add_users_to_project(project_hash=project_hash, user_emails=emails, user_role=role)
        self.log.info(
            "Project %s: %d user(s) now hold a role", project_hash, len(result.get("users_added", []))
        )
        return result


class ListProjectUsersOperator(EncordBaseOperator):
    """
    List the users of an Encord project with their roles.

    :param project_hash: The project hash (templated).
    :param encord_conn_id: The Airflow connection to Encord.
    :return: The hook's listing, a JSON-ready dict.
    """

    template_fields: Sequence[str] = ("encord_conn_id", "project_hash")
    operator_extra_links = (EncordProjectLink(),)

    def __init__(self, *, project_hash: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_static(project_hash, validate_uuid, "project_hash")
        self.project_hash = project_hash

    def execute(self, context: Context) -> dict[str, Any]:
        with self.invalid_input_fails():
            project_hash = validate_uuid(self.project_hash, "project_hash")
        self.persist_links(context, project_hash=project_hash)
        return self.hook.list_project_users(project_hash)


class ListGroupsOperator(EncordBaseOperator):
    """
    List the user groups of the connection's Encord organisation (every page).

    :param encord_conn_id: The Airflow connection to Encord.
    :return: The hook's listing, a JSON-ready dict.
    """

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.list_groups()
