"""Plumbing both planes share (logging, flags, listen addresses, GC pausing, Kubernetes watching).

Imported by `gateway` and `controller`; imports neither.
"""
