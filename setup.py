"""setuptools' build step, plus one thing setup.cfg cannot say: vendor LiteRT.js (the web export's
browser runtime) from the npm registry into the package data before the Python files are built
(`kerazoo/web/vendor.py`). Without the registry the build goes on and `kerazoo export --format web`
says what to do."""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def vendor_litertjs():
    path = Path(__file__).resolve().parent / "kerazoo" / "web" / "vendor.py"
    spec = importlib.util.spec_from_file_location("_kerazoo_web_vendor", path)
    vendor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vendor)
    if vendor.vendored() is None:
        try:
            vendor.fetch()
        except (vendor.VendorError, OSError) as e:
            print(f"warning: LiteRT.js not vendored ({e}); `kerazoo export --format web` will fetch it")


class BuildPy(build_py):
    def run(self):
        vendor_litertjs()
        super().run()


setup(cmdclass={"build_py": BuildPy})
