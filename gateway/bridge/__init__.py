"""The Responses bridge, both ways, between Chat Completions and OpenAI Responses (pure; no I/O).

Unlike other packages, this one re-exports its public names: it is the interface the gateway handlers code
against (see docs/bridge.md). Forward (chat callers, Responses backends): `chat_responses_request` (chat
request → Responses request), `chat_responses` (Responses answer → one chat completion),
`chat_responses_stream` (stream translator), `shaping` (per-provider request rules), `input_normalisation`,
`recovery` (rebuild an empty terminal output), `folding` (`/v1/responses` pass-through helpers). Reverse
(Responses callers, chat backends): `responses_chat_request`, `responses_chat_tools`, `responses_chat` (chat
answer → Response), `responses_chat_stream`. Shared: `usage`, `errors`, `events` (SSE events → dicts).
"""

from gateway.bridge.chat_responses import FoldResult, chat_completion_from_response, fold_chat_completion
from gateway.bridge.chat_responses_request import map_chat_request, to_responses_request
from gateway.bridge.chat_responses_stream import ResponsesToChatStream
from gateway.bridge.errors import (
    BridgeRequestError,
    ChatError,
    error_from_event,
    error_from_upstream_http,
    stream_truncated_error,
)
from gateway.bridge.events import decode_events, parse_event_data, parse_events
from gateway.bridge.folding import ResponseFolder, ResponseFoldResult, ResponsesStreamRecovery
from gateway.bridge.input_normalisation import normalize_input
from gateway.bridge.recovery import RecoveryOutcome, RecoverySource
from gateway.bridge.responses_chat import (
    ResponseFrame,
    ResponseResult,
    response_from_chat_completion,
    usage_from_chat,
)
from gateway.bridge.responses_chat_request import ChatRequestPlan, to_chat_request
from gateway.bridge.responses_chat_stream import ChatToResponsesStream
from gateway.bridge.shaping import CODEX_BASE_INSTRUCTIONS, prepare_responses_request, probe_request, shape_for_provider
from gateway.bridge.usage import usage_to_chat

__all__ = [
    "CODEX_BASE_INSTRUCTIONS",
    "BridgeRequestError",
    "ChatError",
    "ChatRequestPlan",
    "ChatToResponsesStream",
    "FoldResult",
    "RecoveryOutcome",
    "RecoverySource",
    "ResponseFoldResult",
    "ResponseFolder",
    "ResponseFrame",
    "ResponseResult",
    "ResponsesStreamRecovery",
    "ResponsesToChatStream",
    "chat_completion_from_response",
    "decode_events",
    "error_from_event",
    "error_from_upstream_http",
    "fold_chat_completion",
    "map_chat_request",
    "normalize_input",
    "parse_event_data",
    "parse_events",
    "prepare_responses_request",
    "probe_request",
    "response_from_chat_completion",
    "shape_for_provider",
    "stream_truncated_error",
    "to_chat_request",
    "to_responses_request",
    "usage_from_chat",
    "usage_to_chat",
]
