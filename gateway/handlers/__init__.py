"""HTTP handlers: one module per resource (chat completions, responses, models, admin)."""
