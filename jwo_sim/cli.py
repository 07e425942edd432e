"""Command line: ``python -m jwo_sim serve|trip|faults|clock|store|shopper|gate|exit|flush|
reset|drive``. Every command except ``serve`` and ``drive`` talks to a running simulator's
control API (``--url``, default ``http://127.0.0.1:8790``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

import httpx

from jwo_client import sigv4, wire

DEFAULT_URL = "http://127.0.0.1:8790"


def _serve(args: argparse.Namespace) -> int:
    from . import engine, server

    logging.basicConfig(
        level=os.environ.get("SIM_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        keys = sigv4.parse_key_pairs(args.retailer_keys or os.environ.get("SIM_RETAILER_KEYS", ""))
        signing_text = args.signing_key or os.environ.get("SIM_SIGNING_KEY", "")
        signing = sigv4.parse_key_pair(signing_text) if signing_text else None
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else int(os.environ.get("SIM_SEED", "0"))
    options = engine.Options(
        db_path=args.db,
        seed=seed,
        verify=not args.no_verify,
        retailer_keys=keys,
        signing=signing,
        region=os.environ.get("JWO_AWS_REGION", "us-east-1"),
        csv_dir=args.csv_dir or engine.default_csv_dir(args.db),
        admin_token=os.environ.get("SIM_ADMIN_TOKEN") or None,
    )
    if options.verify and not keys:
        logging.warning("no retailer keys (SIM_RETAILER_KEYS): every Payment Service call gets 403")
    if signing is None:
        logging.warning("no SIM_SIGNING_KEY: connector calls are sent unsigned")
    simulator = engine.Simulator(options)
    httpd = server.make_server(simulator, args.host, args.port)
    port = httpd.server_address[1]
    simulator.start()
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w", encoding="utf-8") as handle:
            json.dump({"port": port, "pid": os.getpid()}, handle)
        os.replace(args.ready_file + ".tmp", args.ready_file)
    print(
        f"jwo_sim listening on http://{args.host}:{port} (db {args.db}, seed {seed}, "
        f"verify {options.verify})",
        flush=True,
    )

    def _shutdown(*_: Any) -> None:
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        simulator.stop()
        httpd.server_close()
    return 0


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> int:
    headers = {"Content-Type": "application/json"}
    token = os.environ.get("SIM_ADMIN_TOKEN")
    if token:
        headers["X-Sim-Admin-Token"] = token
    content = None if body is None else wire.dumps(body)
    try:
        response = httpx.request(
            method,
            args.url.rstrip("/") + "/_sim/v1" + path,
            content=content,
            headers=headers,
            timeout=60,
        )
    except httpx.HTTPError as exc:
        print(f"cannot reach the simulator at {args.url}: {exc}", file=sys.stderr)
        return 2
    try:
        print(json.dumps(json.loads(response.content), indent=2))
    except ValueError:
        print(response.text)
    return 0 if response.status_code < 400 else 1


def _json_arg(text: str) -> Any:
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as handle:
            text = handle.read()
    try:
        return wire.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jwo_sim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the simulator")
    serve.add_argument("--port", type=int, default=8790)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--db", default="var/jwo_sim.sqlite3")
    serve.add_argument("--seed", type=int, default=None, help="default: SIM_SEED or 0")
    serve.add_argument("--no-verify", action="store_true", help="dev only: skip SigV4 checks")
    serve.add_argument("--csv-dir", default=None, help="default csvTarget (default: <db dir>/csv)")
    serve.add_argument("--retailer-keys", default=None, help="id:secret,... (or SIM_RETAILER_KEYS)")
    serve.add_argument("--signing-key", default=None, help="id:secret (or SIM_SIGNING_KEY)")
    serve.add_argument("--ready-file", default=None, help="write {port, pid} here when ready")

    def remote(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--url", default=os.environ.get("SIM_URL", DEFAULT_URL))
        return sub

    remote("trip", "dump a trip's full state").add_argument("trip_id")
    faults = remote("faults", "show, or replace with JSON, the fault config")
    faults.add_argument("config", nargs="?", type=_json_arg)
    clock = remote("clock", "show or move the business clock")
    clock.add_argument("--advance", type=float, help="seconds")
    clock.add_argument("--set", dest="set_to", help="ISO-8601 UTC time")
    clock.add_argument("--mode", choices=["real", "frozen", "offset"])
    store = remote("store", "configure a store")
    store.add_argument("store_id")
    store.add_argument("config", type=_json_arg)
    shopper = remote("shopper", "set a shopper's card profile")
    shopper.add_argument("shopper_id")
    shopper.add_argument("profile", type=_json_arg)
    gate = remote("gate", "a gate event")
    gate.add_argument("body", type=_json_arg)
    exit_cmd = remote("exit", "exit a trip with a cart")
    exit_cmd.add_argument("trip_id")
    exit_cmd.add_argument("body", type=_json_arg)
    remote("flush", "cut CSV files now")
    remote("reset", "clear all state")
    remote("dead-letter", "list undelivered events")
    balances = remote("balances", "a shopper's outstanding balances")
    balances.add_argument("shopper_id")

    drive = commands.add_parser("drive", help="play a scenario of shoppers")
    drive.add_argument("scenario")
    drive.add_argument("--sim-url", default=os.environ.get("SIM_URL", DEFAULT_URL))
    drive.add_argument("--retailer-url", default=os.environ.get("JWO_RETAILER_URL"))
    drive.add_argument("--out", default=None)
    drive.add_argument("--concurrency", type=int, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command
    if command == "serve":
        return _serve(args)
    if command == "drive":
        from . import driver

        return driver.main(args)
    if command == "trip":
        return _call(args, "GET", f"/trips/{args.trip_id}")
    if command == "faults":
        if args.config is None:
            return _call(args, "GET", "/faults")
        return _call(args, "PUT", "/faults", args.config)
    if command == "clock":
        body: dict[str, Any] = {}
        if args.set_to or args.mode:
            body.update(
                {
                    key: value
                    for key, value in (("setTo", args.set_to), ("mode", args.mode))
                    if value
                }
            )
        if args.advance is not None:
            body["advanceSeconds"] = args.advance
        return _call(args, "POST", "/clock", body) if body else _call(args, "GET", "/clock")
    if command == "store":
        return _call(args, "PUT", f"/stores/{args.store_id}", args.config)
    if command == "shopper":
        return _call(args, "PUT", f"/shoppers/{args.shopper_id}", args.profile)
    if command == "gate":
        return _call(args, "POST", "/gate", args.body)
    if command == "exit":
        return _call(args, "POST", f"/trips/{args.trip_id}/exit", args.body)
    if command == "flush":
        return _call(args, "POST", "/csv/flush", {})
    if command == "reset":
        return _call(args, "POST", "/reset", {})
    if command == "dead-letter":
        return _call(args, "GET", "/events/dead-letter")
    if command == "balances":
        return _call(args, "GET", f"/balances/{args.shopper_id}")
    return 2
