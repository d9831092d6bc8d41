"""Every refusal and field message is built from a registered code (read from the source).

The package source is parsed (``ast``) and every place that builds a
``ValidationError``, ``FieldError``, ``Reason``, ``RejectedFileError``,
``PermissionDeniedError`` or ``InvalidTransitionError`` -- and every file
refusal (``reason(Rule.X, ...)``, ``Findings.refuse(Rule.X, ...)``) -- is
checked: a literal code must be in :data:`aligner_core.codes.CODES` (with its
``rule:problem`` variant), its keyword parameters must fill the template, and
no message may be free text (a string literal, an f-string, a concatenation).
A code held in a variable is allowed only at the sites listed in ``DYNAMIC``.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import aligner_core
from aligner_core.codes import CODES, PARAM_LABELS, english, template_of
from aligner_core.files.reasons import Rule

PACKAGE = Path(aligner_core.__file__).parent

#: Sites that pass a code held in a variable (module, enclosing function): each passes
#: codes that are literals elsewhere in the same module, or a code taken from a coded error.
DYNAMIC = {
    ("domain/_checks.py", "_fail"),  # codes from the validators below it
    ("domain/lifecycle.py", "_input"),  # _input(code, path, **params): literal at call sites
    ("domain/accounts.py", "rule"),  # _matches(pattern, code): literal codes at the call sites
    ("domain/fields.py", "_wrong"),  # always "wrong_type"; ``expected`` varies
    ("domain/teeth.py", "_bad"),
    ("domain/teeth.py", "bad"),
    ("domain/teeth.py", "from_mapping"),  # re-paths a coded FieldError
    ("pictures/_raster.py", "_bad_mesh"),
    ("files/reasons.py", "reason"),  # builds the Reason of a Rule
    ("files/checks.py", "refuse"),  # Findings.refuse(rule, problem, **params)
    ("files/checks.py", "_note"),
    ("files/checks.py", "check_pdf"),  # rules from the _PDF_RAW table
    ("files/checks.py", "_walk_pdf"),  # rules from the _PDF_KEYS table
    ("files/checks.py", "_check_pdf_name"),  # rules from the _PDF_ACTIONS/_SUBTYPES tables
    ("files/checks.py", "_check_member_name"),  # the variant from _unsafe_path (literals)
    ("errors.py", "of"),
}

#: Uncoded sites in the storage adapters: none are left, and none may come back.
STORAGE_DEBT: dict[str, int] = {}

ERRORS_WITH_LISTS = {"ValidationError": 0, "RejectedFileError": 1, "InvalidTransitionError": 3}


@attrs.frozen
class Problem:
    where: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.what}"


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _is_free_text(node: ast.AST) -> bool:
    """A message written in place: a string literal, an f-string, a concatenation or format."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return _is_free_text(node.left) or _is_free_text(node.right)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"format", "join"}
        and isinstance(node.func.value, ast.Constant)
    )


def _rule_code(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Rule"
    ):
        return Rule[node.attr].value
    return None


