"""The portal's addresses, as URL templates given to ``connect``: what e-mails link to."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import attrs

from aligner_core.errors import ValidationError

__all__ = ["Links"]


def _template(*needed: str) -> Callable[[object, attrs.Attribute[str], str], None]:
    def check(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
        ok = isinstance(value, str) and value.startswith(("https://", "http://"))
        if not ok or any("{" + name + "}" not in value for name in needed):
            raise ValidationError.of(
                "url_template",
                f"$.{attribute.name}",
                placeholders=", ".join("{" + n + "}" for n in needed),
            )

    return check


@attrs.frozen
class Links:
    """The portal's addresses, as URL templates: what e-mails and share links point to.

    ``case`` is filled with the case ``{number}`` (never the patient), ``share``
    with a share link's ``{token}``. The defaults suit a portal at ``portal``
    with routes ``/cases/{number}`` and ``/share/{token}``.
    """

    portal: str = attrs.field(default="https://portal.example/", validator=_template())
    case: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    share: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    #: where someone invited by e-mail without an account creates one (``{token}``)
    invitation: str = attrs.field(default="", validator=attrs.validators.instance_of(str))

    def __attrs_post_init__(self) -> None:
        root = self.portal if self.portal.endswith("/") else self.portal + "/"
        object.__setattr__(self, "portal", root)
        if not self.case:
            object.__setattr__(self, "case", root + "cases/{number}")
        if not self.share:
            object.__setattr__(self, "share", root + "share/{token}")
        if not self.invitation:
            object.__setattr__(self, "invitation", root + "invitations/{token}")
        _template("number")(self, attrs.fields(Links).case, self.case)
        _template("token")(self, attrs.fields(Links).share, self.share)
        _template("token")(self, attrs.fields(Links).invitation, self.invitation)

    def case_url(self, number: int) -> str:
        return self.case.replace("{number}", str(int(number)))

    def share_url(self, token: str) -> str:
        return self.share.replace("{token}", quote(token, safe=""))

    def invitation_url(self, token: str) -> str:
        return self.invitation.replace("{token}", quote(token, safe=""))
