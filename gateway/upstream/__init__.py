"""The upstream side of the data plane: sending, failing over, and reading what came back.

Modules: `client` (the one pooled session; credentials attached via providers), `failures` (one failed attempt
and whether a retry may help), `failover` (retries and fallbacks over a route), `reading` (an upstream answer's
JSON or SSE events, with no `web.Request`, so the prober reads exactly as live traffic does). Nothing here knows
the client's HTTP request; the handlers and the prober both sit on top.
"""
