"""LTI 1.3: tfquiz as a tool that courses in an LMS (Moodle, Canvas) launch.

The protocol itself (OIDC login, id_token checks, service tokens) is pylti1p3's; these
modules hold what is tfquiz's: the registered platforms, the tool's keys, and the adapters
between FastAPI and the library.
"""
