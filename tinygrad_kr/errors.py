"""How the engine adds context to an error without changing it."""

from __future__ import annotations


def add_note(e: BaseException, note: str) -> None:
    """Attach `note` (which op, which shapes) to an exception that is about to propagate,
    keeping its type, message and traceback, so `except` clauses and the failing line stay as
    they were. Python 3.11+ shows the note under the message; on 3.10 the message is led by
    it instead."""
    if hasattr(e, "add_note"):
        e.add_note(note)
    elif e.args and isinstance(e.args[0], str):
        e.args = (f"{note}: {e.args[0]}",) + e.args[1:]
