"""A local Encord API that the unmodified ``encord`` SDK talks to over HTTP.

Test Encord DAGs offline, the way moto serves AWS users::

    from encord import EncordUserClient
    from airflow_provider_encord.testing.emulator import EncordEmulator

    with EncordEmulator(seed="demo") as emu:
        client = EncordUserClient.create_with_ssh_private_key(emu.private_key, domain=emu.url)
        project = client.get_project(emu.ids["project_hash"])

or from a shell: ``python -m airflow_provider_encord.testing.emulator --port 8080 --seed demo``.
In pytest, the ``encord_emulator`` and ``encord_emulator_factory`` fixtures of
``airflow_provider_encord.testing.pytest_plugin`` start one per test.

**Transports.** RPC (``POST /public`` and ``POST /public/user``, the ``{"query_type", "query_method",
"values"}`` envelope) and REST v2 (``/v2/public/...``), served at the root of ``http://127.0.0.1:PORT``.

**Auth.** Ed25519 signatures are verified on both transports (RPC: signature of the SHA-256 of the body;
v2: the RFC 9421 style ``Signature``/``Signature-Input``/``Content-Digest`` headers); the owner's bearer token
is accepted. An unknown key gets HTTP 401: on v2 the SDK raises ``AuthenticationError``, on RPC the envelope
says ``SSH_KEY_NOT_FOUND_ERROR`` (``SshKeyNotFound``); a bad signature gives ``AUTHENTICATION_ERROR``.

**Seeds and ``emu.ids``.** ``demo``: ``project_hash`` (workflow project "Demo project": stages Annotate
(ANNOTATION) -> Review (REVIEW) -> Complete (DONE)), ``manual_qa_project_hash`` ("Legacy QA project"),
``dataset_hash`` ("Demo dataset", 12 images of 640x480, 1280x720 and 1920x1080), ``ontology_hash``
("Demo ontology": bounding box "Car", polygon "Road", point "Pedestrian", radio classification "Weather"),
``stages`` (title -> uuid), ``storage_folder_uuid`` (top folder "Demo data"), ``storage_folders``
(name -> uuid),
``integration_id``, ``data_hashes``, ``label_hashes``, ``group_hashes``, ``annotator_email``, ``owner_email``.
Rows 0-3 are in Annotate (0 and 1 unlabelled), 4-7 in Review, 8-11 in Complete. ``scale``: ``project_hash``,
``dataset_hash``, ``ontology_hash``, ``stages``, ``storage_folder_uuid``: ``scale_images`` images (at most ten
million), each a dataset row, a storage item of the dataset's folder "Scale data" and a labelled row in
Complete, all generated from the image index when asked for: nothing per image is stored, a project created
on the dataset gets generated rows too, and a page of them is made from its page token on.
``empty``: only ``integration_id``.
Identifiers of the seeds are derived from names, so they are the same on every run.

**Workflow.** Submit in an ANNOTATION stage sends a task to Review, approve in Review sends it to Complete,
reject sends it back to Annotate; ``move`` goes anywhere. An action on a task of another stage gets HTTP 400
(``InvalidArgumentsError``); an unknown task 404; a stage that does not allow the action 400.

**Faults.** ``emu.add_fault(route, kind, times=...)``: see :meth:`EncordEmulator.add_fault`.

**Not modelled**, and why:

- Permissions beyond "the owner can do everything" (and "only admins add users"): the provider acts as one
  service account; organisation roles would need an organisation model that no action reads.
- Video, image-group, DICOM and other non-image labels: the actions and the COCO export work on images;
  uploads of other kinds register items and data units but carry no frames.
- Signed URLs, file contents and media probing: nothing is downloaded; uploaded images have no width/height.
- Long-poll holding: a result poll answers at once (PENDING for ``upload_polls`` polls); tests need no waits.
- Label branches, reviews, issues, consensus and agent stages, routers: not used by the provider's actions.
- Request-time freshness of v2 signatures (``created``) is not checked, so recorded requests can be replayed.
- Rate limits happen only when injected as faults.
- Projects created through the SDK get the default three-stage workflow (the hosted service decides this
  from templates the emulator does not have).
- Where the hosted service's behaviour is not known, the emulator chooses: a row without a label counts as
  never edited (it passes every ``edited_before`` and no ``edited_after``); a LIKE pattern ending in a lone
  backslash is refused (HTTP 400, ``INVALID_ARGUMENTS_ERROR`` on RPC), as PostgreSQL refuses it; page tokens
  are the emulator's own (offsets, or per-source positions in generated collections), opaque to the SDK.
"""

from __future__ import annotations

from airflow_provider_encord.testing.emulator._emulator import EncordEmulator
from airflow_provider_encord.testing.emulator._server import Fault, RecordedRequest

__all__ = ["EncordEmulator", "Fault", "RecordedRequest"]
