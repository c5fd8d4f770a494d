"""Models and tasks from outside the package (the timm way): a plugin is any importable module
whose import registers models (`@kerazoo.register_model` beside a `default_cfgs` dict) or tasks
(`@kerazoo.register_task`). Plugins are named, in this order of loading, by:

- the entry-point group `kerazoo.plugins` of installed packages (`[options.entry_points]
  kerazoo.plugins = my_models = my_package.models`), loaded on first use of the registry;
- the environment variable `KERAZOO_PLUGINS=mod1,mod2`, loaded on first use of the registry;
- `kerazoo --plugin MODULE COMMAND ...` (repeatable, before the command).

A plugin that fails to import raises `PluginError` with one line naming it (the CLI exits 2).
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib import metadata

__all__ = ["PluginError", "load_plugins", "PLUGINS_ENV", "ENTRY_POINT_GROUP"]

PLUGINS_ENV = "KERAZOO_PLUGINS"
ENTRY_POINT_GROUP = "kerazoo.plugins"

_loaded: set = set()
_started = False


class PluginError(ValueError):
    """A plugin module that cannot be imported (the CLI exits 2 with this)."""


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text[:200]}" if text else type(err).__name__


def _import(name: str, origin: str) -> None:
    if name in _loaded:
        return
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise PluginError(f"Plugin {name!r} ({origin}) is not a module name. Pass e.g. --plugin my_models")
    _loaded.add(name)
    if os.getcwd() not in sys.path:  # a module beside the user, as `python -m` would find it (last)
        sys.path.append(os.getcwd())
    try:
        importlib.import_module(name)
    except Exception as e:  # noqa: BLE001 - any failure of a user's module is reported in one line
        _loaded.discard(name)
        raise PluginError(f"Plugin '{name}' ({origin}) failed to import ({_describe(e)}).") from None


def load_plugins(modules=()) -> list:
    """Import the given plugin modules, and once per process those of the entry-point group and of
    `$KERAZOO_PLUGINS`. Returns the names of every plugin loaded so far.

    Raises:
        PluginError: a plugin that fails to import (named in the message).
    """
    global _started
    if not _started:
        _started = True
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.value in _loaded:
                continue
            try:
                ep.load()
            except Exception as e:  # noqa: BLE001
                raise PluginError(
                    f"Plugin '{ep.name}' (entry point {ep.value} of group {ENTRY_POINT_GROUP}) failed to "
                    f"import ({_describe(e)})."
                ) from None
            _loaded.add(ep.value)
        for name in os.environ.get(PLUGINS_ENV, "").split(","):
            if name.strip():
                _import(name.strip(), f"from ${PLUGINS_ENV}")
    for name in modules:
        _import(name, "from --plugin")
    return sorted(_loaded)
