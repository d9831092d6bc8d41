"""Command handlers, one module per command family, and the table from command to handler.

Case commands (:class:`~aligner_core.commands.CaseCommand`) name only what
changes; :func:`aligner_core.service.pipeline.run` does the rest. The others
(new cases, follow-up orders, files, accounts) run their own unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from aligner_core.commands import (
    AcceptInvitation,
    Activate,
    AddPractice,
    AttachFile,
    Block,
    CaseCommand,
    Command,
    CreateCase,
    CreateNetwork,
    DeleteDraft,
    IssueCreditNote,
    IssueInvoice,
    MuteNotifications,
    OfferShades,
    OrderFollowUp,
    Register,
    RemovePaymentMethod,
    RemovePractice,
    RequireConfirmations,
    SavePaymentMethod,
    SetCatalogue,
    SetPackages,
    SetPriceBook,
    UpdatePractice,
    UpdateProfile,
)
from aligner_core.errors import ValidationError
from aligner_core.service import pipeline
from aligner_core.service.deps import Deps
from aligner_core.service.handlers import (
    accounts,
    assignment,
    billing,
    collaboration,
    drafts,
    planning,
    production,
    records,
)

__all__ = ["CASE_HANDLERS", "OTHER_HANDLERS", "execute"]

#: Commands on an existing case: what each changes (the pipeline does the rest).
CASE_HANDLERS: dict[type, pipeline.Handler] = {
    **drafts.HANDLERS,
    **planning.HANDLERS,
    **collaboration.HANDLERS,
    **production.HANDLERS,
    **records.HANDLERS,
    **assignment.HANDLERS,
}

#: Commands that run their own unit of work.
OTHER_HANDLERS: dict[type, Callable[[Deps, Any, Any], Any]] = {
    CreateNetwork: accounts.create_network,
    Register: accounts.register,
    AcceptInvitation: collaboration.accept_invitation,
    Activate: accounts.activate,
    Block: accounts.block,
    RequireConfirmations: accounts.require_confirmations,
    OfferShades: accounts.offer_shades,
    SetCatalogue: accounts.set_catalogue,
    SetPriceBook: accounts.set_price_book,
    SetPackages: accounts.set_packages,
    UpdateProfile: accounts.update_profile,
    MuteNotifications: accounts.mute_notifications,
    AddPractice: accounts.add_practice,
    UpdatePractice: accounts.update_practice,
    RemovePractice: accounts.remove_practice,
    SavePaymentMethod: accounts.save_payment_method,
    RemovePaymentMethod: accounts.remove_payment_method,
    CreateCase: drafts.create_case,
    OrderFollowUp: drafts.order_follow_up,
    AttachFile: drafts.attach_file,
    DeleteDraft: drafts.delete_draft,
    IssueInvoice: billing.issue_invoice,
    IssueCreditNote: billing.issue_credit_note,
}


def execute(deps: Deps, actor_id: UUID | None, command: Command) -> Any:
    """Run one command as ``actor_id`` (None only for setting up a network or registering)."""
    kind = type(command)
    other = OTHER_HANDLERS.get(kind)
    if other is not None:
        if actor_id is None and kind not in (CreateNetwork, Register, AcceptInvitation):
            raise ValidationError.of("required", "$.actor_id")
        return other(deps, actor_id, command)
    handler = CASE_HANDLERS.get(kind)
    if handler is None or not isinstance(command, CaseCommand):
        raise ValidationError.of("wrong_type", "$", expected="command")
    if not isinstance(actor_id, UUID):
        raise ValidationError.of("wrong_type", "$.actor_id", expected="uuid")
    return pipeline.run(deps, actor_id, command, handler)