def _literals(node: ast.AST | None) -> list[str] | None:
    """The string values a variant argument can take, or None when it is not literal."""
    if node is None:
        return []
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return [node.value] if node.value is not None else []
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, where: str) -> None:
        self.where = where
        self.functions: list[str] = ["<module>"]
        self.problems: list[Problem] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def problem(self, node: ast.AST, what: str) -> None:
        self.problems.append(Problem(self.where, getattr(node, "lineno", 0), what))

    def dynamic_ok(self) -> bool:
        return (self.where, self.functions[-1]) in DYNAMIC

    def check_code(
        self, node: ast.Call, code: ast.AST | None, variants: list[str] | None, params: set[str]
    ) -> None:
        """A literal code is registered (with its variants) and its parameters fill it."""
        literal: str | None = None
        if code is None:
            self.problem(node, "no code")
            return
        if isinstance(code, ast.Constant) and isinstance(code.value, str):
            literal = code.value
        else:
            literal = _rule_code(code)
        if literal is None:
            if _is_free_text(code):
                self.problem(node, "a code built from text")
            elif not self.dynamic_ok():
                self.problem(node, f"a code held in a variable in {self.functions[-1]}()")
            return
        if literal not in CODES:
            self.problem(node, f"unregistered code {literal!r}")
            return
        if variants is None:
            if not self.dynamic_ok():
                self.problem(node, f"a variant of {literal!r} held in a variable")
            return
        for variant in variants or [None]:
            key = literal if variant is None else f"{literal}:{variant}"
            if key not in CODES:
                self.problem(node, f"unregistered variant {key!r}")
                continue
            if "**" not in params:
                missing = _placeholders(CODES[key]) - params - {"problem"}
                if missing:
                    self.problem(node, f"{key!r} needs {sorted(missing)}")

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = node.func
        keywords = {k.arg: k.value for k in node.keywords}
        names = {k.arg or "**" for k in node.keywords}
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner, method = func.value.id, func.attr
            if owner in {"ValidationError", "FieldError"} and method == "of":
                self.check_code(node, node.args[0] if node.args else None, [], names)
            elif owner == "ValidationError" and method == "single":
                if "code" not in keywords:
                    self.problem(node, "ValidationError.single without a code (use .of)")
                else:
                    self.check_code(node, keywords["code"], [], {"**"})
            elif owner == "Reason" and method == "coerce" and self.where != "errors.py":
                self.problem(node, "Reason.coerce turns free text into a reason")
        if isinstance(func, ast.Name):
            self.visit_named(node, func.id, keywords, names)
        if isinstance(func, ast.Attribute) and func.attr == "refuse":
            args = node.args
            variants = _literals(args[1]) if len(args) > 1 else []
            self.check_code(node, args[0] if args else None, variants, names)

    def visit_named(
        self, node: ast.Call, name: str, keywords: dict[str | None, ast.expr], names: set[str]
    ) -> None:
        args = node.args
        if name == "FieldError" and self.where != "errors.py":  # errors.py: the compat path
            if (args and _is_free_text(args[0])) or "code" not in keywords:
                self.problem(node, "FieldError built from text (use FieldError.of)")
            else:
                self.check_code(node, keywords["code"], [], {"**"})
        elif name == "Reason" and self.where != "errors.py":
            params: set[str] = {"**"}
            if len(args) > 1 and isinstance(args[1], ast.Dict):
                params = {k.value for k in args[1].keys if isinstance(k, ast.Constant)}
                if any(k is None for k in args[1].keys):
                    params.add("**")
            variant: list[str] | None = []
            if len(args) > 1 and isinstance(args[1], ast.Dict):
                for k, v in zip(args[1].keys, args[1].values, strict=True):
                    if isinstance(k, ast.Constant) and k.value == "problem":
                        variant = _literals(v)
            self.check_code(node, args[0] if args else None, variant, params)
        elif name == "reason":
            variants = _literals(args[1]) if len(args) > 1 else []
            self.check_code(node, args[0] if args else None, variants, names)
        elif name == "_note":
            variants = _literals(args[2]) if len(args) > 2 else []
            self.check_code(node, args[1] if len(args) > 1 else None, variants, names)
        elif name in ERRORS_WITH_LISTS:
            at = ERRORS_WITH_LISTS[name]
            listed = args[at] if len(args) > at else keywords.get("reasons", keywords.get("errors"))
            if isinstance(listed, ast.List | ast.Tuple):
                for item in listed.elts:
                    if _is_free_text(item):
                        self.problem(node, f"{name} with a message written as text")
        elif name == "PermissionDeniedError":
            why = args[3] if len(args) > 3 else keywords.get("reason")
            if why is not None and _is_free_text(why):
                self.problem(node, "PermissionDeniedError with a reason written as text")


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        yield where, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def scan() -> list[Problem]:
    found: list[Problem] = []
    for where, tree in _sources():
        scanner = _Scanner(where)
        scanner.visit(tree)
        found += scanner.problems
    return found


def test_every_message_outside_storage_is_built_from_a_registered_code() -> None:
    problems = [p for p in scan() if not p.where.startswith("storage/")]
    assert not problems, "\n".join(map(str, problems))


def test_storage_gains_no_uncoded_message() -> None:
    """The storage adapters' uncoded sites (being rewritten) may only go away."""
    counts: dict[str, int] = {}
    for p in scan():
        if p.where.startswith("storage/"):
            counts[p.where] = counts.get(p.where, 0) + 1
    grown = {w: n for w, n in counts.items() if n > STORAGE_DEBT.get(w, 0)}
    assert not grown, (grown, [str(p) for p in scan() if p.where in grown])


def test_the_scanner_catches_free_text() -> None:
    source = """
def f():
    raise ValidationError.single("must be blue", "$.colour")
    raise ValidationError.of("no_such_code")
    raise ValidationError.of("out_of_range", min=1)
    FieldError(f"bad {x}", "$")
    Reason.coerce("text")
    reason(Rule.PDF_MALFORMED, "no_such_variant")
    found.refuse(Rule.TOO_LARGE, "of_kind", limit=3)
    RejectedFileError(name, ["too big"])
    PermissionDeniedError(a, "act", None, "nope")
    InvalidTransitionError(1, "draft", "submit", [f"missing {x}"])
    raise ValidationError.of(code)
    """
    scanner = _Scanner("example.py")
    scanner.visit(ast.parse(source))
    assert [p.line for p in scanner.problems] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]


def test_every_file_rule_has_a_template() -> None:
    assert {r.value for r in Rule} <= CODES.keys()
    for code in CODES:
        rule, _, variant = code.partition(":")
        assert rule in CODES, code
        assert not variant or variant.isidentifier(), code


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_template_formats_with_its_own_parameters(code: str) -> None:
    rule, _, variant = code.partition(":")
    params: dict[str, object] = {name: 7 for name in _placeholders(CODES[code])}
    if variant:
        params["problem"] = variant
    text = english(rule, params)
    assert "{" not in text.replace("{" + "}", ""), text
    assert template_of(rule, params) == CODES[code]


def test_word_parameters_have_labels_for_every_value() -> None:
    for name, labels in PARAM_LABELS.items():
        assert labels, name
        assert all(isinstance(v, str) and v for v in labels.values()), name
