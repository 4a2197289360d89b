"""Packaging check of the addon, run by dev/package-check (see there).

    python dev/package_check.py --checkout DIR --work DIR --odoo DIR --odoo-python PY

DIR is a git clone of the repository in a folder that is not named after the
addon. In a throwaway virtual environment made with this Python: the wheel
built by ``pip wheel`` from the clone, and the sdist and the wheel built from
that sdist by ``python -m build``, both with the build requirements that
pyproject.toml names (pip fetches them, as for any user). Then checks that:

- both wheels are named odoo_addon_customer_messages-<manifest version>...,
  whatever the clone's folder, and hold the same files;
- the wheel holds the addon and only it: every file under git control except
  the repository's own (dev/, docs/, .ci/, readme/, dotfiles, pyproject.toml,
  test-requirements.txt), under odoo/addons/customer_messages/, no caches, with
  every file the manifest loads;
- ``pip install`` of the wheel puts odoo/addons/customer_messages/__manifest__.py
  into the environment's site-packages;
- ``pip install --target`` of the clone itself gives a folder where Odoo (run
  with the project's Python and Odoo source) finds the module in odoo.addons
  and imports it.

Exits non-zero on the first failed check, saying which.
"""

import argparse
import ast
import email.parser
import fnmatch
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ADDON = "customer_messages"
DIST = "odoo_addon_customer_messages"
NOT_ADDON_TOP = {"dev", "docs", "readme", "test-requirements.txt", "pyproject.toml"}
# pip, and build for the sdist; nothing else is installed here
BUILD_FRONTEND = "build==1.6.1"


def fail(message):
    print(f"package check FAILED: {message}")
    sys.exit(1)


def run(*command, cwd=None):
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
        fail(f"{' '.join(str(part) for part in command)} exited {result.returncode}")
    return result.stdout


def expected_files(checkout):
    """The addon's files: those under git control less the repository's own."""
    tracked = run("git", "ls-files", "-z", cwd=checkout).split("\0")
    return {
        name
        for name in tracked
        if name
        and name.split("/")[0] not in NOT_ADDON_TOP
        and not any(part.startswith(".") for part in name.split("/"))
    }


def wheel_files(wheel, version):
    names = zipfile.ZipFile(wheel).namelist()
    prefix = f"odoo/addons/{ADDON}/"
    dist_info = f"{DIST}-{version}.dist-info/"
    stray = [n for n in names if not n.startswith((prefix, dist_info))]
    if stray:
        fail(f"{wheel.name} holds files outside {prefix}: {stray[:10]}")
    return {n[len(prefix) :] for n in names if n.startswith(prefix)}


def metadata(wheel, version):
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(f"{DIST}-{version}.dist-info/METADATA").decode()
    return email.parser.HeaderParser().parsestr(text)


