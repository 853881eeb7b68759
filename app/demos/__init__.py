"""Live TensorFlow demos, split at the process boundary.

Web side: ``pool`` and ``process`` (the workers), ``fairqueue`` (the order runs get them
in), ``coalesce`` (identical runs at once share one), ``sandbox`` and ``cgroups`` (their
containment), ``runs`` (the cache and live runs), ``expectations``, ``playground``.
Sandbox side: ``worker``, ``capture`` and ``snippet``, the only code that runs beside a
snippet. Both sides speak only through ``protocol``, which the sandbox side imports too.
"""
