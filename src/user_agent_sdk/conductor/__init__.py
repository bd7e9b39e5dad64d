"""The Conductor wire: data models and their one JSON converter."""

from ._capability import DeliveryCapability, ResultRoute
from ._client import AKABOT, CONDUCTOR, BatchAnswer, ConductorClient, Flavour, encode_result
from ._converter import camel_case, conductor_converter, from_json_obj, to_json_obj
from ._errors import AuthenticationError, ConductorError, RequestRejected, ServerUnavailable
from ._models import (
    JsonObject,
    StartWorkflowRequest,
    Task,
    TaskDef,
    TaskExecLog,
    TaskResult,
    TaskResultStatus,
    TaskStatus,
    Workflow,
    WorkflowStatus,
)
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
    "JsonObject",
    "OAuth2ClientCredentials",
    "OrkesKey",
    "RequestRejected",
    "ResultRoute",
    "ServerUnavailable",
    "StartWorkflowRequest",
    "Task",
    "TaskDef",
    "TaskExecLog",
    "TaskResult",
    "TaskResultStatus",
    "TaskStatus",
    "Workflow",
    "WorkflowStatus",
    "camel_case",
    "conductor_converter",
    "encode_result",
    "from_json_obj",
    "to_json_obj",
]