def check_content(files, expected, manifest, wheel):
    bad = sorted(
        name
        for name in files
        if name.split("/")[0] in NOT_ADDON_TOP
        or any(part.startswith(".") for part in name.split("/"))
        or "__pycache__" in name.split("/")
        or name.endswith((".pyc", ".pyo", ".log", ".orig", ".rej", "~"))
    )
    if bad:
        fail(f"{wheel.name} holds files that are not the addon's: {bad[:20]}")
    if files != expected:
        missing, extra = sorted(expected - files)[:20], sorted(files - expected)[:20]
        fail(
            f"{wheel.name} differs from the addon's files under git control: "
            f"missing {missing}, extra {extra}"
        )
    needed = ["__init__.py", "__manifest__.py", *manifest["data"], *manifest["demo"]]
    missing = [name for name in needed if name not in files]
    if missing:
        fail(f"{wheel.name} lacks files that the manifest loads: {missing}")
    for bundle, globs in manifest.get("assets", {}).items():
        for pattern in globs:
            if isinstance(pattern, (tuple, list)):
                # ("remove" | "include" | "after"..., path...): the last is a path
                if pattern[0] == "include":
                    continue
                pattern = pattern[-1]
            local = pattern.split("/", 1)[1]
            # Odoo's "**/" also matches no folder at all
            locals_ = {local, local.replace("**/", "")}
            if not any(fnmatch.fnmatch(name, p) for name in files for p in locals_):
                fail(f"{wheel.name}: no file for the asset {pattern} of {bundle}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkout", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--odoo", type=Path, required=True)
    parser.add_argument("--odoo-python", required=True)
    args = parser.parse_args()
    checkout, work = args.checkout.resolve(), args.work.resolve()
    if checkout.name == ADDON:
        fail(f"the clone must not be in a folder named {ADDON}, to check the name")
    manifest = ast.literal_eval((checkout / "__manifest__.py").read_text())
    version = manifest["version"]

    env = work / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    pip = [python, "-m", "pip", "--disable-pip-version-check", "-q"]
    run(*pip, "install", BUILD_FRONTEND)

    print(f"building the wheel of {checkout} with pip wheel")
    run(*pip, "wheel", "--no-deps", "-w", work / "pip", checkout)
    print("building the sdist, then the wheel from it, with python -m build")
    run(python, "-m", "build", "-o", work / "build", checkout)

    wheels = sorted((work / "pip").glob("*.whl")) + sorted(
        (work / "build").glob("*.whl")
    )
    sdists = sorted((work / "build").glob("*.tar.gz"))
    if len(wheels) != 2 or len(sdists) != 1:
        fail(f"expected two wheels and one sdist, got {wheels + sdists}")
    contents = []
    for wheel in wheels:
        print(f"  {wheel.parent.name}/{wheel.name}")
        if not wheel.name.startswith(f"{DIST}-{version}") or not wheel.name.endswith(
            "-py3-none-any.whl"
        ):
            fail(f"{wheel.name}: not {DIST}-{version}[.N]-py3-none-any.whl")
        dist_version = wheel.name.split("-")[1]
        info = metadata(wheel, dist_version)
        if info["Name"] != "odoo-addon-customer_messages":
            fail(f"{wheel.name}: distribution name {info['Name']}")
        series = ".".join(version.split(".")[:2])
        if f"odoo=={series}.*" not in (info.get_all("Requires-Dist") or []):
            fail(f"{wheel.name}: does not require odoo=={series}.*")
        contents.append(wheel_files(wheel, dist_version))
    print(f"  {sdists[0].name}")
    if contents[0] != contents[1]:
        fail(
            "the wheel built from the sdist differs from the one built from the "
            f"checkout: {sorted(contents[0] ^ contents[1])[:20]}"
        )
    expected = expected_files(checkout)
    check_content(contents[0], expected, manifest, wheels[0])
    print(f"the wheel holds the addon's {len(contents[0])} files and nothing else")

    print("pip install of the wheel into a throwaway virtual environment")
    run(*pip, "install", "--no-deps", wheels[0])
    site = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).strip()
    ).joinpath("odoo", "addons", ADDON)
    if not (site / "__manifest__.py").is_file():
        fail(f"pip install left no {site}/__manifest__.py")
    print(f"  {site}/__manifest__.py is there")

    print(f"pip install --target of the clone ({checkout.name}/)")
    target = work / "target"
    run(*pip, "install", "--no-deps", "--target", target, checkout)
    if not (target / "odoo" / "addons" / ADDON / "__manifest__.py").is_file():
        fail(f"pip install --target left no odoo/addons/{ADDON}/__manifest__.py")
    found = run(
        args.odoo_python,
        "-c",
        "import sys; sys.path[:0] = sys.argv[1:3]\n"
        "import odoo.addons\n"
        "from odoo.modules.module import get_module_path\n"
        f"path = get_module_path({ADDON!r})\n"
        f"import odoo.addons.{ADDON}\n"
        "print(path)",
        target,
        args.odoo,
    ).strip()
    if Path(found) != target / "odoo" / "addons" / ADDON:
        fail(f"Odoo finds {ADDON} in {found}, not in the installed folder")
    print(f"  Odoo finds and imports {ADDON} from {found}")
    print("package check passed")


if __name__ == "__main__":
    main()
