"""The portal's JSON API: one POST per command, its OpenAPI built from the library's schemas."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from aligner_core.commands import COMMANDS
from aligner_core.testing.factories import registration

pytestmark = pytest.mark.browser


def call(portal: Any, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(portal.url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        text = refused.read()
        return refused.code, json.loads(text) if text.startswith(b"{") else text


def multipart(fields: dict[str, tuple[str, bytes] | str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        if isinstance(value, tuple):
            head = f'name="{name}"; filename="{value[0]}"\r\nContent-Type: model/stl'
            content = value[1]
        else:
            head, content = f'name="{name}"', value.encode()
        parts.append(
            f"--{boundary}\r\nContent-Disposition: form-data; {head}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


def test_the_openapi_document_carries_every_command_schema(portal: Any) -> None:
    status, doc = call(portal, "GET", "/openapi.json")
    assert status == 200
    schemas = doc["components"]["schemas"]
    assert set(COMMANDS) <= set(schemas)
    assert "carrier" in schemas["Ship"]["properties"]
    assert "patient" in schemas["CreateCase"]["properties"]
    ship = doc["paths"]["/api/cases/{case_id}/commands/Ship"]["post"]
    body = ship["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Ship"}
    attach = doc["paths"]["/api/cases/{case_id}/commands/AttachFile"]["post"]
    assert "multipart/form-data" in attach["requestBody"]["content"]


def test_commands_over_json_and_multipart_and_refusals_by_status(
    portal: Any, samples: Path
) -> None:
    core = portal.core
    admin = core.find_account("admin")
    planner = core.find_account("planner")
    doctor = core.register(registration("api-doctor", reference_code="SMILE-LAB"))
    core.activate(admin.account_id, doctor.account_id)
    me = {"X-User": str(doctor.account_id)}
    new = {
        "kind": "clear_aligners",
        "patient": {"last_name": "Api", "gender": "male"},
        "impression_type": "intraoral_scan",
    }
    status, case = call(portal, "POST", "/api/commands/CreateCase", new, **me)
    assert status == 200 and case["status"] == "draft"
    on_case = f"/api/cases/{case['case_id']}/commands"
    status, bad = call(portal, "POST", "/api/commands/CreateCase", {"kind": "x"}, **me)
    assert status == 422 and {e["path"] for e in bad["errors"]} == {"$.kind", "$.patient"}
    body, boundary = multipart(
        {
            "kind": "upper_scan",
            "content": ("Moon.stl", (samples / "binary" / "Moon.stl").read_bytes()),
        }
    )
    status, attached = call(
        portal,
        "POST",
        f"{on_case}/AttachFile",
        body,
        **me,
        **{"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 200, attached
    assert attached["records"]["files"][0]["name"] == "Moon.stl"
    status, refused = call(portal, "POST", f"{on_case}/Submit", {}, **me)
    assert status == 409 and refused["code"] == "invalid_transition"
    assert "lower scan missing" in [r["message"] for r in refused["reasons"]]
    status, denied = call(
        portal, "POST", f"{on_case}/DeleteDraft", {}, **{"X-User": str(planner.account_id)}
    )
    assert status == 403 and denied["code"] == "permission_denied"
    status, _ = call(portal, "POST", f"{on_case}/Comment", {"text": "via the API"}, **me)
    assert status == 200
    status, listed = call(portal, "GET", "/api/cases?q=Api", **me)
    assert status == 200 and listed["total"] == 1
    assert call(portal, "POST", f"{on_case}/Comment", {"text": "x"})[0] == 401
