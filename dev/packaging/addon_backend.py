"""Build backend of the customer_messages addon (PEP 517): whool, on the addon alone.

The root of this repository is the addon. Run on it, whool would name the
distribution after the checkout folder (``odoo-addon-main`` for a clone in
``main``, ``odoo-addon-pip-req-build-...`` for ``pip install git+...``) and
package every file under git control, the tooling (``dev/``, ``docs/``,
``.ci/``) included. This backend copies the addon's own files into a folder
named after the addon and lets whool build there: the distribution is
``odoo-addon-customer_messages`` wherever the checkout is, and its name,
version (the manifest's, with whool's git post-version when built from a git
checkout), dependencies and classifiers are whool's, from the manifest.

The files taken are the ones under git control (as whool does), or every file
of the folder when it is not a git checkout or is an unpacked sdist, less the
repository's own files listed in ``NOT_ADDON``.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from email.generator import Generator
from pathlib import Path

from manifestoo_core.metadata import metadata_from_addon_dir
from whool import buildapi as whool

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ADDON = "customer_messages"
# Top-level entries of the repository that are not part of the addon: the
# tooling, its documentation and CI, the readme fragments, the test
# requirements and the build files. Names starting with a dot (.ci, .git,
# linters' settings) are left out too, as are caches and build output.
NOT_ADDON = {
    "dev",
    "docs",
    "readme",
    "build",
    "dist",
    "test-requirements.txt",
    "pyproject.toml",
    "PKG-INFO",
}
# What the sdist needs besides the addon to build the wheel again.
SDIST_EXTRA = ("pyproject.toml", "dev/packaging/addon_backend.py")


def _is_addon_file(relpath):
    parts = Path(relpath).parts
    if parts[0] in NOT_ADDON or any(part.startswith(".") for part in parts):
        return False
    if "__pycache__" in parts or relpath.endswith((".pyc", ".pyo")):
        return False
    return not parts[0].endswith(".egg-info")


def _source_files(source):
    """The files of the source folder, relative paths."""
    if not (source / "PKG-INFO").is_file():
        try:
            listed = subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--", "."],
                cwd=source,
                check=True,
                capture_output=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            listed = b""
        files = [name for name in listed.decode().split("\0") if name]
        if files:
            return [name for name in files if (source / name).is_file()]
    return [
        str(path.relative_to(source))
        for path in sorted(source.rglob("*"))
        if path.is_file() and not path.is_symlink()
    ]


def _options(source):
    pyproject = source / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    with open(pyproject, "rb") as file:
        return tomllib.load(file).get("tool", {}).get("whool", {})


def _stage(source, folder, sdist=False):
    """Copy the addon's files from ``source`` into ``folder/customer_messages``
    with a PKG-INFO naming the distribution and its version; return it."""
    source = source.resolve()
    staged = folder / ADDON
    staged.mkdir()
    files = _source_files(source)
    for name in files:
        if _is_addon_file(name) or (sdist and name in SDIST_EXTRA):
            target = staged / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target)
    if not sdist and (source / "pyproject.toml").is_file():
        # whool reads its options there (and leaves the file out of the wheel)
        shutil.copy2(source / "pyproject.toml", staged / "pyproject.toml")
    if (source / "PKG-INFO").is_file():
        # an unpacked sdist: its name and version were decided when it was made
        shutil.copy2(source / "PKG-INFO", staged / "PKG-INFO")
    else:
        # the source seen through a link named after the addon: whool takes the
        # name from the folder and the version from the manifest and git
        link = folder / "named" / ADDON
        link.parent.mkdir()
        link.symlink_to(source, target_is_directory=True)
        metadata = metadata_from_addon_dir(link, _options(source))
        with open(staged / "PKG-INFO", "w", encoding="utf-8") as file:
            Generator(file, mangle_from_=False, maxheaderlen=0).flatten(metadata)
    return staged


def _in_stage(hook, directory, sdist=False):
    """Run whool's ``hook`` in the staged addon; ``directory`` receives its output."""
    source = Path.cwd()
    directory = os.path.abspath(directory)
    with tempfile.TemporaryDirectory(prefix="customer_messages-build-") as folder:
        staged = _stage(source, Path(folder), sdist=sdist)
        os.chdir(staged)
        try:
            return hook(directory)
        finally:
            os.chdir(source)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _in_stage(whool.build_wheel, wheel_directory)


def build_sdist(sdist_directory, config_settings=None):
    return _in_stage(whool.build_sdist, sdist_directory, sdist=True)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _in_stage(whool.prepare_metadata_for_build_wheel, metadata_directory)
