"""Benchmark: this provider's streaming COCO export against the Encord SDK's ``Project.export_coco_labels``.

One command::

    python benchmarks/coco_export.py --setup-sdk   # once: encord[coco] into benchmarks/.venv-sdk
    python benchmarks/coco_export.py               # 1000, 4000, 16000 images vs the SDK; 100000 ours alone
    python benchmarks/coco_export.py --sizes 1000,4000 --large 20000 --objects 5 --out results.json

Each size gets its own emulator (``scale`` seed: every row labelled, ``--objects`` boxes, polygons and points
per image), started as a separate process so that its memory is not counted. Each measurement runs in a fresh
child process that imports its exporter (timed apart), then reports the export's wall time, its peak
resident memory (``ru_maxrss``), its resident memory after the imports, and the HTTP requests it sent
(counted by wrapping ``requests.Session.send``). Each emulator first serves one untimed export, so that no
measured run pays for the emulator's first generation of its rows; then ours runs ``--repeat`` times, half
before and half after the SDK's one run, and the median of ours is reported.

The SDK's exporter needs ``encord[coco]`` (OpenCV, shapely, pycocotools, ``numpy<2``), which this package does
not depend on. ``--setup-sdk`` installs it into ``benchmarks/.venv-sdk``; without that environment the SDK
baseline is skipped with a message. Results go to ``benchmarks/results/coco_export.json`` by default.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
SDK_VENV = HERE / ".venv-sdk"
SDK_PYTHON = SDK_VENV / "bin" / "python"
SDK_VERSION = "0.1.211"
TIMEOUT = 3600


# -- worker side: runs in a child process, prints one JSON line --------------------------------------------


def _count_requests() -> list[int]:
    import requests

    counter = [0]
    original = requests.Session.send

    def send(self, request, **kwargs):
        counter[0] += 1
        return original(self, request, **kwargs)

    requests.Session.send = send
    return counter


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker(kind: str, url: str, key_path: str, project_hash: str, output: str, bundle_size: int) -> None:
    """One export; for ``ours-convert``/``sdk`` also the time of the conversion step alone."""
    from encord import EncordUserClient

    counter = _count_requests()
    client = EncordUserClient.create_with_ssh_private_key(
        ssh_private_key_path=key_path, domain=url, requests_settings=_settings()
    )
    result: dict = {}
    # Each side's exporter is imported before the timer and timed on its own: a process imports it once,
    # whatever it exports, and whether the interpreter finds its bytecode cached is not the exporter's doing.
    importing = time.perf_counter()
    if kind.startswith("ours"):
        from airflow_provider_encord.coco import write_coco
    else:
        from encord.utilities.coco.exporter import CocoExporter
    result["import_s"] = round(time.perf_counter() - importing, 3)
    baseline = _rss_mb()
    cpu_started = _cpu_s()
    started = time.perf_counter()
    project = client.get_project(project_hash)
    if kind.startswith("ours"):
        with open(output, "wb") as out:
            counts = write_coco(project, out, bundle_size=bundle_size)
        result["annotations"] = counts["annotations"]
    else:
        # The body of Project.export_coco_labels, timed in its two phases.
        rows = project.list_label_rows_v2()
        with project.create_bundle() as bundle:
            for row in rows:
                row.initialise_labels(bundle=bundle)
        labels = [row.to_encord_dict() for row in rows]
        converting = time.perf_counter()
        document = CocoExporter(labels, ontology=project.ontology_structure).export()
        result["convert_s"] = round(time.perf_counter() - converting, 3)
        with open(output, "w") as out:
            json.dump(document, out)
        result["annotations"] = len(document["annotations"])
    result["wall_s"] = round(time.perf_counter() - started, 3)
    result["cpu_s"] = round(_cpu_s() - cpu_started, 3)
    result["peak_rss_mb"] = round(_rss_mb(), 1)
    result["baseline_rss_mb"] = round(baseline, 1)
    result["requests"] = counter[0]
    result["output_mb"] = round(os.path.getsize(output) / 2**20, 1)
    if kind == "ours-convert":
        result["convert_s"] = _convert_only(project, bundle_size)
    print(json.dumps(result))


def _convert_only(project, bundle_size: int) -> float:
    """Conversion and writing alone, on label rows already in memory (after the measured export).

    The rows are read and decoded as the export reads them (into the structs of ``coco._schema``), so that
    this measures what the export spends converting, not decoding.
    """
    from airflow_provider_encord.coco import CocoConverter, CocoStreamWriter
    from airflow_provider_encord.coco._rpc import gc_paused, rpc_read
    from airflow_provider_encord.coco._schema import decode_bundle
    from airflow_provider_encord.coco.export import _bundle_payload

    hashes = [r.label_hash for r in project._client.list_label_rows() if r.label_hash]
    rows = []
    for start in range(0, len(hashes), bundle_size):
        bundle = hashes[start : start + bundle_size]
        rows += rpc_read(project, "labelrow", bundle, _bundle_payload(None), decode=decode_bundle)
    started = time.perf_counter()
    converter = CocoConverter(project.ontology_structure.to_dict())
    with (
        gc_paused(),  # as in the export
        open(os.devnull, "wb") as sink,
        CocoStreamWriter(sink, info={}, categories=converter.categories) as writer,
    ):
        for row in rows:
            writer.add(*converter.convert_label_row(row))
    return round(time.perf_counter() - started, 3)


def _settings():
    from encord.http.constants import RequestsSettings

    return RequestsSettings(max_retries=1, connection_retries=1, read_timeout=TIMEOUT, write_timeout=TIMEOUT)


# -- orchestrator ----------------------------------------------------------------------------------------


class Emulator:
    """The emulator in its own process, serving the ``scale`` seed."""

    def __init__(self, images: int, objects: int) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow_provider_encord.testing.emulator",
                "--port",
                "0",
                "--seed",
                "scale",
                "--scale-images",
                str(images),
                "--scale-objects",
                str(objects),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.url = self.key_path = ""
        self.ids: dict = {}
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if match := re.search(r"at (http://\S+)", line):
                self.url = match.group(1)
            elif match := re.search(r"Private key \(.*\): (\S+)", line):
                self.key_path = match.group(1)
            elif line.startswith("Seed identifiers: "):
                self.ids = json.loads(line.split(": ", 1)[1])
                break
        if not (self.url and self.key_path and self.ids):
            self.stop()
            raise RuntimeError("the emulator did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def measure(kind: str, emulator: Emulator, bundle_size: int) -> dict:
    python = str(SDK_PYTHON) if kind == "sdk" else sys.executable
    with tempfile.TemporaryDirectory() as directory:
        output = os.path.join(directory, "coco.json")
        command = [
            python,
            __file__,
            "--worker",
            kind,
            emulator.url,
            emulator.key_path,
            emulator.ids["project_hash"],
            output,
            str(bundle_size),
        ]
        env = dict(os.environ) if kind == "sdk" else {**os.environ, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{kind} export failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def setup_sdk() -> None:
    uv = pathlib.Path(sys.executable).with_name("uv")
    subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(SDK_VENV)], check=True)
    subprocess.run(
        [str(uv), "pip", "install", "-q", "--python", str(SDK_PYTHON), f"encord[coco]=={SDK_VERSION}"],
        check=True,
    )


def sdk_available() -> bool:
    if not SDK_PYTHON.exists():
        return False
    check = subprocess.run(
        [str(SDK_PYTHON), "-c", "import encord.utilities.coco.exporter"], capture_output=True, text=True
    )
    return check.returncode == 0


def main(argv: list[str] | None = None) -> int:
    # Imported here: the SDK's worker processes run this file without the package installed.
    from airflow_provider_encord._defaults import DEFAULT_BUNDLE_SIZE

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,4000,16000", help="image counts for ours vs the SDK")
    parser.add_argument("--large", type=int, default=100000, help="image count for ours alone (0: skip)")
    parser.add_argument("--objects", type=int, default=5, help="objects per image")
    parser.add_argument(
        "--bundle-size", type=int, default=DEFAULT_BUNDLE_SIZE, help="label rows per request (ours)"
    )
    parser.add_argument("--repeat", type=int, default=4, help="runs of ours per size; the median is kept")
    parser.add_argument("--no-sdk", action="store_true", help="measure only this provider's export")
    parser.add_argument("--setup-sdk", action="store_true", help=f"install encord[coco] into {SDK_VENV}")
    parser.add_argument("--out", default=str(HERE / "results" / "coco_export.json"))
    args = parser.parse_args(argv)

    if args.setup_sdk:
        setup_sdk()
    with_sdk = not args.no_sdk and sdk_available()
    if not args.no_sdk and not with_sdk:
        print(
            f"SDK baseline skipped: {SDK_PYTHON} with encord[coco] not found; "
            "run with --setup-sdk to install it (OpenCV, shapely, numpy<2: kept out of this package).",
            flush=True,
        )
    sizes = [int(size) for size in args.sizes.split(",") if size]
    plan = [(size, with_sdk) for size in sizes] + ([(args.large, False)] if args.large else [])
    results = []
    for images, compare in plan:
        emulator = Emulator(images, args.objects)
        try:
            row = {"images": images, "objects_per_image": args.objects, "load_average": os.getloadavg()[0]}
            # Untimed: the emulator's first answers also build its caches (generated rows, label templates).
            measure("ours", emulator, args.bundle_size)
            repeat = max(args.repeat, 1)
            # Half of our runs before the SDK's and half after, so that a machine whose speed drifts during
            # the SDK's long run is sampled on both sides of it.
            before = repeat - repeat // 2 if compare else repeat
            runs = [measure("ours", emulator, args.bundle_size) for _ in range(before - 1)]
            runs.append(measure("ours-convert" if compare else "ours", emulator, args.bundle_size))
            if compare:
                row["sdk"] = measure("sdk", emulator, args.bundle_size)
                runs += [measure("ours", emulator, args.bundle_size) for _ in range(repeat - before)]
            row["ours"] = _median_run(runs)
            row["ours_wall_s_runs"] = [run["wall_s"] for run in runs]
        finally:
            emulator.stop()
        results.append(row)
        print(_line(row), flush=True)

    print()
    print(_table(results))
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    out.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": machine,
                "bundle_size": args.bundle_size,
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten to {out}")
    return 0


def _median_run(runs: list[dict]) -> dict:
    """The run of median wall time (the conversion-only time, measured in one of them, carried over)."""
    chosen = dict(sorted(runs, key=lambda run: run["wall_s"])[len(runs) // 2])
    convert = [run["convert_s"] for run in runs if "convert_s" in run]
    if convert:
        chosen["convert_s"] = convert[0]
    return chosen


def _line(row: dict) -> str:
    ours = row["ours"]
    text = (
        f"{row['images']:>7} images: ours {ours['wall_s']:.2f} s ({ours['cpu_s']:.2f} s CPU), "
        f"{ours['peak_rss_mb']:.0f} MB, {ours['requests']} requests, import {ours['import_s']:.2f} s"
    )
    if "sdk" in row:
        sdk = row["sdk"]
        text += (
            f" | sdk {sdk['wall_s']:.2f} s ({sdk['cpu_s']:.2f} s CPU), {sdk['peak_rss_mb']:.0f} MB, "
            f"{sdk['requests']} requests, import {sdk['import_s']:.2f} s"
        )
    text += f" | load average {row['load_average']:.1f}"
    return text


def _table(results: list[dict]) -> str:
    header = (
        "| images | annotations | ours s | ours CPU s | ours MB | ours req "
        "| sdk s | sdk CPU s | sdk MB | sdk req | time x | memory x "
        "| ours convert s | sdk convert s | convert x |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [header]
    for row in results:
        ours, sdk = row["ours"], row.get("sdk")
        cells = [
            str(row["images"]),
            str(ours["annotations"]),
            f"{ours['wall_s']:.2f}",
            f"{ours['cpu_s']:.2f}",
            f"{ours['peak_rss_mb']:.0f}",
            str(ours["requests"]),
        ]
        if sdk:
            cells += [
                f"{sdk['wall_s']:.2f}",
                f"{sdk['cpu_s']:.2f}",
                f"{sdk['peak_rss_mb']:.0f}",
                str(sdk["requests"]),
                f"{sdk['wall_s'] / ours['wall_s']:.1f}",
                f"{sdk['peak_rss_mb'] / ours['peak_rss_mb']:.1f}",
                f"{ours['convert_s']:.3f}",
                f"{sdk['convert_s']:.3f}",
                f"{sdk['convert_s'] / max(ours['convert_s'], 1e-3):.0f}",
            ]
        else:
            cells += ["-"] * 9
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]))
    else:
        sys.exit(main())
