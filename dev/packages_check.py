"""The feature packages (models/<package>/: consent, automation, incident,
privacy...) and the core they extend.

    python dev/packages_check.py                 the core names no package
    python dev/packages_check.py --strip FOLDER  turn a copy of the module in
                                                 FOLDER into the core alone

The core is every file of the module outside the packages' folders
(models/<package>/, controllers/<package>/, views/<package>/, data/<package>/,
demo/<package>/, security/<package>/, tests/<package>/). The check fails when
a core file imports a package, or names a model a package defines or a field a
package adds to a core model: the core reaches a package only through the
hooks it calls by name. The packages register themselves in the __init__.py
files and the manifest, the only core lines that name them. hooks.py (the
uninstall hook) cleans up after every part of the module and is not checked:
it only touches records that exist (the server actions of type Send customer
message exist only with the automation package).

--strip deletes the packages' folders, their manifest lines and __init__
imports, and the core tests that build on a package, so that dev/core-check can
install and test the core alone.
"""

import argparse
import ast
import pathlib
import re
import shutil
import subprocess
import sys

FOLDERS = (
    "models",
    "wizards",
    "controllers",
    "views",
    "data",
    "demo",
    "security",
    "tests",
)
MODEL_NAME = re.compile(r'^\s{4}_name = "([\w.]+)"', re.M)
CLASS = re.compile(r"^class \w+\(.*?\):\n(.*?)(?=^class |\Z)", re.M | re.S)
INHERITS = re.compile(r"^\s{4}_inherit = (.*?)\n\n", re.M | re.S)
FIELD = re.compile(r"^\s{4}(\w+) = fields\.\w+\(", re.M)


def packages(root):
    return sorted(path.parent.name for path in (root / "models").glob("*/__init__.py"))


def package_names(root, names):
    """{package: (models, fields on core models)} defined by each package."""
    result = {}
    for package in names:
        texts = [p.read_text() for p in (root / "models" / package).glob("*.py")]
        result[package] = (set(), set())
        for text in texts:
            for body in CLASS.findall(text):
                inherit = INHERITS.search(body)
                result[package][0].update(
                    name
                    for name in MODEL_NAME.findall(body)
                    # an Odoo model redefined with a mixin is not the package's
                    if not (inherit and f'"{name}"' in inherit.group(1))
                )
    own_models = set().union(*(models for models, _fields in result.values()))
    for package in names:
        for path in (root / "models" / package).glob("*.py"):
            for body in CLASS.findall(path.read_text()):
                inherits = INHERITS.search(body)
                extended = set(
                    re.findall(r'"([\w.]+)"', inherits.group(1) if inherits else "")
                )
                name = MODEL_NAME.search(body)
                if name and name.group(1) not in extended:
                    continue  # a model of the package's own
                if extended - own_models:
                    result[package][1].update(FIELD.findall(body))
    # a name the core also gives a field of its own (state...) is the core's
    core_fields = set()
    for path in (root / "models").glob("*.py"):
        core_fields.update(FIELD.findall(path.read_text()))
    for _models, fields in result.values():
        fields -= core_fields
    return result


def core_files(root, names):
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        parts = pathlib.PurePosixPath(name).parts
        if parts[0] not in FOLDERS + ("report", "tools"):
            continue
        if len(parts) > 2 and parts[1] in names:
            continue
        if name.endswith((".py", ".xml", ".csv")):
            yield name


def check(root):
    names = packages(root)
    defined = package_names(root, names)
    problems = []
    alternatives = "|".join(names)
    import_re = re.compile(
        rf"^\s*from \.+(?:models\.|controllers\.)?({alternatives})\b", re.M
    )
    for name in core_files(root, names):
        text = (root / name).read_text()
        if name.endswith("__init__.py"):
            # the registration lines: from . import <package>, and the
            # packages' tests
            text = "\n".join(
                line
                for line in text.splitlines()
                if not re.match(rf"from \.({alternatives})? import", line)
            )
        elif import_re.search(text) and not name.startswith("tests/"):
            problems.append(f"{name}: imports a package")
        for package, (models, fields) in defined.items():
            for model in models:
                xmlid = model.replace(".", "_")
                pattern = rf"""["']{re.escape(model)}["']|model_{xmlid}\b"""
                if re.search(pattern, text) and not name.startswith("tests/"):
                    problems.append(f"{name}: names the model {model} of {package}")
            for field in fields:
                if re.search(rf"""["']{field}["']""", text) and not name.startswith(
                    "tests/"
                ):
                    problems.append(f"{name}: names the field {field} of {package}")
    return problems


def strip(root):
    """Make the copy in ``root`` the core alone."""
    names = packages(root)
    defined = package_names(root, names)
    for folder in FOLDERS:
        for package in names:
            shutil.rmtree(root / folder / package, ignore_errors=True)
    manifest_path = root / "__manifest__.py"
    manifest = ast.literal_eval(manifest_path.read_text())
    for key in ("data", "demo"):
        manifest[key] = [
            path
            for path in manifest.get(key, [])
            if pathlib.PurePosixPath(path).parts[1] not in names
        ]
    manifest_path.write_text(repr(manifest))
    alternatives = "|".join(names)
    registration = re.compile(
        rf"^from \.({alternatives})? import ({alternatives})\b.*\n", re.M
    )
    for init in (
        "models/__init__.py",
        "wizards/__init__.py",
        "controllers/__init__.py",
    ):
        path = root / init
        path.write_text(registration.sub("", path.read_text()))
    # the core tests that build on a package go with it
    words = set().union(*(models | fields for models, fields in defined.values()))
    quoted = "|".join(map(re.escape, words))
    words_re = re.compile(rf"""["']({quoted})["']|\.({alternatives})\.""")
    tests_init = root / "tests" / "__init__.py"
    kept = []
    for node in ast.parse(tests_init.read_text()).body:
        # from . import test_x (core), not from .<package> import ...
        if not isinstance(node, ast.ImportFrom) or node.module:
            continue
        for alias in node.names:
            test = (root / "tests" / f"{alias.name}.py").read_text()
            if not words_re.search(test):
                kept.append(alias.name)
    tests_init.write_text("".join(f"from . import {name}\n" for name in kept))
    return names, kept


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strip", type=pathlib.Path)
    args = parser.parse_args()
    if args.strip:
        names, tests = strip(args.strip)
        print(f"core alone: removed {', '.join(names)}; tests kept: {', '.join(tests)}")
        return 0
    root = pathlib.Path(__file__).resolve().parent.parent
    problems = check(root)
    for problem in problems:
        print(problem)
    verdict = f"{len(problems)} problem(s)" if problems else "the core names none"
    print(f"packages {', '.join(packages(root))}: {verdict}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
