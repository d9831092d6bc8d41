"""The reference portal: FastAPI and Jinja2 over ``aligner_core.connect``, pages and a JSON API.

Everything a case needs is the library's: commands are read from forms with
``load_form`` (every bad field at once), buttons come from ``available_actions``,
forms and errors from :mod:`aligner_core.ui`, statuses from ``error.http_status``.
What is left here is HTTP: routes, cookies, uploads, templates. Login is a stub
(the shell owns authentication): it trusts the username it is given.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.responses import StreamingResponse as Streaming
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

import aligner_core
from aligner_core import commands, pictures, ui
from aligner_core.errors import AlignerError, NotFoundError, PermissionDeniedError, ValidationError
from aligner_core.schema import openapi_components
from aligner_core.serialization import make_converter

HERE = Path(__file__).parent
NOTATION = "palmer"  # teeth as UR7 .. LL7, like the Aligner Portal
CATALOGS = {p.stem: json.loads(p.read_text("utf-8")) for p in (HERE / "locale").glob("*.json")}
NEW_KINDS = [(k, "") for k in ("clear_aligners", "direct_manufacturing", "retainer")]
ACCOUNT_FORMS = (commands.AddPractice, commands.SavePaymentMethod)  # below the profile's


class LoginNeeded(Exception):
    """No (active) user behind the request's cookie."""


def current(request: Request) -> aligner_core.Account:
    """The logged-in user (a stub: the cookie names the account; a real shell authenticates)."""
    try:
        uid = UUID(request.cookies.get("user", ""))
        return request.app.state.core.get_account(uid, uid)  # type: ignore[no-any-return]
    except (ValueError, AlignerError):
        raise LoginNeeded from None


Me = Annotated[aligner_core.Account, Depends(current)]


def language(request: Request, me: aligner_core.Account | None) -> str:
    return me.language[:2] if me else request.cookies.get("lang", "en")


async def posted(request: Request) -> dict[str, Any]:
    """The form's fields; uploads stay in their spooled files, the library streams them."""
    return ui.form_data((await request.form()).multi_items())


redirect = partial(RedirectResponse, status_code=303)


