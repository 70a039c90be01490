"""The provider in a real Airflow deployment: separate scheduler, triggerer (and on Airflow 3 api-server and
DAG processor) processes, DAG files in a dags folder, and runs triggered from the CLI.

``dag.test()`` runs triggers inline and never reschedules; here the deferrable upload and sensor must go
through the triggerer process, and the reschedule-mode sensor through the scheduler. The test drives the
Encord side from outside: the upload job stays pending and the workflow stages stay full until the test has
seen the task waiting in the expected state, so every waiting path is observed, not assumed.

The COCO training example is deployed next to it: after that run the test triggers its export DAG, and the
scheduler must start the training DAG from the export's asset event, whose extra carries the file's path.
A decoy export named newer than any real one sits in the export folder, so a training run that fell back
to "the newest export" instead of reading the event would pick the decoy.

Run it alone with ``pytest tests/e2e`` (about 100 s on two cores; ``-s`` prints the time of each step); it
is marked ``slow``, so ``pytest -m "not slow"`` leaves it out.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_encord.testing.emulator import EncordEmulator

pytestmark = pytest.mark.slow

AIRFLOW_MAJOR = int(version("apache-airflow").split(".")[0])
DAG_FILE = Path(__file__).with_name("e2e_dag.py")
DAG_ID = "encord_e2e"
RUN_ID = "e2e_cli_run"
EXAMPLE_DAG_FILE = Path(__file__).parents[2] / "example_dags" / "encord_coco_training.py"
EXPORT_DAG_ID = "encord_coco_export"
TRAINING_DAG_ID = "encord_coco_training"
EXPORT_RUN_ID = "e2e_cli_export"
#: The training DAG's fallback takes the export with the newest ``<date>T<time>.json`` name: this one.
DECOY_NAME = "99991231T235959.json"
FINISHED = ("success", "failed")
#: Upper bound for the deployment to become healthy, and for the DAG run to finish.
STARTUP_TIMEOUT = 90.0
RUN_TIMEOUT = 180.0
#: SIGTERM, then SIGKILL after this many seconds.
STOP_GRACE = 15.0
FILE_COUNT = 3
#: The upload job answers PENDING this often unless the test releases it; far more than the run needs.
HELD_UPLOAD_POLLS = 100_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _quoted(run_id: str) -> str:
    """A run id as a URL path segment (the scheduler's run ids hold ``+`` and ``:``)."""
    return urllib.parse.quote(run_id, safe="")


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"(no {path.name})"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- last {len(text)} lines of {path.name} ---\n" + "\n".join(text)


def _poll(what: str, check: Callable[[], Any], timeout: float, describe: Callable[[], str]) -> Any:
    """Call ``check`` until it returns something truthy; fail with ``describe()`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"Timed out after {timeout:g}s waiting for {what}.\n{describe()}")
        time.sleep(0.5)


class Deployment:
    """Airflow components started as separate processes sharing one ``AIRFLOW_HOME`` and SQLite database."""

    def __init__(self, root: Path, extra_env: dict[str, str]) -> None:
        self.root = root
        self.home = root / "airflow"
        self.dags = root / "dags"
        self.component_logs = root / "component-logs"
        for folder in (self.home, self.dags, self.component_logs):
            folder.mkdir(parents=True)
        self.port = _free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.db_path = self.home / "airflow.db"
        self.env = {
            **os.environ,
            **extra_env,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            # Executors start task processes with the ``airflow`` command of this environment.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        }
        if AIRFLOW_MAJOR >= 3:
            self.env |= {
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            }
            self.components = ["api-server", "scheduler", "dag-processor", "triggerer"]
        else:
            # Airflow 2: SequentialExecutor on SQLite; the scheduler parses the DAGs itself.
            self.env |= {"AIRFLOW__CORE__EXECUTOR": "SequentialExecutor"}
            self.components = ["scheduler", "triggerer"]
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        #: (step, seconds) of the setup steps, for failure messages and ``pytest -s``
        self.timings: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings.append((name, round(time.monotonic() - started, 1)))
            print(f"e2e: {name} took {self.timings[-1][1]}s")

    # -- processes -------------------------------------------------------------------------------------
    def log_of(self, component: str) -> Path:
        return self.component_logs / f"{component}.log"

    def airflow(self, *args: str, timeout: float = 120) -> str:
        """Run an ``airflow`` CLI command to completion; fail with its output if it fails."""
        log = self.log_of("cli")
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        with log.open("a") as out:
            out.write(f"$ airflow {' '.join(args)}\n{result.stdout}{result.stderr}\n")
        if result.returncode != 0:
            pytest.fail(f"airflow {' '.join(args)} exited {result.returncode}:\n{_tail(log)}")
        return result.stdout

    def start(self) -> None:
        for component in self.components:
            with self.log_of(component).open("wb") as out:
                self.processes[component] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", component],
                    env=self.env,
                    cwd=self.home,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def stop(self) -> None:
        """SIGTERM every component, SIGKILL what is left after the grace period (children included)."""
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            # Each component leads its own process group: kill stragglers (a parent killed, or orphaned
            # task runners and server workers).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)

    def check_alive(self) -> None:
        for component, process in self.processes.items():
            if process.poll() is not None:
                pytest.fail(
                    f"airflow {component} exited with {process.returncode}.\n{_tail(self.log_of(component))}"
                )

    def scheduler_processed(self, dag_id: str, task_id: str, state: str) -> bool:
        """Whether the scheduler has handled the executor's report of a worker exit that left ``state``."""
        pattern = re.compile(
            rf"TaskInstance Finished: dag_id={re.escape(dag_id)}, task_id={re.escape(task_id)}, .*?, "
            rf"state={re.escape(state)},"
        )
        return pattern.search(self.log_of("scheduler").read_text(errors="replace")) is not None

    def describe(self, *components: str) -> str:
        tails = [_tail(self.log_of(c)) for c in components or self.components]
        return "\n".join([f"Steps: {self.timings}", *tails])

    # -- state -----------------------------------------------------------------------------------------
    def get(self, path: str) -> Any:
        """GET a public REST API path (Airflow 3); None on 404."""
        try:
            with urllib.request.urlopen(f"{self.api}{path}", timeout=10) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the metadata database (Airflow 2, which has no REST API without the webserver)."""
        with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)) as db:
            return db.execute(sql, params).fetchall()

    def healthy(self) -> bool:
        self.check_alive()
        if AIRFLOW_MAJOR >= 3:
            try:
                health = self.get("/api/v2/monitor/health")
            except (OSError, ValueError):
                return False
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            return bool(health) and all((health.get(p) or {}).get("status") == "healthy" for p in parts)
        try:
            jobs = {
                row[0]
                for row in self.query(
                    "SELECT job_type FROM job WHERE state = 'running' "
                    "AND latest_heartbeat > datetime('now', '-30 seconds')"
                )
            }
        except sqlite3.Error:
            return False
        return {"SchedulerJob", "TriggererJob"} <= jobs

    def dag_parsed(self, dag_id: str) -> bool:
        self.check_alive()
        if AIRFLOW_MAJOR >= 3:
            errors = self.get("/api/v2/importErrors") or {}
            if errors.get("import_errors"):
                pytest.fail(f"The DAG file did not import: {errors['import_errors']}")
            return self.get(f"/api/v2/dags/{dag_id}") is not None
        with contextlib.suppress(sqlite3.Error):
            errors = self.query("SELECT filename, stacktrace FROM import_error")
            if errors:
                pytest.fail(f"The DAG file did not import: {errors}")
            return bool(self.query("SELECT 1 FROM dag WHERE dag_id = ?", dag_id))
        return False

    def run(self, dag_id: str, run_id: str) -> dict[str, Any] | None:
        if AIRFLOW_MAJOR >= 3:
            return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{_quoted(run_id)}")
        rows = self.query(
            "SELECT state, execution_date, run_type FROM dag_run WHERE dag_id = ? AND run_id = ?",
            dag_id,
            run_id,
        )
        return {"state": rows[0][0], "logical_date": rows[0][1], "run_type": rows[0][2]} if rows else None

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The runs of a DAG: run_id, state and run_type of each."""
        if AIRFLOW_MAJOR >= 3:
            answer = self.get(f"/api/v2/dags/{dag_id}/dagRuns") or {}
            return [
                {"run_id": run["dag_run_id"], "state": run["state"], "run_type": run["run_type"]}
                for run in answer.get("dag_runs", [])
            ]
        rows = self.query("SELECT run_id, state, run_type FROM dag_run WHERE dag_id = ?", dag_id)
        return [{"run_id": r[0], "state": r[1], "run_type": r[2]} for r in rows]

    def runs_created_by(self, dag_id: str, run_id: str) -> list[tuple[str, str]]:
        """(dag_id, run_id) of every run the scheduler created from the asset events of a run."""
        if AIRFLOW_MAJOR >= 3:
            query = urllib.parse.urlencode({"source_dag_id": dag_id, "source_run_id": run_id})
            try:
                answer = self.get(f"/api/v2/assets/events?{query}") or {}
            except urllib.error.HTTPError as err:
                # Airflow 3.3 answers 500 while a run made from the event is queued: the answer's model
                # requires a start date, which the run has not got yet (apache/airflow#71360). None yet, then.
                if err.code == 500:
                    return []
                raise
            return [
                (created["dag_id"], created["run_id"])
                for event in answer.get("asset_events", [])
                for created in event["created_dagruns"]
            ]
        rows = self.query(
            "SELECT run.dag_id, run.run_id FROM dataset_event AS event "
            "JOIN dagrun_dataset_event AS consumed ON consumed.event_id = event.id "
            "JOIN dag_run AS run ON run.id = consumed.dag_run_id "
            "WHERE event.source_dag_id = ? AND event.source_run_id = ?",
            dag_id,
            run_id,
        )
        return [tuple(row) for row in rows]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        if AIRFLOW_MAJOR >= 3:
            answer = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{_quoted(run_id)}/taskInstances") or {}
            return {ti["task_id"]: ti["state"] for ti in answer.get("task_instances", [])}
        rows = self.query(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", dag_id, run_id
        )
        return dict(rows)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        if AIRFLOW_MAJOR >= 3:
            entry = self.get(
                f"/api/v2/dags/{dag_id}/dagRuns/{_quoted(run_id)}/taskInstances/{task_id}/xcomEntries/{key}"
            )
            return None if entry is None else entry["value"]
        rows = self.query(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND key = ?",
            dag_id,
            run_id,
            task_id,
            key,
        )
        return json.loads(rows[0][0]) if rows else None


class Scenario:
    """One DAG run in the deployment, driven from the Encord side, and what the test saw of it."""

    def __init__(self, deployment: Deployment, emulator: EncordEmulator) -> None:
        self.deployment = deployment
        self.emulator = emulator
        self.seen: dict[str, set[str]] = {}
        self.released: set[str] = set()
        self.run: dict[str, Any] | None = None
        self.states: dict[str, str | None] = {}

    def drive(self) -> None:
        """Watch the run; release each wait on the Encord side only once its task is seen waiting."""
        ids = self.emulator.ids
        hook = _hook(self.emulator)

        def release_upload() -> None:
            with self.emulator.store.lock:
                for job in self.emulator.store.upload_jobs.values():
                    job["polls_left"] = 0

        def move_out_of(stage: str, destination: str) -> Callable[[], None]:
            def move() -> None:
                rows = hook.list_label_rows(ids["project_hash"], workflow_stage=stage)["label_rows"]
                hook.move_workflow_tasks(
                    ids["project_hash"],
                    ids["stages"][stage],
                    [row["data_hash"] for row in rows],
                    destination_stage_uuid=ids["stages"][destination],
                )

            return move

        gates = [
            ("upload", "deferred", release_upload),
            ("wait_annotated", "deferred", move_out_of("Annotate", "Review")),
            ("wait_reviewed", "up_for_reschedule", move_out_of("Review", "Complete")),
        ]

        def finished() -> bool:
            self.deployment.check_alive()
            self.states = self.deployment.task_states(DAG_ID, RUN_ID)
            for task_id, state in self.states.items():
                self.seen.setdefault(task_id, set()).add(str(state))
            for task_id, state, release in gates:
                if task_id in self.released or state not in self.seen.get(task_id, set()):
                    continue
                # Release only once the scheduler has handled the exit of the worker that deferred or
                # rescheduled: if the task resumes first, Airflow 3.3 takes that late exit report for an
                # external kill and fails the task (apache/airflow#72716, a trigger firing within seconds).
                if self.deployment.scheduler_processed(DAG_ID, task_id, state):
                    release()
                    self.released.add(task_id)
            self.run = self.deployment.run(DAG_ID, RUN_ID)
            return bool(self.run) and self.run["state"] in FINISHED

        _poll(f"the run {RUN_ID} to finish", finished, RUN_TIMEOUT, self.describe)

    def describe(self) -> str:
        """The run, the states seen, and the tails of the component and task logs, for failure messages."""
        return (
            f"Run: {self.run}\nTask states: {self.states}\n"
            f"States seen: {self.seen}\nReleased: {sorted(self.released)}\n"
            f"{self.deployment.describe()}\n{_task_log_tails(self.deployment)}"
        )


class AssetFlow:
    """The example export DAG triggered from the CLI, and the training run made from its asset event."""

    def __init__(self, deployment: Deployment, folder: Path) -> None:
        self.deployment = deployment
        #: the folder of ENCORD_COCO_EXPORT_URI
        self.folder = folder
        self.export_run: dict[str, Any] | None = None
        #: (dag_id, run_id) of the runs made from the export's asset event
        self.created: list[tuple[str, str]] = []
        self.training_run: dict[str, Any] | None = None
        self.training_states: dict[str, str | None] = {}

    def drive(self) -> None:
        # The export DAG's daily schedule made a first run when the deployment started. Let it and the
        # training run of its event finish first: a queued event would be consumed by the same training run.
        _poll("the scheduled example runs to finish", self.settled, RUN_TIMEOUT, self.describe)
        self.deployment.airflow("dags", "trigger", EXPORT_DAG_ID, "--run-id", EXPORT_RUN_ID)
        _poll(
            f"the training run made from {EXPORT_RUN_ID}'s asset event",
            self.finished,
            RUN_TIMEOUT,
            self.describe,
        )

    def settled(self) -> bool:
        self.deployment.check_alive()
        exports = self.deployment.runs(EXPORT_DAG_ID)
        if any(run["state"] not in FINISHED for run in [*exports, *self.deployment.runs(TRAINING_DAG_ID)]):
            return False
        return all(
            self.deployment.runs_created_by(EXPORT_DAG_ID, run["run_id"])
            for run in exports
            if run["state"] == "success"
        )

    def finished(self) -> bool:
        self.deployment.check_alive()
        self.export_run = self.deployment.run(EXPORT_DAG_ID, EXPORT_RUN_ID)
        if not self.export_run or self.export_run["state"] not in FINISHED:
            return False
        if self.export_run["state"] != "success":
            return True  # no asset event to wait for: the tests report the failed export
        self.created = self.deployment.runs_created_by(EXPORT_DAG_ID, EXPORT_RUN_ID)
        if not self.created:
            return False
        self.training_run = self.deployment.run(*self.created[0])
        self.training_states = self.deployment.task_states(*self.created[0])
        return bool(self.training_run) and self.training_run["state"] in FINISHED

    def xcom(self, task_id: str) -> Any:
        if task_id == "export_coco":
            return self.deployment.xcom(EXPORT_DAG_ID, EXPORT_RUN_ID, task_id)
        return self.deployment.xcom(*self.created[0], task_id)

    def describe(self) -> str:
        runs = {dag_id: self.deployment.runs(dag_id) for dag_id in (EXPORT_DAG_ID, TRAINING_DAG_ID)}
        return (
            f"Export run: {self.export_run}\nCreated from its event: {self.created}\n"
            f"Training run: {self.training_run}\nTask states: {self.training_states}\nAll runs: {runs}\n"
            f"{self.deployment.describe()}\n"
            f"{_task_log_tails(self.deployment, EXPORT_DAG_ID, TRAINING_DAG_ID)}"
        )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """A real Airflow deployment against the emulator, one DAG run triggered from the CLI and driven."""
    root = tmp_path_factory.mktemp("e2e")
    emulator = EncordEmulator(seed="demo", upload_polls=HELD_UPLOAD_POLLS).start()
    ids = emulator.ids
    config = {
        "dataset_hash": ids["dataset_hash"],
        "integration_id": ids["integration_id"],
        "project_hash": ids["project_hash"],
        "file_urls": [f"s3://e2e-bucket/images/{i}.jpg" for i in range(FILE_COUNT)],
        "output_dir": str(root / "exports"),
        "wait_timeout": RUN_TIMEOUT,
    }
    coco_exports = root / "coco-exports"
    _write_decoy_export(coco_exports / ids["project_hash"] / DECOY_NAME)
    env = {
        **emulator.airflow_env(),
        "ENCORD_E2E_CONFIG": json.dumps(config),
        "ENCORD_COCO_EXPORT_URI": coco_exports.as_uri(),
    }
    deployment = Deployment(root, env)
    for dag_file in (DAG_FILE, EXAMPLE_DAG_FILE):
        shutil.copy(dag_file, deployment.dags / dag_file.name)
    try:
        with deployment.step("db migrate"):
            deployment.airflow("db", "migrate")
        with deployment.step("start until healthy"):
            deployment.start()
            _poll("the deployment to be healthy", deployment.healthy, STARTUP_TIMEOUT, deployment.describe)
        with deployment.step("DAGs parsed"):
            dag_ids = (DAG_ID, EXPORT_DAG_ID, TRAINING_DAG_ID)
            _poll(
                f"the DAGs {dag_ids} to be parsed",
                lambda: all(deployment.dag_parsed(dag_id) for dag_id in dag_ids),
                STARTUP_TIMEOUT,
                deployment.describe,
            )
        with deployment.step("dags trigger"):
            # As people trigger runs: no logical date, so on Airflow 3 the run has none.
            deployment.airflow("dags", "trigger", DAG_ID, "--run-id", RUN_ID)
        scenario = Scenario(deployment, emulator)
        with deployment.step("DAG run"):
            scenario.drive()
        yield scenario
    finally:
        with deployment.step("stop"):
            deployment.stop()
        emulator.stop()


@pytest.fixture(scope="module")
def asset_flow(scenario: Scenario) -> AssetFlow:
    """After the first run, the example export triggered from the CLI and the training run of its event."""
    flow = AssetFlow(scenario.deployment, scenario.deployment.root / "coco-exports")
    with scenario.deployment.step("asset-triggered training"):
        flow.drive()
    return flow


def _write_decoy_export(path: Path) -> None:
    """A valid COCO file with one annotation, where the training DAG's fallback would find it."""
    path.parent.mkdir(parents=True)
    image = {"id": 1, "file_name": "decoy.jpg", "width": 8, "height": 8}
    annotation = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "area": 16, "iscrowd": 0}
    coco = {"images": [image], "annotations": [annotation], "categories": [{"id": 1, "name": "decoy"}]}
    path.write_text(json.dumps(coco))


