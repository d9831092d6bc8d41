"""Messages, labels and e-mails in a person's language, from gettext catalogs.

The library speaks in *codes* (:mod:`aligner_core.codes`); this module shows
them in a language: refusal reasons, field errors and whole errors
(:func:`translate`, :func:`message`), the labels of every enum a shell shows
(:func:`label`, :func:`options`), and the texts of the notification e-mails
(:func:`gettext`, used by :mod:`aligner_core.notifications.messages`).

The catalogs live in ``aligner_core/locale/<lang>/LC_MESSAGES/aligner_core.po``
and are compiled to ``.mo`` files shipped in the wheel (``nox -s i18n``
extracts, updates and compiles them). Their msgids are the English texts, so
English (``en``) is the identity and the fallback for anything missing.

Every function takes the language as an argument: there is no process-wide
locale, so one process serves a German doctor and an English planner at the
same time. Catalogs are read once per language and kept (they are immutable,
so this is thread-safe). A language tag is resolved to the catalog used by
:func:`resolve`: ``de-AT`` falls back to ``de``, an unknown ``fr`` to ``en``.

In English a message reads exactly as the reason's ``str`` (enum values as
they are); in other languages enum values in parameters (a case's state, a
kind of case or file, an arch) are shown by their translated labels.

.. versionadded:: 0.2
"""

from __future__ import annotations

import functools
import gettext as _gettext
from collections.abc import Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Final, TypeVar

from aligner_core._labels import ENUM_PARAMS, LABELS, WORDS
from aligner_core.codes import english, fill, template_of, word_fields
from aligner_core.domain.money import Money
from aligner_core.domain.orders import RetainerType
from aligner_core.domain.packages import FollowUpKind
from aligner_core.domain.prices import Item, ItemKind
from aligner_core.domain.teeth import Arch
from aligner_core.errors import (
    MAX_LISTED,
    AlignerError,
    FieldError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    Reason,
    RejectedFileError,
    ValidationError,
)

__all__ = [
    "BASE_LANGUAGE",
    "DOMAIN",
    "LOCALE_DIR",
    "format_money",
    "gettext",
    "item_label",
    "label",
    "languages",
    "message",
    "options",
    "resolve",
    "translate",
]

#: The gettext domain: ``locale/<lang>/LC_MESSAGES/aligner_core.mo``.
DOMAIN: Final = "aligner_core"
#: Where the catalogs are (inside the installed package).
LOCALE_DIR: Final = Path(__file__).parent / "locale"
#: The language of the msgids, used for anything without a catalog.
BASE_LANGUAGE: Final = "en"

E = TypeVar("E", bound=Enum)
_MAX_TEXT: Final = 300  # errors keep texts up to this length (``errors._short``)


@functools.cache
def languages() -> tuple[str, ...]:
    """The languages with a compiled catalog, English first (``("en", "de")``)."""
    found = {
        path.parent.parent.name
        for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
        if path.is_file()
    }
    found.discard(BASE_LANGUAGE)
    return (BASE_LANGUAGE, *sorted(found))


def _normal(tag: str) -> str:
    return tag.strip().replace("_", "-").lower()


@functools.lru_cache(maxsize=256)
def resolve(language: str | None) -> str:
    """The catalog language used for ``language``: itself, its base language, or English.

    ``"de-AT"`` -> ``"de"``, ``"DE"`` -> ``"de"``, ``"fr"`` -> ``"en"``, ``None`` -> ``"en"``.
    """
    if not isinstance(language, str) or not language.strip():
        return BASE_LANGUAGE
    known = {_normal(lang): lang for lang in languages()}
    tag = _normal(language)
    while tag:
        if tag in known:
            return known[tag]
        tag = tag.rpartition("-")[0]
    return BASE_LANGUAGE


