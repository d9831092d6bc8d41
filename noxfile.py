"""Development sessions: tests (every Python 3.11+), typecheck, lint, examples, browser, bench,
i18n."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.sessions = ["tests", "typecheck", "lint", "examples", "browser"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent


def _works(python: str) -> bool:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[:2] >= (3, 11))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == "True"


def find_pythons() -> list[str]:
    """Every CPython >= 3.11 on this machine: PATH first, then pyenv's versions, one per minor."""
    found: dict[str, str] = {}
    candidates = [shutil.which(f"python3.{minor}") for minor in range(11, 20)]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(
        glob.glob(os.path.join(pyenv_root, "versions", "3.1[1-9]*", "bin", "python3.1[1-9]"))
    )
    candidates.append(sys.executable)
    for path in candidates:
        if not path or not _works(path):
            continue
        minor = subprocess.run(
            [path, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        found.setdefault(minor, path)
    return [found[k] for k in sorted(found, key=lambda v: tuple(map(int, v.split("."))))]


PYTHONS = find_pythons()


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite (PostgreSQL tests need ALIGNER_CORE_TEST_POSTGRES_DSN).

    The reference portal's tests are the ``browser`` session's (they need the extra
    ``portal`` and Debian's Chromium).
    """
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "not browser", *session.posargs)


@nox.session(python=PYTHONS[-1:] or None)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package, the typing tests and the reference portal."""
    session.install("-e", ".[dev,portal]")
    session.run("mypy", "--strict", "src", "tests/typing", "examples/portal")


@nox.session(python=PYTHONS[:1] or None)
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the import-layer contract."""
    session.install("ruff>=0.6", "import-linter>=2.0", "-e", ".")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session(python=PYTHONS[:1] or None)
def examples(session: nox.Session) -> None:
    """Run every script in examples/; any failure fails the session."""
    session.install("-e", ".[all]", "aiosmtpd>=1.4")
    scripts = sorted((ROOT / "examples").glob("*.py"))
    if not scripts:
        session.error("no examples found")
    tmp = session.create_tmp()
    for script in scripts:
        session.log(f"--- {script.name}")
        session.run("python", str(script), env={"ALIGNER_CORE_EXAMPLE_DIR": tmp})


@nox.session(python=PYTHONS[:1] or None)
def browser(session: nox.Session) -> None:
    """The reference portal served on loopback and walked in Debian's Chromium.

    Chromium is ``/usr/bin/chromium`` (``apt-get install chromium chromium-driver``),
    never a browser Playwright downloads. Without it the tests skip, under
    ``ALIGNER_CORE_CI=1`` they fail. Screenshots land in ``build/screenshots/``.
    """
    session.install("-e", ".[test,portal]")
    session.run("pytest", "-m", "browser", "tests/browser", *session.posargs)


#: Benchmarks that take ``--big`` (a 1M-case round); the others never see it.
SIZED_BENCHMARKS = ("bench_storage.py", "bench_postgres.py")


@nox.session(python=PYTHONS[:1] or None)
def bench(session: nox.Session) -> None:
    """Benchmarks: ratios against a floor or a peer measured in the same run (``-- --big``)."""
    session.install("-e", ".[test]")
    big = "--big" in session.posargs
    others = [a for a in session.posargs if a != "--big"]
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.log(f"--- {script.name}")
        sized = ["--big"] if big and script.name in SIZED_BENCHMARKS else []
        session.run("python", str(script), *others, *sized)


LOCALE = "src/aligner_core/locale"
_ENGLISH_IS_THE_MSGID = """
import sys
from babel.messages.pofile import read_po, write_po

path = sys.argv[1]
with open(path, "rb") as fh:
    catalog = read_po(fh)
for message in catalog:
    if message.id:
        message.string = message.id
        message.flags.discard("fuzzy")
with open(path, "wb") as fh:
    write_po(fh, catalog, width=None)
"""


@nox.session(python=PYTHONS[:1] or None)
def i18n(session: nox.Session) -> None:
    """Catalogs: extract the N_() texts, update every .po (English = msgid), compile the .mo.

    ``nox -s i18n -- init fr`` starts a catalog for another language first. Translate
    the new or changed msgids in the .po files, then run the session again and commit
    the .po and .mo files (tests/unit/test_i18n_catalogs.py checks both).
    """
    session.install("Babel>=2.12")
    pot = f"{LOCALE}/aligner_core.pot"
    session.run(
        "pybabel", "extract", "-F", "babel.cfg", "-k", "N_", "--no-location",
        "--omit-header", "--sort-output", "--no-wrap", "-o", pot, "src/aligner_core",
    )  # fmt: skip
    if session.posargs[:1] == ["init"]:
        for language in session.posargs[1:]:
            session.run(
                "pybabel", "init", "-i", pot, "-d", LOCALE, "-D", "aligner_core",
                "-l", language, "--no-wrap",
            )  # fmt: skip
    session.run(
        "pybabel", "update", "-i", pot, "-d", LOCALE, "-D", "aligner_core",
        "--no-fuzzy-matching", "--ignore-obsolete", "--no-wrap",
    )  # fmt: skip
    session.run("python", "-c", _ENGLISH_IS_THE_MSGID, f"{LOCALE}/en/LC_MESSAGES/aligner_core.po")
    session.run("pybabel", "compile", "-d", LOCALE, "-D", "aligner_core", "--statistics")
