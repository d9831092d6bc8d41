"""aligner_core.i18n: codes, errors and labels in a person's language, without a global locale."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import threading
from enum import Enum

import pytest

import aligner_core
import aligner_core.domain
from aligner_core import i18n
from aligner_core._labels import ENUM_PARAMS, LABELS
from aligner_core.codes import CODES, english
from aligner_core.domain.accounts import Role
from aligner_core.domain.cases import CaseKind, CaseStatus
from aligner_core.domain.prescriptions import WearSchedule
from aligner_core.domain.records import FileKind
from aligner_core.errors import (
    MAX_LISTED,
    ConcurrencyConflictError,
    FieldError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    Reason,
    StorageError,
    ValidationError,
)
from aligner_core.files.reasons import Rule, reason, refused


def _domain_enums() -> list[type[Enum]]:
    found: dict[str, type[Enum]] = {}
    for info in pkgutil.walk_packages(aligner_core.domain.__path__, "aligner_core.domain."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Enum)
                and value.__module__ == module.__name__
            ):
                found[value.__qualname__] = value
    return list(found.values())


SHOWN = [
    "CaseStatus", "CaseKind", "Gender", "Role", "AccountStatus", "FileKind", "ImpressionType",
    "ToothState", "Arches", "TreatmentScope", "Adjustment", "Choice", "Design", "Shade",
    "Dentition", "Approach", "WearSchedule", "RetainerType", "LingualRange",
    "ReplacementReason", "ClinicalFeature", "CollaboratorPermission", "Action", "EventType",
    "Notation",
]  # fmt: skip


def test_every_enum_of_the_domain_has_a_label_for_every_member() -> None:
    enums = _domain_enums()
    assert {e.__name__ for e in enums} >= set(SHOWN)
    for enum_cls in enums:
        assert enum_cls in LABELS, enum_cls.__name__
        assert set(LABELS[enum_cls]) == {m.value for m in enum_cls}, enum_cls.__name__
        for language in i18n.languages():
            shown = [text for _, text in i18n.options(enum_cls, language)]
            assert all(shown), (enum_cls, language)
            assert len(set(shown)) == len(shown), (enum_cls, language, "two options alike")


def test_every_public_enum_has_labels() -> None:
    public = [getattr(aligner_core, n) for n in aligner_core.__all__]
    for value in public:
        if isinstance(value, type) and issubclass(value, Enum):
            assert value in LABELS, value


def test_labels_and_options_in_german() -> None:
    assert i18n.label(CaseStatus.WAITING_FOR_APPROVAL, "de") == "Wartet auf Freigabe"
    assert i18n.label(FileKind.UPPER_SCAN, "de") == "Oberkiefer-Scan"
    assert i18n.label(CaseStatus.SHIPPED, "en") == "Shipped"
    assert i18n.label(CaseStatus.SHIPPED) == "Shipped"
    assert i18n.options(Role, "de") == [
        ("doctor", "Behandler"),
        ("planner", "Behandlungsplaner"),
        ("production", "Produktion"),
        ("admin", "Administrator"),
    ]
    assert i18n.options(WearSchedule, "de")[0] == (7, "7 Tage pro Aligner")


def test_an_enum_without_labels_is_an_error() -> None:
    class Colour(enum.StrEnum):
        RED = "red"

    with pytest.raises(KeyError, match="Colour"):
        i18n.label(Colour.RED, "de")


@pytest.mark.parametrize(
    ("given", "used"),
    [("de", "de"), ("de-AT", "de"), ("de_CH", "de"), ("DE", "de"), ("en-GB", "en"),
     ("fr", "en"), ("", "en"), (None, "en"), ("x-klingon-1", "en")],
)  # fmt: skip
def test_a_language_falls_back_to_its_base_then_english(given: str | None, used: str) -> None:
    assert i18n.resolve(given) == used


def test_languages_lists_english_first() -> None:
    assert i18n.languages()[0] == "en"
    assert "de" in i18n.languages()


def test_translate_fills_parameters_and_translates_words() -> None:
    assert i18n.translate("scan_missing", {"arch": "upper"}, "de") == "Oberkiefer-Scan fehlt"
    assert i18n.translate("scan_missing", {"arch": "lower"}, "de-AT") == "Unterkiefer-Scan fehlt"
    assert i18n.translate("scan_missing", {"arch": "upper"}, "fr") == "upper scan missing"
    assert (
        i18n.translate("confirmation_missing", {"confirmation": "privacy"}, "de")
        == "Bestätigung „Datenschutz“ fehlt"
    )
    assert i18n.translate("wrong_type", {"expected": "integer"}, "de") == (
        "muss eine ganze Zahl sein"
    )
    assert i18n.translate("case_exists", {"number": 123}, "de") == "Fall 123 existiert bereits"
    assert i18n.translate("no_such_code", {}, "de") == "no_such_code"


def test_enum_values_in_parameters_are_shown_by_their_labels() -> None:
    params = {"number": 7, "state": "in_production", "allowed": "shipped or closed"}
    assert i18n.translate("parent_state", params, "de") == (
        "Ursprungsfall 7 ist im Status „In Produktion“; "
        "erforderlich ist Versandt oder Abgeschlossen"
    )
    assert i18n.translate("parent_state", params, "en") == english("parent_state", params)
    held = {"needed": "admin, owner", "held": "none"}
    assert "[Administrator des Praxisverbunds, behandelnder Arzt]" in i18n.translate(
        "needs_relation", held, "de"
    )


def test_a_value_that_is_data_is_never_translated() -> None:
    """``{field!r}`` shows what the user sent, even when it happens to be a known word."""
    assert i18n.translate("unexpected_field", {"field": "carrier"}, "de") == (
        "unerwartetes Feld 'carrier'"
    )
    assert i18n.translate("shipping_field_missing", {"field": "carrier"}, "de") == (
        "Versanddienstleister fehlt"
    )


@pytest.mark.parametrize("code", sorted(CODES))
def test_english_translation_is_the_reasons_text(code: str) -> None:
    rule, _, variant = code.partition(":")
    params: dict[str, object] = {"problem": variant} if variant else {}
    params |= {name: 3 for name in ("count", "max", "min", "number", "limit", "size")}
    assert i18n.translate(rule, params, "en") == english(rule, params)
    assert i18n.translate(rule, params, "de") != ""


def test_file_reasons_translate_without_the_file_name() -> None:
    error = refused(
        "Jane Doe.stl", [reason(Rule.TOO_LARGE, "of_kind", limit=100, kind="upper_scan")]
    )
    text = i18n.message(error, "de")
    assert text == (
        "Datei abgelehnt: größer als die Grenze von 100 Bytes für Dateien der Art „Oberkiefer-Scan“"
    )
    assert "Jane" not in text
    assert i18n.message(reason(Rule.PDF_JAVASCRIPT), "de") == "PDF enthält JavaScript"
    shown = i18n.message(reason(Rule.EXECUTABLE, executable="an ELF executable"), "de")
    assert shown == "ausführbarer Inhalt abgelehnt: ein ausführbares ELF-Programm"


def test_message_of_a_validation_error_lists_every_field() -> None:
    error = ValidationError(
        [
            FieldError.of("required", "$.last_name"),
            FieldError.of("wrong_type", "$.age", expected="integer"),
        ]
    )
    assert i18n.message(error, "de") == (
        "Eingabe ungültig: Pflichtfeld fehlt @ $.last_name; muss eine ganze Zahl sein @ $.age"
    )
    assert i18n.message(error.errors[1], "de") == "muss eine ganze Zahl sein"
    assert i18n.message(error, "en") == str(error)


def test_message_of_a_long_validation_error_counts_the_rest() -> None:
    error = ValidationError([FieldError.of("blank", f"$.f{i}") for i in range(MAX_LISTED + 5)])
    text = i18n.message(error, "de")
    assert text.count("darf nicht leer sein") == MAX_LISTED
    assert text.endswith("und 5 weitere")


def test_message_of_an_invalid_transition_lists_every_reason() -> None:
    error = InvalidTransitionError(
        123,
        "draft",
        "submit",
        [Reason("scan_missing", {"arch": "upper"}), Reason("request_missing")],
    )
    assert i18n.message(error, "de") == (
        "Fall 123: „Übermitteln“ ist im Status „Entwurf“ nicht möglich: "
        "Oberkiefer-Scan fehlt; Behandlungsauftrag fehlt"
    )
    assert i18n.message(error, "en") == str(error)


def test_message_of_other_errors() -> None:
    denied = PermissionDeniedError("u1", "submit", "Case 4", Reason("not_permitted"))
    assert i18n.message(denied, "de") == (
        "„Übermitteln“ ist nicht erlaubt: für diesen Benutzer nicht erlaubt"
    )
    assert i18n.message(PermissionDeniedError("u1", "create case"), "de").startswith(
        "„Fall anlegen“ ist nicht erlaubt"
    )
    assert i18n.message(NotFoundError("case", 123), "de") == "Fall 123 nicht gefunden"
    assert "Fall" in i18n.message(ConcurrencyConflictError("case", 1, 2, 3), "de")
    assert i18n.message(StorageError("disk on fire"), "de") == (
        "die Fallablage ist nicht erreichbar: bitte später erneut versuchen"
    )
    assert i18n.message("plain text", "de") == "plain text"


def test_free_text_from_an_older_adapter_is_shown_as_it_was_given() -> None:
    old = Reason.coerce("the disk is full")
    assert i18n.message(old, "de") == "the disk is full"


def test_enum_parameters_name_enums_with_labels() -> None:
    for enums in ENUM_PARAMS.values():
        assert all(e in LABELS for e in enums)
    assert CaseKind in ENUM_PARAMS["kind"]


def test_threads_in_different_languages_do_not_disturb_each_other() -> None:
    """No process-wide locale: each call is in the language it names."""
    errors: list[str] = []
    expected = {"de": "Oberkiefer-Scan fehlt", "en": "upper scan missing"}

    def work(language: str) -> None:
        for _ in range(300):
            got = i18n.translate("scan_missing", {"arch": "upper"}, language)
            if got != expected[language]:
                errors.append(got)

    threads = [threading.Thread(target=work, args=(lang,)) for lang in ["de", "en"] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