@functools.cache
def _catalog(language: str) -> _gettext.NullTranslations:
    """The compiled catalog of a resolved language (none: the identity, i.e. English)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with path.open("rb") as fh:
            return _gettext.GNUTranslations(fh)
    except FileNotFoundError:
        return _gettext.NullTranslations()


def gettext(text: str, language: str | None) -> str:
    """``text`` (an English msgid) in ``language``; itself when the catalog lacks it."""
    return _catalog(resolve(language)).gettext(text)


# -- labels ------------------------------------------------------------------------------------
def format_money(value: Money, language: str | None = BASE_LANGUAGE) -> str:
    """An exact amount as ``language`` writes it, with CLDR's symbol and separators
    (``€1,890.00`` in English, ``1.890,00 €`` in German) and the currency's own digits;
    the tag as given picks the region's format (``de-CH``), unlike the catalogs."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import format_currency

    try:
        locale = Locale.parse((language or BASE_LANGUAGE).replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        locale = Locale.parse(BASE_LANGUAGE)
    return format_currency(value.amount, value.currency.code, locale=locale)


def item_label(
    item: Item, language: str | None = BASE_LANGUAGE, names: Mapping[str, str] | None = None
) -> str:
    """A priced item as people read it (``Package: Comprehensive``, ``Replacement aligner:
    Upper``, ``Add-on: TPS``) rather than as a book keys it (``package:comprehensive``);
    ``names`` are the network's package and product names by code."""
    known = names or {}
    kinds: dict[ItemKind, type[Enum]] = {
        ItemKind.REPLACEMENT_ALIGNER: Arch,
        ItemKind.FOLLOW_UP: FollowUpKind,
        ItemKind.RETAINER_SET: RetainerType,
    }
    enum = kinds.get(item.kind)
    if enum is not None and item.code in {m.value for m in enum}:
        what = label(enum(item.code), language)
    elif item.code in known:
        what = known[item.code]
    else:  # an add-on's code: short ones are acronyms (tps), longer ones words (rush)
        words = item.code.replace("_", " ").replace("-", " ")
        what = words.upper() if len(words) <= 3 else words[:1].upper() + words[1:]
    return f"{label(item.kind, language)}: {what}"


def _english_label(member: Enum) -> str:
    labels = LABELS.get(type(member))
    if labels is None or member.value not in labels:
        raise KeyError(f"no label for {type(member).__name__}.{member.name}")
    return labels[member.value]


def label(member: Enum, language: str | None = BASE_LANGUAGE) -> str:
    """The label of an enum member in ``language`` (``CaseStatus.SHIPPED`` -> ``"Versandt"``).

    Raises ``KeyError`` for an enum without labels (every enum of the domain has them).
    """
    return gettext(_english_label(member), language)


def options(enum_cls: type[E], language: str | None = BASE_LANGUAGE) -> list[tuple[Any, str]]:
    """``(value, label)`` for every member of ``enum_cls``, in definition order (a select)."""
    return [(member.value, label(member, language)) for member in enum_cls]


# -- messages ----------------------------------------------------------------------------------
def _enum_label(name: str, value: str, language: str) -> str | None:
    """The translated label of ``value`` as a member of one of the enums of parameter ``name``."""
    for enum_cls in ENUM_PARAMS.get(name, ()):
        labels = LABELS.get(enum_cls, {})
        if value in labels:
            return gettext(labels[value], language)
    if value in WORDS:
        return gettext(WORDS[value], language)
    return None


def _enum_words(name: str, value: str, language: str) -> str | None:
    """A parameter naming enum members (one, or a list joined by ``, `` or `` or ``)."""
    single = _enum_label(name, value, language)
    if single is not None:
        return single
    for joiner, shown in ((" or ", f" {gettext(WORDS['or'], language)} "), (", ", ", ")):
        parts = value.split(joiner)
        if len(parts) > 1:
            labels = [_enum_label(name, part, language) for part in parts]
            if all(labels):
                return shown.join(labels)  # type: ignore[arg-type]
    return None


def _shown_params(template: str, params: Mapping[str, Any] | None, language: str) -> dict[str, Any]:
    shown = dict(params or {})
    if language == BASE_LANGUAGE:
        return shown
    for name in word_fields(template) & ENUM_PARAMS.keys():
        value = shown.get(name)
        if isinstance(value, str):
            words = _enum_words(name, value, language)
            if words is not None:
                shown[name] = words
    return shown


def translate(
    code: str, params: Mapping[str, Any] | None = None, language: str | None = BASE_LANGUAGE
) -> str:
    """The text of ``code`` with ``params`` in ``language`` (English when there is no catalog).

    Words among the parameters (:data:`~aligner_core.codes.PARAM_LABELS`, and in
    other languages than English enum values) are translated too; an unknown
    code is returned as given.
    """
    template = template_of(code, params)
    if template is None:
        return code
    lang = resolve(language)
    catalog = _catalog(lang)
    translated = catalog.gettext(template)
    shown = _shown_params(template, params, lang)
    return fill(translated, shown, catalog.gettext)


def _coded(text: str, code: str, params: Mapping[str, Any]) -> bool:
    """Whether ``text`` is the English of ``code`` (not free text under a generic code)."""
    if template_of(code, params) is None:
        return False
    made = english(code, params)
    return text in (made, made[: _MAX_TEXT - 3] + "...")


def _reason(reason: Reason, language: str) -> str:
    if not _coded(str(reason), reason.code, reason.params):
        return str(reason)  # free text from an older adapter: as it was given
    return translate(reason.code, reason.params, language)


def _field(error: FieldError, language: str) -> str:
    if not _coded(error.message, error.code, error.params):
        return error.message
    return translate(error.code, error.params, language)


def _joined(items: Iterable[str]) -> str:
    return "; ".join(items)


def message(obj: Reason | FieldError | AlignerError | str, language: str | None) -> str:
    """The whole text of a reason, a field error or an error in ``language``.

    A :class:`ValidationError` lists every field message (``msg @ $.path``), an
    :class:`InvalidTransitionError` and a :class:`RejectedFileError` every reason.
    Plain text is returned as it is.
    """
    lang = resolve(language)
    if isinstance(obj, Reason):
        return _reason(obj, lang)
    if isinstance(obj, FieldError):
        return _field(obj, lang)
    if isinstance(obj, ValidationError):
        listed = [f"{_field(e, lang)} @ {e.path}" for e in obj.errors[:MAX_LISTED]]
        more = len(obj.errors) - MAX_LISTED + obj.omitted
        if more > 0:
            listed.append(translate("and_more", {"count": more}, lang))
        return translate(
            "error.invalid_input", {"subject": obj.subject, "errors": _joined(listed)}, lang
        )
    if isinstance(obj, InvalidTransitionError):
        params = {
            "action": obj.action,
            "case": obj.case,
            "state": obj.state,
            "reasons": _joined(_reason(r, lang) for r in obj.reasons),
        }
        return translate("error.invalid_transition", params, lang)
    if isinstance(obj, RejectedFileError):
        reasons = _joined(_reason(r, lang) for r in obj.reasons)
        return translate("error.rejected_file", {"reasons": reasons}, lang)
    if isinstance(obj, PermissionDeniedError):
        params = {"action": obj.action, "reason": _reason(obj.reason, lang)}
        return translate("error.permission_denied", params, lang)
    if isinstance(obj, NotFoundError):
        return translate("error.not_found", {"what": obj.kind, "key": obj.key}, lang)
    if isinstance(obj, AlignerError):
        params = {"what": getattr(obj, "kind", "")}
        code = f"error.{obj.code}"
        if template_of(code) is None:
            code = "error.error"
        return translate(code, params, lang)
    return str(obj)
