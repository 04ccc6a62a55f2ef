#!/usr/bin/env python3
"""A real WebSub hub (flask-websub) on 127.0.0.1, for Vidpress's tests and benchmarks.

Run with the repository's venv (scripts/python-tools.sh installs flask-websub there):

    .venv/bin/python tests/support/websub_hub.py --port 0 --db /tmp/hub.sqlite3 [--min-lease 1]

It prints one line `READY http://127.0.0.1:PORT/hub` once it accepts requests, then serves
until killed. Celery runs in-process on a memory broker with one worker thread, so the hub
verifies and delivers asynchronously, as a production hub does, without Redis. Publishing
(`hub.mode=publish&hub.topic=…`) is enabled so tests can make it deliver. Notifications are
signed with sha1, as YouTube's hub signs them.
"""

import argparse
import logging
import os
import sys

# The hub only ever talks to 127.0.0.1; never let a proxy setting send that traffic elsewhere.
for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ.pop(name, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "*"

from celery import Celery  # noqa: E402
from celery.contrib.testing.worker import start_worker  # noqa: E402
from flask import Flask  # noqa: E402
from flask_websub.hub import Hub, SQLite3HubStorage  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--db", required=True, help="SQLite file for the hub's subscriptions")
    parser.add_argument("--min-lease", type=int, default=60, help="shortest lease granted, seconds")
    parser.add_argument("--signature", default="sha1", choices=["sha1", "sha256", "sha384", "sha512"])
    parser.add_argument("--max-attempts", type=int, default=3, help="delivery retries after a failure")
    args = parser.parse_args()

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("kombu").setLevel(logging.ERROR)
    config = {
        "PUBLISH_SUPPORTED": True,
        "SIGNATURE_ALGORITHM": args.signature,
        "REQUEST_TIMEOUT": 3,
        "BACKOFF_BASE": 0.2,
        "MAX_ATTEMPTS": args.max_attempts,
        "HUB_MIN_LEASE_SECONDS": args.min_lease,
        "HUB_DEFAULT_LEASE_SECONDS": max(args.min_lease, 432000),
        "HUB_MAX_LEASE_SECONDS": max(args.min_lease, 432000) * 2,
    }
    app = Flask("vidpress-test-hub")
    app.config.update(config)
    celery = Celery("vidpress-test-hub", broker="memory://", backend="cache+memory://")
    celery.conf.update(
        broker_transport_options={"polling_interval": 0.05},
        worker_hijack_root_logger=False,
    )
    hub = Hub(SQLite3HubStorage(args.db), celery, **config)
    app.register_blueprint(hub.build_blueprint(url_prefix="/hub"))

    # Keep the worker's context manager referenced: it stops the worker when collected.
    worker = start_worker(celery, pool="solo", perform_ping_check=False, loglevel="WARNING")
    worker.__enter__()
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print(f"READY http://127.0.0.1:{server.server_port}/hub", flush=True)
    try:
        server.serve_forever()
    finally:
        worker.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