def _hook(emulator: EncordEmulator):
    """An EncordHook on the emulator, for the test's own moves (the connection is read when first used)."""
    from airflow_provider_encord.hooks.encord import EncordHook

    with pytest.MonkeyPatch.context() as patch:
        for key, value in emulator.airflow_env(conn_id="encord_e2e_driver").items():
            patch.setenv(key, value)
        hook = EncordHook(encord_conn_id="encord_e2e_driver")
        hook.get_conn()
    return hook


def _trigger_log_files(deployment: Deployment, task_id: str) -> list[Path]:
    folder = deployment.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={RUN_ID}" / f"task_id={task_id}"
    return sorted(folder.glob("attempt=*.log.trigger.*.log"))


def _trigger_log(deployment: Deployment, task_id: str) -> str:
    files = _trigger_log_files(deployment, task_id)
    assert files, f"No trigger log of {task_id}: it did not defer.\n{_task_log_tails(deployment)}"
    text = "\n".join(p.read_text(errors="replace") for p in files)
    assert "fired" in text.lower(), text
    return text


def _task_log_tails(deployment: Deployment, *dag_ids: str) -> str:
    logs = sorted(
        path
        for dag_id in dag_ids or (DAG_ID,)
        for path in (deployment.home / "logs").glob(f"dag_id={dag_id}/**/*.log")
    )
    return "\n".join(f"== {p.relative_to(deployment.home)}\n{_tail(p, 25)}" for p in logs)


