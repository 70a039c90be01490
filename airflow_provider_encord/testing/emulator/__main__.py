"""``python -m airflow_provider_encord.testing.emulator --port 8080 --seed demo``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from airflow_provider_encord.testing.emulator._emulator import SEEDS, EncordEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a local Encord API for the encord SDK.")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--seed", choices=SEEDS, default="demo")
    parser.add_argument("--upload-polls", type=int, default=2)
    parser.add_argument("--max-page-size", type=int, default=100)
    parser.add_argument("--scale-images", type=int, default=1000)
    parser.add_argument("--scale-objects", type=int, default=5)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    emulator = EncordEmulator(
        args.seed,
        port=args.port,
        upload_polls=args.upload_polls,
        max_page_size=args.max_page_size,
        scale_images=args.scale_images,
        scale_objects=args.scale_objects,
        verbose=args.verbose,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with emulator:
        print(f"Encord emulator serving the {args.seed!r} seed at {emulator.url}", flush=True)
        print(f"Private key (owner {emulator.owner_email}): {emulator.private_key_path}", flush=True)
        print(f"Seed identifiers: {json.dumps(emulator.ids, default=str)}", flush=True)
        print(
            f"export AIRFLOW_CONN_ENCORD_DEFAULT='{json.dumps(emulator.airflow_connection('key_path'))}'",
            flush=True,
        )
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
