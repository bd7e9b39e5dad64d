"""The floor of the standard protocol: the least client work per task, no handler at all.

Run by the harness as its own process (stdlib only, so it starts fast and costs little):
``python raw_client.py TASK_TYPE [--lanes 8] [--batch 4]``, with the server and its
credentials in ``CONDUCTOR_SERVER_URL``, ``CONDUCTOR_AUTH_KEY`` and
``CONDUCTOR_AUTH_SECRET`` as for any Conductor client. Each lane
is a thread with one keep-alive HTTP/1.1 connection that loops: batch poll (long poll, up
to ``--batch`` tasks), then one ``POST /tasks`` per task with the output ``{"n": n}``.
``lanes x batch`` is the concurrency (32 by default, as every contender). It serves until
SIGTERM, or exits 1 when a lane fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import threading
from urllib.parse import urlsplit

_LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)


class Connection:
    """One keep-alive connection; requests are written and read by hand (no library cost)."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        self._sock = socket.create_connection((host, port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._prefix = prefix
        self.token: str | None = None

    def request(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {self._prefix}{path} HTTP/1.1\r\nhost: raw\r\n"
        if self.token is not None:
            head += f"x-authorization: {self.token}\r\n"
        if body is not None:
            head += f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n"
        self._sock.sendall(head.encode() + b"\r\n" + payload)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        header, _, rest = data.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = _LENGTH.search(header)
        size = int(length.group(1)) if length else 0
        while len(rest) < size:
            rest += self._sock.recv(65536)
        return status, rest


def lane(api_url: str, token: str, task_type: str, batch: int, index: int) -> None:
    """Serve tasks on one connection until the process ends."""
    parts = urlsplit(api_url)
    connection = Connection(parts.hostname or "127.0.0.1", parts.port or 80, parts.path)
    connection.token = token
    worker = f"raw-{index}"
    poll = f"/tasks/poll/batch/{task_type}?count={batch}&timeout=1000&workerid={worker}"
    while True:
        status, body = connection.request("GET", poll)
        if status == 204 or not body:
            continue
        if status != 200:
            raise RuntimeError(f"poll: {status} {body[:200]!r}")
        for task in json.loads(body):
            result = {
                "taskId": task["taskId"],
                "workflowInstanceId": task["workflowInstanceId"],
                "workerId": worker,
                "status": "COMPLETED",
                "outputData": {"n": task["inputData"]["n"]},
            }
            status, body = connection.request("POST", "/tasks", result)
            if status != 200:
                raise RuntimeError(f"update: {status} {body[:200]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("task_type")
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    api_url = os.environ["CONDUCTOR_SERVER_URL"]
    key = {
        "keyId": os.environ["CONDUCTOR_AUTH_KEY"],
        "keySecret": os.environ["CONDUCTOR_AUTH_SECRET"],
    }
    parts = urlsplit(api_url)
    login = Connection(parts.hostname or "127.0.0.1", parts.port or 80, parts.path)
    status, body = login.request("POST", "/token", key)
    if status != 200:
        raise SystemExit(f"token: {status} {body[:200]!r}")
    token = str(json.loads(body)["token"])
    failed = threading.Event()

    def serve(index: int) -> None:
        try:
            lane(api_url, token, args.task_type, args.batch, index)
        except Exception as exc:
            print(f"raw client lane {index}: {exc!r}", file=sys.stderr, flush=True)
            failed.set()

    for index in range(args.lanes):
        threading.Thread(target=serve, args=(index,), daemon=True).start()
    failed.wait()
    raise SystemExit(1)


if __name__ == "__main__":
    main()
