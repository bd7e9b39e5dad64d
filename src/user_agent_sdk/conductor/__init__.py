"""The worker's client for a Conductor (or akaBot) task server.

The wire data it sends and receives lives in :mod:`user_agent_sdk.models`; every name
exported there is exported here too (the same objects).
"""

from .. import models
from ..models import OAUTH_TOKEN_PATH as OAUTH_TOKEN_PATH
from ..models import JsonObject as JsonObject
from ..models import StartWorkflowRequest as StartWorkflowRequest
from ..models import Task as Task
from ..models import TaskDef as TaskDef
from ..models import TaskExecLog as TaskExecLog
from ..models import TaskResult as TaskResult
from ..models import TaskResultStatus as TaskResultStatus
from ..models import TaskStatus as TaskStatus
from ..models import Workflow as Workflow
from ..models import WorkflowStatus as WorkflowStatus
from ..models import camel_case as camel_case
from ..models import conductor_converter as conductor_converter
from ..models import encode_result as encode_result
from ..models import from_json_obj as from_json_obj
from ..models import to_json_obj as to_json_obj
from ._capability import DeliveryCapability, ResultRoute
from ._client import BatchAnswer, ConductorClient
from ._errors import AuthenticationError, ConductorError, RequestRejected, ServerUnavailable
from ._flavours import AKABOT, CONDUCTOR, Flavour
from ._tokens import Credentials, IssuedToken, OAuth2ClientCredentials, OrkesKey

__all__ = [
    "AKABOT",
    "CONDUCTOR",
    "AuthenticationError",
    "BatchAnswer",
    "ConductorClient",
    "ConductorError",
    "Credentials",
    "DeliveryCapability",
    "Flavour",
    "IssuedToken",
    "OAuth2ClientCredentials",
    "OrkesKey",
    "RequestRejected",
    "ResultRoute",
    "ServerUnavailable",
]
__all__ += models.__all__