def create_app(url: str = "memory://", **options: Any) -> FastAPI:
    """The portal over the storage at ``url`` (``connect`` options pass through)."""
    core = aligner_core.connect(url, **options)
    convert = make_converter()
    app = FastAPI(title="Aligner Portal", version=aligner_core.__version__, docs_url="/api/docs")
    app.state.core = core
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")

    @pass_context
    def gettext(context: Any, text: str, **params: Any) -> str:
        return str(context["texts"].get(text, text)).format(**params)

    @pass_context
    def enum_label(context: Any, member: Any) -> str:
        return ui.label(member, context["lang"])

    templates.env.globals.update(_=gettext, label=enum_label, ui=ui, pictures=pictures)
    templates.env.globals.update(aligner=aligner_core, NOTATION=NOTATION)

    def render(
        request: Request, name: str, me: Any = None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        lang = language(request, me)
        ctx = {"me": me, "lang": lang, "texts": CATALOGS.get(lang, {}), **context}
        ctx["people"] = core.directory(me.account_id) if me else ()
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    def localized(request: Request, me: Any) -> dict[str, Any]:
        lang = language(request, me)
        return {"language": lang, "texts": CATALOGS.get(lang), "notation": NOTATION}

    def form(request: Request, me: Any, cls: type, **kw: Any) -> ui.Form:
        """A form of ``cls`` in the user's language, teeth in the portal's notation."""
        return ui.form_for(cls, **localized(request, me), **kw)

    @app.exception_handler(LoginNeeded)
    async def login_needed(request: Request, _: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"code": "login_needed"}, status_code=401)
        return redirect("/login")

    @app.exception_handler(AlignerError)
    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, AlignerError)
        if request.url.path.startswith("/api/"):
            return JSONResponse(error.to_dict(), status_code=error.http_status)
        return render(request, "error.html", status=error.http_status, error=error)

    # -- login, registration, profile, users ----------------------------------------------
    @app.get("/login")
    def login_page(request: Request) -> HTMLResponse:
        return render(request, "login.html")

    @app.post("/login")
    async def login(request: Request) -> Response:
        fields = await posted(request)
        try:  # a username typed, or an account picked from the directory (the switcher)
            picked = UUID(fields["account"]) if fields.get("account") else None
            typed = str(fields.get("username", "")).strip()
            account = core.get_account(picked, picked) if picked else core.find_account(typed)
        except (ValueError, NotFoundError, PermissionDeniedError):
            return render(request, "login.html", status=401, problem="unknown")
        if not account.is_active:
            return render(request, "login.html", status=403, problem="blocked")
        response = redirect("/")
        response.set_cookie("user", str(account.account_id), httponly=True, samesite="lax")
        return response

    @app.post("/logout")
    def logout() -> Response:
        response = redirect("/login")
        response.delete_cookie("user")
        return response

    @app.get("/language/{lang}")
    def choose_language(request: Request, lang: str) -> Response:
        response = redirect(request.headers.get("referer") or "/login")
        response.set_cookie("lang", lang if lang in CATALOGS else "en", samesite="lax")
        return response

    roles = {"role": [(r, "") for r in ("doctor", "planner", "production")]}

    def signup(request: Request, token: str, status: int = 200, **kw: Any) -> HTMLResponse:
        """The registration form, or an e-mail invitation's (its token in the URL, no code)."""
        cls = commands.AcceptInvitation if token else commands.Register
        skip = {"token", "registration.reference_code"} if token else ()
        shown = form(request, None, cls, choices=roles, skip=skip, **kw)
        return render(request, "register.html", status=status, form=shown, invited=bool(token))

    @app.get("/register")
    @app.get("/invitations/{token}")
    def register_page(request: Request, token: str = "") -> HTMLResponse:
        return signup(request, token)

    @app.post("/register")
    @app.post("/invitations/{token}")
    async def register(request: Request, token: str = "") -> HTMLResponse:
        """A new account: blocked until an admin activates it, active at once if invited."""
        cls = commands.AcceptInvitation if token else commands.Register
        fields = await posted(request)
        try:
            account = core.execute(
                None, ui.read_command(cls, fields, converter=convert, token=token)
            )
        except AlignerError as e:
            return signup(request, token, e.http_status, values=fields, error=e)
        code = fields.get("registration.reference_code", "")
        admins = core.network_admins(code) if code else ()
        return render(request, "registered.html", account=account, admins=admins)

    @app.get("/profile")
    @app.post("/profile")
    async def profile(request: Request, me: Me, account: UUID | None = None) -> Response:
        target = account or me.account_id
        fields, error = None, None
        if request.method == "POST":
            fields = await posted(request)
            try:
                command = ui.read_command(commands.UpdateProfile, fields, account_id=target)
                core.execute(me.account_id, command)
                return redirect(f"/profile?saved=1{f'&account={account}' if account else ''}")
            except AlignerError as e:
                error = e
        shown = core.get_account(me.account_id, target)
        kw = {"skip": {"account_id"}, "initial": {"changes": shown}, "values": fields}
        page = form(request, me, commands.UpdateProfile, error=error, **kw)
        status = error.http_status if error else 200
        payers = {"payment.owner_id": ui.payer_choices(shown)}
        add = [form(request, me, c, skip={"account_id"}, choices=payers) for c in ACCOUNT_FORMS]
        return render(request, "profile.html", me, status, account=shown, form=page, add=add)

    @app.post("/accounts/{account_id}/do/{name}")
    @app.post("/invoices/{invoice_id}/do/{name}")
    async def on_record(request: Request, me: Me, name: str, back: str = "/") -> Response:
        """A command on the account or invoice in the URL (AddPractice, Block, IssueCreditNote)."""
        field, subject = next((k, v) for k, v in request.path_params.items() if k != "name")
        cls, fields = ui.commands_on(field).get(name), await posted(request)
        if cls is None:
            raise NotFoundError("command", name)
        core.execute(me.account_id, ui.read_command(cls, fields, **{field: subject}))
        return redirect(ui.local_path(back))

    @app.get("/admin/users")
    def users(request: Request, me: Me) -> HTMLResponse:
        return render(request, "users.html", me, accounts=core.list_accounts(me.account_id))

    # -- dashboard and case list ----------------------------------------------------------
    @app.get("/")
    def dashboard(request: Request, me: Me) -> HTMLResponse:
        query, params = ui.case_filter(request.query_params), dict(request.query_params)
        names = {p.account_id: p.display_name for p in core.directory(me.account_id)}
        page, board = core.list_cases(me.account_id, query), core.dashboard(me.account_id, query)
        kw: dict[str, Any] = {"board": board, "query": query, "page": page, "params": params}
        kw["names"] = names
        return render(request, "dashboard.html", me, **kw)

    # -- the new-case wizard: product, patient, teeth, request, files and confirmations -----
    def wizard(request: Request, me: Any, status: int = 200, **kw: Any) -> HTMLResponse:
        choices = {"kind": NEW_KINDS, **ui.order_choices(me, core.catalogue(me.account_id))}
        kinds = {"choices": choices, "variants": {"order": "retainer"}}
        made = form(request, me, commands.CreateCase, **kinds, **kw)
        ticks = form(request, me, commands.Confirm, values=kw.get("values"))
        return render(request, "wizard.html", me, status, form=made, confirm=ticks)

    @app.get("/cases/new")
    def new_case(request: Request, me: Me) -> HTMLResponse:
        return wizard(request, me)

    @app.post("/cases/new")
    async def create(request: Request, me: Me) -> Response:
        fields = await posted(request)
        if fields.get("kind") != "retainer":  # the retainer's order only for a retainer
            fields = {k: v for k, v in fields.items() if not k.startswith("order.")}
        try:
            command = ui.read_command(
                commands.CreateCase, fields, converter=convert, notation=NOTATION
            )
        except ValidationError as e:
            return wizard(request, me, 422, values=fields, error=e)
        case = core.execute(me.account_id, command)
        core.execute(me.account_id, ui.read_command(commands.Confirm, fields, case_id=case.case_id))
        errors = ui.attach_uploads(partial(core.execute, me.account_id), fields, case.case_id)
        if errors:
            return case_page(request, me, case.number, 422, file_errors=errors)
        return redirect(f"/cases/{case.number}?done=CreateCase")

    # -- a case: its page, its commands, its files, its share link ---------------------------
    def case_page(request: Request, me: Any, number: int, status: int = 200, **kw: Any) -> Response:
        case = core.get_case_by_number(me.account_id, number).case
        known = (*core.directory(me.account_id, case.case_id), *core.directory(me.account_id))
        people, now = list({p.account_id: p for p in known}.values()), core.clock.now()
        options = core.available_actions(me.account_id, case.case_id, include_blocked=True)
        failed = kw.pop("failed", None)
        more = {"people": people, "failed": failed, "now": now, **localized(request, me)}
        more["practices"] = me.practices
        buttons = ui.buttons(options, case=case, **more)
        live = [s for s in case.shares if s.is_valid(now)]
        links = [(s, core.share_url(core.share_token(case.case_id, s.share_id))) for s in live]
        parent = core.get_case(me.account_id, case.parent_id).case if case.parent_id else None
        names = {p.account_id: p.display_name for p in people}
        kw.update(case=case, names=names, buttons=buttons, links=links, parent=parent)
        return render(request, "case.html", me, status, **kw)

    @app.get("/cases/{number}")
    def show_case(request: Request, me: Me, number: int) -> Response:
        return case_page(request, me, number)

    @app.post("/cases/{number}/files")
    async def add_files(request: Request, me: Me, number: int) -> Response:
        case = core.get_case_by_number(me.account_id, number).case
        fields = await posted(request)
        errors = ui.attach_uploads(partial(core.execute, me.account_id), fields, case.case_id)
        if errors:
            return case_page(request, me, number, 422, file_errors=errors)
        return redirect(f"/cases/{number}?done=AttachFile")

    @app.post("/cases/{number}/do/{name}")
    async def act(request: Request, me: Me, number: int, name: str) -> Response:
        """Any command on the case, as its button's form sent it (``OrderFollowUp:retainer``)."""
        case = core.get_case_by_number(me.account_id, number).case
        cls, fields = commands.COMMANDS.get(name.partition(":")[0]), await posted(request)
        if cls is None:
            raise NotFoundError("command", name)
        try:
            ids = {"case_id": case.case_id, "parent_case_id": case.case_id}
            command = ui.read_command(cls, fields, converter=convert, notation=NOTATION, **ids)
            result = core.execute(me.account_id, command)
        except AlignerError as e:
            return case_page(request, me, number, e.http_status, failed=(name, fields, e))
        return redirect("/" if name == "DeleteDraft" else f"/cases/{result.number}?done={name}")

    @app.get("/cases/{number}/files/{file_id}")
    def download(me: Me, number: int, file_id: UUID) -> Response:
        case = core.get_case_by_number(me.account_id, number).case
        opened = core.open_file(me.account_id, case.case_id, file_id)
        headers = {"Content-Disposition": f'attachment; filename="{opened.record.name}"'}
        return Streaming(iter(opened), media_type=opened.record.media_type, headers=headers)

    # -- invoices and this year's figures: a doctor's own, an admin's network's; as CSV ------
    @app.get("/invoices")
    def invoices(request: Request, me: Me) -> HTMLResponse:
        kw: dict[str, Any] = {"figures": core.practice_metrics(me.account_id)}
        return render(request, "invoices.html", me, invoices=core.invoices(me.account_id), **kw)

    @app.get("/invoices.csv")
    def invoices_csv(me: Me) -> Response:
        headers = {"Content-Disposition": 'attachment; filename="invoices.csv"'}
        return Response(core.invoices_csv(me.account_id), media_type="text/csv", headers=headers)

    @app.get("/invoices/{invoice_id}")
    def invoice(request: Request, me: Me, invoice_id: UUID) -> HTMLResponse:
        page = core.invoice_html(me.account_id, invoice_id, language=language(request, me))
        return HTMLResponse(page)

    @app.get("/share/{token}")
    def shared(request: Request, token: str) -> HTMLResponse:
        return render(request, "share.html", shared=core.resolve_share(token))

    # -- the JSON API: one POST per command, the body its schema from the library ------------
    def api_actor(request: Request) -> UUID:
        try:
            return UUID(request.headers.get("x-user") or request.cookies.get("user", ""))
        except ValueError:
            raise LoginNeeded from None

    @app.post("/api/cases/{case_id}/commands/{name}", include_in_schema=False)
    @app.post("/api/commands/{name}", include_in_schema=False)
    async def api_command(request: Request, name: str, case_id: UUID | None = None) -> Response:
        cls = commands.COMMANDS.get(name)
        if cls is None or (case_id is None) == issubclass(cls, commands.CaseCommand):
            raise NotFoundError("command", name)
        actor = None if cls is commands.Register else api_actor(request)
        given = {"case_id": str(case_id)} if case_id else {}
        if request.headers.get("content-type", "").startswith("multipart/"):
            command = ui.read_command(cls, await posted(request), converter=convert, **given)
        else:
            body = convert.loads_json(await request.body() or b"{}", name)
            if not isinstance(body, dict):
                raise ValidationError.of("not_an_object", subject=name)
            command = convert.structure_checked({**body, **given}, cls)
        return JSONResponse(convert.unstructure(core.execute(actor, command)))

    @app.get("/api/cases", tags=["cases"])
    def api_cases(request: Request) -> JSONResponse:
        page = core.list_cases(api_actor(request), ui.case_filter(request.query_params))
        return JSONResponse(convert.unstructure(page, aligner_core.Page[aligner_core.CaseSummary]))

    @app.get("/api/cases/{case_id}", tags=["cases"])
    def api_case(request: Request, case_id: UUID) -> JSONResponse:
        return JSONResponse(convert.unstructure(core.get_case(api_actor(request), case_id).case))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
            doc["paths"] = {k: v for k, v in doc["paths"].items() if k.startswith("/api/")}
            doc["paths"].update(ui.api_paths(commands.COMMANDS))
            models = [*commands.COMMANDS.values(), aligner_core.Case, aligner_core.Account]
            doc.setdefault("components", {}).setdefault("schemas", {}).update(
                openapi_components(models)["schemas"]
            )
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
