"""The grading pool's worker process (``python -m delegate.scoring.worker JOBS_FD ANSWERS_FD``):
it serves grading jobs from one pipe and answers on the other, one at a time, until the pool's
end of the jobs pipe closes.

A job is a tuple: ``("grade", text, gold, answer_type, rel_tol, markers)`` answers a
:class:`~delegate.scoring.grade.Grade`; ``("same", a, b, answer_type, rel_tol)`` answers whether
two extracted answers are equal. A job that raises answers the exception's text as a string.
The worker ignores SIGINT (Ctrl-C reaches the whole process group; the pool decides when its
workers end) and exits when the pool's end of the pipe closes, so it never outlives the pool.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from multiprocessing.connection import Connection
from typing import Any

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def warm() -> None:
    """Import math-verify and sympy and grade one answer, so that the first real check does not
    pay for the imports."""
    from delegate.scoring import grade

    grade(r"\boxed{\frac{1}{2}}", "0.5", "latex")


def run(job: tuple[Any, ...]) -> Any:
    from delegate.scoring import answers_match, grade

    kind, *args = job
    if kind == "grade":
        return grade(*args)
    if kind == "same":
        a, b, answer_type, rel_tol = args
        return a == b or answers_match(a, b, answer_type, rel_tol)
    raise ValueError(f"unknown grading job {kind!r}")


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this process when its parent ends, even mid-check (a
    thread could not: sympy may hold the interpreter lock for minutes). Elsewhere the closed
    pipe ends the worker at its next job."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent ended before the request took effect
        os._exit(0)


def serve(jobs: Connection, answers: Connection) -> None:
    """The worker's main loop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    warm()
    answers.send("ready")
    while True:
        try:
            job = jobs.recv()
        except (EOFError, OSError):
            return
        try:
            answer = run(job)
        except Exception as e:  # a bad job must not end the worker
            answer = f"{type(e).__name__}: {e}"
        answers.send(answer)


if __name__ == "__main__":
    serve(
        Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False)
    )
