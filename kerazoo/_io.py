"""Writing outputs so that an interrupted or failed write leaves nothing behind (no TensorFlow).

Every writer in kerazoo (a training run, an export, an evaluation, a sample grid) builds its outputs in
one temporary sibling folder (`.NAME.XXXX.partial`) and renames them into place only once they are
complete: `atomic_write`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "check_output", "remove", "write_json"]


def remove(path) -> None:
    """Remove a file or a folder tree, if there is one."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def check_output(path, error=ValueError) -> Path:
    """`path` must be somewhere an output can be written: its nearest existing ancestor a folder that
    this process may write in (so a path inside a file, or under a read-only folder, fails at once,
    before any work). Returns it as a `Path`."""
    path = Path(path)
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise error(
            f"Cannot write '{path}': '{ancestor}' is a file, not a folder. Choose another output path."
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise error(
            f"Cannot write '{path}': folder '{ancestor}' is not writable. Choose another output path."
        )
    return path


@contextlib.contextmanager
def atomic_write(*targets):
    """Yield a temporary folder beside the first target. Write each target's content under its own
    name in that folder (a file, or a folder for a folder target); when the block succeeds, each one
    replaces its target. On any exception, or for a name left unwritten, the targets are untouched;
    the temporary folder is removed either way.

    Example:
        ```python
        with atomic_write(Path("runs/cnn")) as tmp:
            run = tmp / "cnn"
            run.mkdir()
            (run / "metrics.json").write_text("{}")
        ```
    """
    targets = [Path(t) for t in targets]
    first = targets[0]
    tmp = Path(tempfile.mkdtemp(prefix=f".{first.name}.", suffix=".partial", dir=first.parent))
    try:
        yield tmp
        for target in targets:
            built = tmp / target.name
            if built.exists():
                remove(target)
                os.replace(built, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path, obj) -> None:
    """`obj` as indented JSON (tuples as lists, anything else unknown as its `str`)."""
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, default=lambda o: list(o) if isinstance(o, tuple) else str(o))
        f.write("\n")
