"""Child process of bench.demo_overhead: time a snippet exec'd in an already warm TF process.

Reads ``{"code": ..., "warmup": N, "repeats": M}`` as JSON on stdin, imports TensorFlow,
runs the snippet ``warmup`` times, then prints ``{"seconds": [...], "stdout": ...}``: the
wall time of each of ``repeats`` runs (compile and exec in a fresh namespace, stdout
redirected to a StringIO) and the output of the last one.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time


def run_once(code: str) -> tuple[float, str]:
    """Compile and exec the snippet once with stdout captured; return seconds and output."""
    buffer = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(buffer):
        exec(compile(code, "<demo>", "exec"), {"__name__": "__main__"})
    return time.perf_counter() - started, buffer.getvalue()


def main() -> None:
    """Warm up, time the runs and print them as JSON."""
    request = json.load(sys.stdin)
    import tensorflow  # noqa: F401 - imported before timing, as in a warm worker

    code = str(request["code"])
    output = ""
    for _ in range(int(request["warmup"])):
        run_once(code)
    seconds = []
    for _ in range(int(request["repeats"])):
        elapsed, output = run_once(code)
        seconds.append(elapsed)
    print(json.dumps({"seconds": seconds, "stdout": output}))  # noqa: T201


if __name__ == "__main__":
    main()