# -- tests ---------------------------------------------------------------------------------------------------
def test_run_succeeds(scenario):
    assert scenario.run["state"] == "success", scenario.describe()
    expected = dict.fromkeys(("upload", "wait_annotated", "wait_reviewed", "export"), "success")
    assert scenario.states == expected, scenario.describe()


@pytest.mark.skipif(AIRFLOW_MAJOR < 3, reason="Airflow 2 runs always have a logical date")
def test_cli_run_has_no_logical_date(scenario):
    assert scenario.run["logical_date"] is None, scenario.run


def test_upload_and_sensor_deferred_to_the_triggerer(scenario):
    deployment, emulator = scenario.deployment, scenario.emulator
    assert "deferred" in scenario.seen["upload"], scenario.describe()
    assert "deferred" in scenario.seen["wait_annotated"], scenario.describe()
    # The triggerer process writes what a trigger logs next to the task's log, one file per triggerer job.
    upload_trigger_log = _trigger_log(deployment, "upload")
    assert "Upload job" in upload_trigger_log and "DONE" in upload_trigger_log, upload_trigger_log
    sensor_trigger_log = _trigger_log(deployment, "wait_annotated")
    assert "done (100%)" in sensor_trigger_log, sensor_trigger_log
    assert not _trigger_log_files(deployment, "wait_reviewed")
    upload = deployment.xcom(DAG_ID, RUN_ID, "upload")
    assert upload["status"] == "DONE"
    assert upload["units_done_count"] == FILE_COUNT
    assert upload["dataset_hash"] == emulator.ids["dataset_hash"]
    assert deployment.xcom(DAG_ID, RUN_ID, "upload", "upload_job_id") == upload["upload_job_id"]


