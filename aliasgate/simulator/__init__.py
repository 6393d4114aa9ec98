"""A faithful upstream simulator: the OpenAI Responses and Chat Completions APIs, and ChatGPT's codex backend.

It is a real aiohttp app used by ``aliasgate demo``, the end-to-end tests and the benchmarks (where it is
the baseline, so the common path is cheap: one ``orjson`` pass and a single write per answer). Answers are
deterministic functions of the last user text; directives in that text (``#tool``, ``#reason``,
``#refuse``, ``#empty``, ``#incomplete``, ``#fail``, ``#cut``, ``#stall``, ``#garbage``, ``#status:NNN``,
``#slow``, ``#think``) select behaviours, so tests can drive them through the gateway. A fault queue
(:meth:`Simulator.enqueue`, ``POST /_sim/faults``) applies the same behaviours without touching the text.

Routes work under any prefix, so one simulator plays several base URLs: a prefix containing ``/codex``
behaves as ``chatgpt.com/backend-api/codex`` (SSE only, the 400 ``{"detail": ...}`` quirks listed in
docs/bridge.md, 403 on chat completions), any other prefix as ``api.openai.com/v1``.

Usage accounting: ``input_tokens`` is the word count of the last user text, ``output_tokens`` the number of
answer deltas actually sent (text, refusal or tool-argument deltas), ``reasoning_tokens`` 2 with ``#reason``.

Details beyond the directive list: a turn whose input ends with a tool result (``function_call_output`` /
a ``tool`` message) is answered ``Tool said: <output>`` instead of calling the tool again; ``#empty`` and
``empty_output_rate`` act on streams only (a JSON Response has no ``response.completed`` event); on a JSON
(non-stream) answer ``#fail`` gives a Response with status ``failed`` (Responses) or a 500 (Chat), ``#cut``
a truncated body, ``#garbage`` a non-JSON body. ``api-key`` (Azure) is accepted as a credential on non-codex
paths, api.openai.com's ``max_output_tokens >= 16`` rule is enforced, and chat completions under a codex
prefix answer 403 (that backend serves only Responses).

The package, one module per job: :mod:`~aliasgate.simulator.config` (the knobs), :mod:`~.directives`
(reading the turn and its directives), :mod:`~.state` (recordings, fault queue), :mod:`~.wire` (frames and
error shapes), :mod:`~.responses`, :mod:`~.chat` and :mod:`~.codex` (what each API answers),
:mod:`~.playing` (sending, paced or at once), :mod:`~.app` (routes and handlers), ``__main__`` (standalone).
It is a test double: it lives outside the product packages and is not copied into the gateway image.
"""

from aliasgate.simulator.app import create_simulator_app
from aliasgate.simulator.config import SimulatorConfig
from aliasgate.simulator.directives import DIRECTIVES
from aliasgate.simulator.state import RecordedRequest, Simulator, simulator_key

__all__ = ["DIRECTIVES", "RecordedRequest", "Simulator", "SimulatorConfig", "create_simulator_app", "simulator_key"]
