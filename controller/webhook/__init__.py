"""The validating admission webhook for ModelAlias (docs/controller.md, "Admission webhook"): judge a write before it is stored.

- :mod:`controller.webhook.admission`: the pure decision (the conflict engine on "the inventory as it
  would be after this write", compared with the inventory as it is).
- :mod:`controller.webhook.review`: the AdmissionReview v1 HTTP edge (parse, decide, answer).
- :mod:`controller.webhook.server`: the HTTPS listener every replica runs, with a reloading certificate.

The reconciler stays the source of truth when the webhook is off or fails open.
"""