def test_reschedule_sensor_gave_its_slot_back(scenario):
    emulator = scenario.emulator
    assert "up_for_reschedule" in scenario.seen["wait_reviewed"], scenario.describe()
    assert "deferred" not in scenario.seen["wait_reviewed"]
    project = emulator.store.projects[emulator.ids["project_hash"]]
    with emulator.store.lock:
        assert {row.stage_uuid for row in project.rows} == {emulator.ids["stages"]["Complete"]}
    labelled = scenario.deployment.xcom(DAG_ID, RUN_ID, "wait_reviewed")
    assert labelled and set(labelled) <= {row.label_hash for row in project.rows}


def test_coco_file_matches_the_xcom_counts(scenario):
    result = scenario.deployment.xcom(DAG_ID, RUN_ID, "export")
    path = Path(result["path"])
    assert path.parent.name == RUN_ID
    coco = json.loads(path.read_bytes())
    assert result["images"] == len(coco["images"]) > 0
    assert result["annotations"] == len(coco["annotations"]) > 0
    assert result["categories"] == len(coco["categories"]) > 0
    assert not list(path.parent.glob(".*.tmp")), "the atomic write left a temporary file"


def test_emulator_saw_the_requests_of_every_task(scenario):
    emulator = scenario.emulator
    routes = {r.route for r in emulator.requests}
    assert any(r.startswith("rpc:datasetdatalongpolling") for r in routes), sorted(routes)
    assert any("/workflow/stages/" in r.path for r in emulator.requests), sorted(routes)
    assert not [(r.route, r.status) for r in emulator.requests if r.status >= 500]
    assert {r.user for r in emulator.requests} == {emulator.owner_email}


