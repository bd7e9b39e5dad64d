"""An unchanged conductor-python TaskHandler worker for task type ``echo``.

Run by the test suite against ``useragent server``: it reads the server from
``CONDUCTOR_SERVER_URL`` (and auth from ``CONDUCTOR_AUTH_KEY``/``CONDUCTOR_AUTH_SECRET``)
as every conductor-python program does, and stops on SIGTERM.
"""

# No `from __future__ import annotations`: conductor-python reads the handler's
# annotations at run time to map inputData onto its parameters.
import signal
import time
from types import FrameType

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.worker.worker import Worker


def echo(message: str) -> dict[str, str]:
    return {"echo": message}


def main() -> None:
    stopping = False

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_sigterm)
    workers = [Worker(task_definition_name="echo", execute_function=echo, poll_interval=10)]
    handler = TaskHandler(
        workers=workers, configuration=Configuration(), scan_for_annotated_workers=False
    )
    handler.start_processes()
    print("worker started", flush=True)
    try:
        while not stopping:
            time.sleep(0.1)
    finally:
        handler.stop_processes()


if __name__ == "__main__":  # TaskHandler starts its processes with 'spawn'
    main()
