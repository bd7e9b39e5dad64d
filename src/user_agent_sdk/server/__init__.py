"""The embedded Conductor-compatible task server behind ``useragent server``.

Start it inside a trio program with ``server = await nursery.start(serve, ServerConfig(port=0))``;
``server.api_url`` is what a Conductor client or a worker points at.
"""

from ._auth import ClientCredentials
from ._server import MEMORY, RunningServer, ServerConfig, serve
from ._settings import TaskSettings

__all__ = ["MEMORY", "ClientCredentials", "RunningServer", "ServerConfig", "TaskSettings", "serve"]