def test_the_export_event_made_the_training_run(asset_flow):
    assert asset_flow.export_run["state"] == "success", asset_flow.describe()
    # One run, of the training DAG, created by the scheduler because of the asset event.
    assert [dag_id for dag_id, _ in asset_flow.created] == [TRAINING_DAG_ID], asset_flow.describe()
    run_type = "asset_triggered" if AIRFLOW_MAJOR >= 3 else "dataset_triggered"
    assert asset_flow.training_run["run_type"] == run_type, asset_flow.training_run
    assert asset_flow.training_run["state"] == "success", asset_flow.describe()


def test_the_training_run_took_the_path_from_the_event(asset_flow, scenario):
    export = asset_flow.xcom("export_coco")
    # The DAG's default project_hash param is the emulator's demo project.
    project_folder = asset_flow.folder / scenario.emulator.ids["project_hash"]
    assert export["path"].startswith(f"{project_folder.as_uri()}/"), export
    assert Path(export["path"].removeprefix("file://")).is_file()
    # Without the event the training DAG would have located the newest export by name: the decoy.
    names = sorted(
        p.name for p in project_folder.glob("*.json") if re.fullmatch(r"\d{8}T\d{6}\.json", p.name)
    )
    assert names[-1] == DECOY_NAME and Path(export["path"]).name != DECOY_NAME, names
    assert asset_flow.training_states["locate_export"] == "success", asset_flow.describe()
    assert asset_flow.xcom("locate_export") == export["path"]


