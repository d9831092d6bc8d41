"""The catalogs: complete, faithful to their placeholders, and compiled from the .po committed.

Fails when a code, an enum label or an e-mail text lacks a translation in any
catalog, when a translation drops or adds a placeholder, or when a committed
``.mo`` is stale (``nox -s i18n`` extracts, updates and compiles them).
"""

from __future__ import annotations

import gettext
import io
import re
import string
from pathlib import Path

import pytest

babel = pytest.importorskip("babel")

from babel.messages.extract import extract_from_dir  # noqa: E402
from babel.messages.mofile import write_mo  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

from aligner_core import i18n  # noqa: E402
from aligner_core._labels import LABELS, WORDS  # noqa: E402
from aligner_core.codes import CODES, PARAM_LABELS  # noqa: E402
from aligner_core.notifications import messages  # noqa: E402

LOCALE = i18n.LOCALE_DIR
PACKAGE = LOCALE.parent
PO_LANGUAGES = sorted(p.parent.parent.name for p in LOCALE.glob("*/LC_MESSAGES/aligner_core.po"))
_DOLLAR = re.compile(r"\$(?:(\w+)|\{(\w+)\})")


def _po(language: str) -> dict[str, tuple[str, bool]]:
    path = LOCALE / language / "LC_MESSAGES" / "aligner_core.po"
    with path.open("rb") as fh:
        catalog = read_po(fh)
    return {m.id: (m.string, m.fuzzy) for m in catalog if m.id}  # type: ignore[misc]


def _extracted() -> set[str]:
    found = extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords={"N_": None, "_": None}
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def _email_texts() -> set[str]:
    texts = {"Sign in", "Case $case_number", "case $case_number"}
    for parts in [*messages._DEFAULT_PARTS.values(), messages._GENERIC]:
        texts |= {parts.subject, parts.text}
        if parts.action is not None:
            texts.add(parts.action)
    return texts


def _required() -> set[str]:
    needed = set(CODES.values()) | set(WORDS.values()) | _email_texts()
    for labels in PARAM_LABELS.values():
        needed |= set(labels.values())
    for table in LABELS.values():
        needed |= set(table.values())
    return needed


def _placeholders(text: str) -> tuple[set[str], set[str]]:
    """The ``{name!conv}`` fields and the ``$name`` fields of a text."""
    braces = {
        f"{name}!{conv}" if conv else name
        for _, name, _, conv in string.Formatter().parse(text)
        if name is not None
    }
    dollars = {a or b for a, b in _DOLLAR.findall(text)}
    return braces, dollars


def test_english_and_german_are_shipped() -> None:
    assert {"en", "de"} <= set(PO_LANGUAGES)
    assert set(i18n.languages()) == set(PO_LANGUAGES)


def test_every_code_label_and_email_text_is_marked_for_extraction() -> None:
    missing = _required() - _extracted()
    assert not missing, sorted(missing)


def test_the_template_holds_every_extracted_text() -> None:
    with (LOCALE / "aligner_core.pot").open("rb") as fh:
        template = {m.id for m in read_po(fh) if m.id}
    assert template == _extracted(), "run `nox -s i18n` to extract and update the catalogs"


@pytest.mark.parametrize("language", PO_LANGUAGES)
def test_every_text_is_translated(language: str) -> None:
    catalog = _po(language)
    missing = sorted(t for t in _extracted() if not catalog.get(t, ("", False))[0])
    assert not missing, f"{language}: {len(missing)} untranslated, e.g. {missing[:5]}"
    fuzzy = sorted(t for t, (_, is_fuzzy) in catalog.items() if is_fuzzy)
    assert not fuzzy, fuzzy
    obsolete = sorted(set(catalog) - _extracted())
    assert not obsolete, obsolete


@pytest.mark.parametrize("language", PO_LANGUAGES)
def test_translations_keep_their_placeholders(language: str) -> None:
    wrong = [
        (msgid, msgstr)
        for msgid, (msgstr, _) in _po(language).items()
        if msgstr and _placeholders(msgid) != _placeholders(msgstr)
    ]
    assert not wrong, wrong


def test_english_is_the_msgid() -> None:
    assert all(msgstr == msgid for msgid, (msgstr, _) in _po("en").items())


@pytest.mark.parametrize("language", PO_LANGUAGES)
def test_the_committed_mo_is_compiled_from_the_po(language: str) -> None:
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "aligner_core.po").open("rb") as fh:
        catalog = read_po(fh)
    fresh = io.BytesIO()
    write_mo(fresh, catalog)
    fresh.seek(0)
    compiled = gettext.GNUTranslations(fresh)
    with (folder / "aligner_core.mo").open("rb") as fh:
        committed = gettext.GNUTranslations(fh)
    assert committed._catalog == compiled._catalog, (  # type: ignore[attr-defined]
        f"{folder / 'aligner_core.mo'} is stale: run `nox -s i18n`"
    )


def test_german_is_really_german() -> None:
    """A translation equal to its msgid is allowed only for names, codes and numbers."""
    same = {msgid for msgid, (msgstr, _) in _po("de").items() if msgid == msgstr}
    allowed = {"A1", "A2", "A3", "Express", "Standard", "Status", "Retainer", "Refinement"}
    allowed |= {"Administrator", "Universal (1-32, A-T)"}
    assert same <= allowed, sorted(same - allowed)


def test_de_catalog_speaks_dental_lab_german() -> None:
    de = {msgid: msgstr for msgid, (msgstr, _) in _po("de").items()}
    assert de["Upper jaw"] == "Oberkiefer"
    assert de["{arch} scan missing"] == "{arch}-Scan fehlt"
    assert de["Case $case_number"] == "Fall $case_number"
    assert "Behandlungsplan" in de["Treatment plan uploaded"]
    assert de["Silicone impression"] == "Silikonabdruck"


def test_a_path_on_disk_is_where_the_package_looks() -> None:
    assert Path(i18n.__file__).parent / "locale" == i18n.LOCALE_DIR
