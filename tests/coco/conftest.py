"""Fixtures shared by the export tests."""

from __future__ import annotations

import pytest
from encord import EncordUserClient
from encord.http.constants import RequestsSettings

#: One retry, no waiting: fault tests stay fast. A body cut off halfway is never retried.
SCALE_SETTINGS = RequestsSettings(
    max_retries=1, backoff_factor=0.0, connection_retries=0, connect_timeout=5, read_timeout=30
)


@pytest.fixture
def scale_project_factory(encord_emulator_factory):
    """``make(images, objects)``: a ``scale`` emulator and its project as the SDK sees it."""

    def make(images: int, objects: int):
        emulator = encord_emulator_factory(seed="scale", scale_images=images, scale_objects=objects)
        scale_client = EncordUserClient.create_with_ssh_private_key(
            emulator.private_key, domain=emulator.url, requests_settings=SCALE_SETTINGS
        )
        project = scale_client.get_project(emulator.ids["project_hash"])
        emulator.clear_requests()
        return emulator, project

    return make


@pytest.fixture
def scale_project(scale_project_factory):
    """A ``scale`` emulator of 60 images with 2 objects each, and its project as the SDK sees it."""
    return scale_project_factory(60, 2)