def test_the_training_run_split_the_export_it_was_given(asset_flow, scenario):
    export = asset_flow.xcom("export_coco")
    split = asset_flow.xcom("split_for_training")
    if AIRFLOW_MAJOR < 3:
        # The CLI run has a logical date, so the interval of the day before: no label was edited in it.
        assert export["images"] == export["annotations"] == 0, export
        assert asset_flow.training_states["split_for_training"] == "skipped", asset_flow.describe()
        assert split is None
        return
    # No logical date: every labelled row in the Complete stage, where the first run left all of them.
    emulator = scenario.emulator
    with emulator.store.lock:
        rows = emulator.store.projects[emulator.ids["project_hash"]].rows
        titles = {emulator.store.data[row.data_hash]["title"] for row in rows if row.label_hash}
    coco = json.loads(Path(export["path"].removeprefix("file://")).read_bytes())
    assert {image["file_name"] for image in coco["images"]} == titles and export["images"] == len(titles)
    assert asset_flow.training_states["split_for_training"] == "success", asset_flow.describe()
    assert split["source"] == export["path"]
    assert split["train"]["images"] + split["val"]["images"] == export["images"]
    assert split["train"]["annotations"] + split["val"]["annotations"] == export["annotations"] > 0
    stem = export["path"].removesuffix(".json")
    assert {split["train"]["path"], split["val"]["path"]} == {f"{stem}.train.json", f"{stem}.val.json"}


