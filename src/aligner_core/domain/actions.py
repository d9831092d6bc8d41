"""The actions a user can take on a case: the vocabulary shared by lifecycle and permissions."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Action"]


class Action(StrEnum):
    VIEW = "view"
    EDIT = "edit"
    SET_TEETH = "set_teeth"
    ATTACH = "attach"
    CONFIRM = "confirm"
    DELETE = "delete"
    SUBMIT = "submit"
    ACCEPT_ORDER = "accept_order"
    REFUSE_ORDER = "refuse_order"
    UPLOAD_PLAN = "upload_plan"
    ACCEPT_PLAN = "accept_plan"
    REJECT_PLAN = "reject_plan"
    REQUEST_MODIFICATION = "request_modification"
    HOLD = "hold"
    RELEASE = "release"
    CANCEL = "cancel"
    SHIP = "ship"
    CONFIRM_DELIVERY = "confirm_delivery"
    CLOSE = "close"
    REOPEN = "reopen"
    COMMENT = "comment"
    ADD_DOCUMENT = "add_document"
    SHARE_PLAN = "share_plan"
    REVOKE_SHARE = "revoke_share"
    INVITE_COLLABORATOR = "invite_collaborator"
    REVOKE_COLLABORATOR = "revoke_collaborator"
    RESPOND_INVITATION = "respond_invitation"
    REASSIGN = "reassign"
    ORDER_FOLLOW_UP = "order_follow_up"
    SHIP_IMPRESSIONS = "ship_impressions"
    RECEIVE_IMPRESSIONS = "receive_impressions"
    COMPLETE_DIGITISING = "complete_digitising"
    REQUEST_RECORDS = "request_records"
    ASSIGN = "assign"
    TAKE = "take"
    UPGRADE_PACKAGE = "upgrade_package"
