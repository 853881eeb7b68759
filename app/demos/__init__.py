"""Live TensorFlow demos, split at the process boundary.

Web side: ``pool``, ``sandbox``, ``cgroups``, ``runs``, ``expectations``, ``playground``.
Sandbox side: ``worker`` and ``capture``, the only code that runs beside a snippet.
Both sides speak only through ``protocol``.
"""
