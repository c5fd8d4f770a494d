"""LiteRT.js, the browser runtime of `kerazoo export --format web`, vendored from the npm registry.

A web export's folder runs its `.tflite` file in the browser with LiteRT.js (`@litertjs/core`, Apache
2.0, Google), whose files go into the folder so the page needs no network. They are fetched once, at
build time (`setup.py` runs `fetch()`; `python -m kerazoo.web.vendor` does it by hand), from the npm
registry at the pinned versions below, checked against the registry's sha512 integrity, and unpacked
into `kerazoo/web/litertjs/` with the licence and a NOTICE that names their source.

Only the standard library: `setup.py` runs this file in the build environment.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "litertjs"
REGISTRY = "https://registry.npmjs.org"

# name: (version, sha512 integrity from the registry, files kept from the package)
PACKAGES = {
    "@litertjs/core": (
        "2.5.3",
        "sha512-PlGmbMOq9WitX7FO0jhbdJw9GthatsyuCQXjTt/wJZo0FLaw48q4tz8IwqgqCIkviYGr9OFDL1kCnN4nzWoyJQ==",
        (
            "package.json",
            "dist/index.js",
            # LiteRT.js picks the build by the browser's features: relaxed SIMD, else the compat one.
            "wasm/litert_wasm_internal.js",
            "wasm/litert_wasm_internal.wasm",
            "wasm/litert_wasm_compat_internal.js",
            "wasm/litert_wasm_compat_internal.wasm",
        ),
    ),
    "@litertjs/wasm-utils": (
        "2.5.3",
        "sha512-4fJiw6tBQnIs+0jH/OQ16nYOiSl8/+zZnn5h2ul8aTKHi05sVqZW580Tmk78pC2kT39A9OYBVdFawteZ/sI1kQ==",
        ("package.json", "dist/index.js"),
    ),
}
STAMP = "VERSIONS.json"


class VendorError(RuntimeError):
    """LiteRT.js is not vendored and cannot be fetched."""


def folder(name: str) -> str:
    """The package's folder under `litertjs/`: `@litertjs/core` -> `core`."""
    return name.split("/")[-1]


def tarball_url(name: str, version: str) -> str:
    return f"{REGISTRY}/{name}/-/{folder(name)}-{version}.tgz"


def expected_stamp() -> dict:
    return {name: version for name, (version, _, _) in PACKAGES.items()}


def vendored() -> Path | None:
    """The vendored folder if it holds the pinned versions, else None."""
    try:
        stamp = json.loads((TARGET / STAMP).read_text())
    except (OSError, ValueError):
        return None
    return TARGET if stamp == expected_stamp() else None


def _download(url: str, integrity: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data = response.read()
    algorithm, _, digest = integrity.partition("-")
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != digest:
        raise VendorError(f"{url} does not match its registry integrity {integrity[:20]}...: not vendored.")
    return data


def fetch(target: Path | None = None, timeout: float = 60.0) -> Path:
    """Download, check and unpack the pinned packages into `target` (replaced whole; nothing is left
    half-written). Returns `target`.

    Raises:
        VendorError: the registry cannot be reached or a download does not match its integrity.
    """
    target = Path(target or TARGET)
    tmp = Path(tempfile.mkdtemp(prefix=".litertjs-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        notice = [
            "LiteRT.js, vendored by kerazoo from the npm registry for `kerazoo export --format web`.",
            "",
        ]
        for name, (version, integrity, files) in PACKAGES.items():
            url = tarball_url(name, version)
            try:
                data = _download(url, integrity, timeout)
            except OSError as e:
                raise VendorError(f"Cannot download {url} ({e}).") from None
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                for file in files:
                    member = archive.extractfile(f"package/{file}")
                    if member is None:
                        raise VendorError(f"{name}@{version} has no {file}.")
                    path = tmp / folder(name) / file
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(member.read())
            notice += [f"{name}@{version}: {url} ({integrity})", "License: Apache-2.0 (LICENSE)", ""]
        notice.append("Copyright Google LLC. Source: https://github.com/google-ai-edge/LiteRT (litert/js).")
        shutil.copy(HERE / "LICENSE-APACHE-2.0.txt", tmp / "LICENSE")
        (tmp / "NOTICE").write_text("\n".join(notice) + "\n")
        (tmp / STAMP).write_text(json.dumps(expected_stamp(), indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


def ensure() -> Path:
    """The vendored LiteRT.js folder; fetched now if missing (needs the npm registry once).

    Raises:
        VendorError: missing and the registry cannot be reached (one line: what to do).
    """
    found = vendored()
    if found is not None:
        return found
    try:
        return fetch()
    except (VendorError, OSError) as e:
        raise VendorError(
            f"LiteRT.js (the web page's runtime) is not in this install and cannot be fetched from the npm "
            f"registry ({e}). Run `python -m kerazoo.web.vendor` where the registry is reachable."
        ) from None


def main(argv=None) -> int:
    try:
        path = fetch()
    except VendorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"LiteRT.js {PACKAGES['@litertjs/core'][0]} vendored into {path} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
