"""Argument checks shared by the whole library (no TensorFlow: the runtime uses them too).

Each check raises `error` (a ValueError by default) with one line that names the argument, says what
was expected and what was received: "`epochs` must be a positive integer. Received: epochs=0".
`label` replaces the argument's name at the start of the sentence where users know it by another
spelling (`--batch-size` on the command line).
"""

from __future__ import annotations

import numbers

__all__ = [
    "check_int",
    "check_positive_int",
    "check_number",
    "check_choice",
    "check_rate",
    "check_file",
    "MAX_FILE_BYTES",
    "MAX_EPOCHS",
    "MAX_BATCH_SIZE",
    "MAX_SEED",
    "check_at_most",
]

# The largest file kerazoo reads (data, CSV, .tflite): larger ones are refused before they are opened.
MAX_FILE_BYTES = 2**31
# Sanity limits of a run: larger values are typos (a million epochs, a batch of a million examples);
# NumPy's and Python's seeding take 32 bits.
MAX_EPOCHS = 1_000_000
MAX_BATCH_SIZE = 2**20
MAX_SEED = 2**32 - 1


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(arg: str, value, minimum: int = 0, *, label: str | None = None, error=ValueError):
    """`value` must be an int (NumPy ints too, bools refused) >= `minimum`; returns it as an int."""
    if not _is_int(value) or value < minimum:
        want = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise error(f"{label or f'`{arg}`'} must be {want}. Received: {arg}={value!r}")
    return int(value)


def check_at_most(arg: str, value, limit, *, error=ValueError):
    """`value` must be at most `limit` (a sanity limit: larger values are typos)."""
    if value > limit:
        raise error(f"`{arg}` must be at most {limit:,}. Received: {arg}={value}")
    return value


def check_positive_int(arg: str, value, *, label: str | None = None, error=ValueError) -> int:
    """`value` must be an int >= 1 (bools refused); returns it as an int."""
    return check_int(arg, value, 1, label=label, error=error)


def check_number(
    arg: str,
    value,
    minimum: float = 0.0,
    maximum: float | None = None,
    *,
    strict: bool = False,
    label: str | None = None,
    error=ValueError,
) -> float:
    """`value` must be a real number >= `minimum` (> with `strict`) and, with `maximum`, <= it;
    returns it as a float."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or value != value  # NaN
        or (value <= minimum if strict else value < minimum)
        or (maximum is not None and value > maximum)
    ):
        relation = ">" if strict else ">="
        bound = f" and <= {maximum:g}" if maximum is not None else ""
        raise error(
            f"{label or f'`{arg}`'} must be a number {relation} {minimum:g}{bound}. Received: {arg}={value!r}"
        )
    return float(value)


def check_rate(arg: str, value, *, error=ValueError) -> float:
    """`value` must be a float in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise error(f"`{arg}` must be a number in [0, 1). Received: {arg}={value!r}")
    return float(value)


def check_choice(arg: str, value, choices, *, error=ValueError):
    """`value` must be one of `choices`."""
    if value not in choices:
        raise error(f"`{arg}` must be one of {list(choices)}. Received: {arg}={value!r}")
    return value


def check_file(
    path, what: str, *, limit: int = MAX_FILE_BYTES, error=ValueError, magic=None, offset: int = 0
):
    """`path` must be a readable regular file of at most `limit` bytes (and, with `magic`, hold those
    bytes at `offset`); returns it as a `Path`. `what` names the file in the message ("CSV file")."""
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        raise error(f"{what} '{path}' is a directory; pass a file.")
    if not path.is_file():
        raise error(f"{what} '{path}' does not exist.")
    size = path.stat().st_size
    if size > limit:
        raise error(
            f"{what} '{path}' is {size:,} bytes, over the {limit:,}-byte limit: not a file kerazoo reads."
        )
    if magic is not None:
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                head = f.read(len(magic))
        except OSError as e:
            raise error(f"Cannot read {what} '{path}': {e}.") from None
        if head != magic:
            raise error(
                f"'{path}' is not a valid {what} (no {magic.decode('latin-1')} identifier: it is truncated or another format)."
            )
    return path


# Image augmentation: a policy is "none" or "+"-joined transforms, each a Keras preprocessing layer
# that is active in training only and does nothing at inference.
AUGMENTATIONS = ("shift", "rotate", "flip")


def check_augment(value) -> tuple:
    """An augmentation policy as a tuple of transforms: `"none"` (or False/None) -> `()`, `"shift+flip"`
    -> `("shift", "flip")`; `True` is the digits policy `"shift+rotate"` (what `augment=True` meant)."""
    if value is True:
        return ("shift", "rotate")
    if value in (False, None, "none", ""):
        return ()
    parts = tuple(value.split("+")) if isinstance(value, str) else ()
    if not parts or any(p not in AUGMENTATIONS for p in parts) or len(set(parts)) != len(parts):
        raise ValueError(
            f"`augment` must be 'none' or transforms joined by '+' from {list(AUGMENTATIONS)} "
            f"(e.g. 'shift+flip'). Received: augment={value!r}"
        )
    return tuple(p for p in AUGMENTATIONS if p in parts)
