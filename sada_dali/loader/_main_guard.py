"""Refuse, with the fix in the last line, to start spawned workers from an unguarded script.

DALI starts its reader workers with the "spawn" method, which imports the main script anew
in every worker. A loader built at the top level of a script without an
``if __name__ == "__main__":`` guard is therefore built again inside each worker, which
tries to start workers of its own, and DALI ends with "Workers initialization failed"
after pages of tracebacks. This check finds the main script's top-level statement that
is running and raises before any worker starts.
"""

from __future__ import annotations

import ast
import sys

__all__ = ["check_main_guard"]


def _is_main_test(node) -> bool:
    """Whether ``node`` is ``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)):
        return False
    sides = [node.left, node.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


def _guarded(source: str, line: int) -> bool:
    """Whether ``line`` of ``source`` lies inside an ``if __name__ == "__main__":`` block."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True  # cannot tell: do not stand in the way
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test):
            if node.body[0].lineno <= line <= (node.body[-1].end_lineno or line):
                return True
    return False


def _main_frame_line():
    """``(path, line)`` of the main script's top-level statement on this call stack, or None."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None:
        return None  # interactive session or notebook: spawn does not re-run it
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            return path, frame.f_lineno
        frame = frame.f_back
    return None


def check_main_guard(workers: int) -> None:
    """Raise if ``workers > 0`` spawned processes would re-run the unguarded main script.

    Parameters
    ----------
    workers : int
        Worker processes a SADALoader is about to start with the "spawn" method.

    Raises
    ------
    RuntimeError
        When this call comes from top-level code of the main script that is not under an
        ``if __name__ == "__main__":`` guard. The message's last line says what to do.
    """
    if workers <= 0:
        return
    found = _main_frame_line()
    if found is None:
        return
    path, line = found
    try:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
    except OSError:
        return
    if not _guarded(source, line):
        raise RuntimeError(
            f"SADALoader(workers={workers}) was created by the top-level code of {path} (line {line}). "
            "Its workers "
            "start with the 'spawn' method, which re-runs that script in every worker, so each worker would "
            "create the loader again.\n"
            'Fix: put the script\'s code under `if __name__ == "__main__":`, or pass workers=0 to read files '
            "in this process."
        )
