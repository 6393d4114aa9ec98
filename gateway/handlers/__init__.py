"""HTTP handlers: one module per resource (chat completions, responses, models, admin), independent of each other.

The model endpoints share `requests` (read, validate, resolve), `attempts` (one upstream attempt; failover with
health), `relay` (priming a stream and answering) and `validation` (request bodies).
"""