def test_the_private_key_never_left(scenario, asset_flow):
    deployment = scenario.deployment
    secret_lines = [
        line.strip()
        for line in scenario.emulator.private_key.splitlines()
        if line.strip() and not line.startswith("-----")
    ]
    assert secret_lines
    scanned = []
    # Component and task logs, the metadata database (XCom, rendered templates), the configuration, exports.
    for path in deployment.root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        scanned.append(path.relative_to(deployment.root).as_posix())
        leaked = [line for line in secret_lines if line.encode() in data]
        assert not leaked, f"{path} contains {len(leaked)} line(s) of the private key"
    training_run_id = asset_flow.created[0][1]
    task_logs = [
        *(f"dag_id={DAG_ID}/run_id={RUN_ID}/task_id={task_id}" for task_id in scenario.states),
        f"dag_id={EXPORT_DAG_ID}/run_id={EXPORT_RUN_ID}/task_id=export_coco",
        *(
            f"dag_id={TRAINING_DAG_ID}/run_id={training_run_id}/task_id={t}"
            for t in asset_flow.training_states
        ),
    ]
    expected = {"airflow/airflow.db", "component-logs/scheduler.log"}
    expected |= {f"airflow/logs/{task_log}/attempt=1.log" for task_log in task_logs}
    assert expected <= set(scanned), sorted(expected - set(scanned))
