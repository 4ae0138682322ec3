from __future__ import annotations

import logging
import math
import time

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from civicforum.accounts import sealing, services, throttle
from civicforum.accounts.errors import FieldError, InvalidCodeError, InvalidTokenError
from civicforum.accounts.forms import (
    ChangePasswordForm,
    CodeForm,
    DisableTotpForm,
    EmailForm,
    LoginForm,
    NewPasswordForm,
    RegisterForm,
    RollClaimForm,
    SettingsForm,
)
from civicforum.accounts.models import User
from civicforum.accounts.sessions import ServerSession, current_store
from civicforum.extensions import config_limit, db, limiter
from civicforum.mail import queue_mail
from civicforum.web import safe_next
from civicforum.web.htmx import render_page
from civicforum.web.urls import external_url

bp = Blueprint("accounts", __name__, url_prefix="/account")
auth_log = logging.getLogger("civicforum.auth")

# A password login waiting for its second factor stays valid this long.
PENDING_LOGIN_SECONDS = 300


# --- helpers ------------------------------------------------------------------------------


def _server_session() -> ServerSession:
    assert isinstance(session, ServerSession)
    return session


def me() -> User:
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _safe_log(value: str) -> str:
    # Log injection (ASVS 16.4.1): user-supplied values are logged with CR/LF escaped.
    return value[:254].encode("unicode_escape").decode("ascii")


def _next(default: str | None = None) -> str:
    return safe_next(request.args.get("next"), default or url_for("pages.home"))


def _status(form: FlaskForm) -> int:
    return 422 if request.method == "POST" else 200


def _field_error(form: FlaskForm, error: FieldError) -> None:
    getattr(form, error.field).errors = [error.message]


def start_session(user: User, *, mfa: bool = False) -> None:
    """Log the user in on a fresh session token (no fixation), bound to their session version."""
    sess = _server_session()
    sess.regenerate()
    for key in ("pending_login", "totp_pending", "csrf_token", "mfa"):
        sess.pop(key, None)
    login_user(user)
    sess["_sv"] = user.session_version
    if mfa:
        sess["mfa"] = True


def _deduct_on_failure(response: object) -> bool:
    return getattr(response, "status_code", 0) == 422


def _account_key() -> str:
    return "login-account:" + services.normalise_email(request.form.get("email", ""))[:254]


def _account_address_key() -> str:
    return throttle.account_address_key(request.form.get("email", ""))


def _refused(limit: RequestLimit, template: str, fragment: str, form: FlaskForm) -> Response:
    """A throttle's 429 as the form's own page, saying when and what else to do."""
    seconds = max(1, math.ceil(limit.reset_at - time.time()))
    page = render_page(
        template, fragment=fragment, form=form, refused_minutes=math.ceil(seconds / 60)
    )
    response = make_response(page, 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def _login_refused(limit: RequestLimit) -> Response:
    # Shows the owner a way in, should she share the guesser's connection: a reset mail.
    return _refused(limit, "accounts/login.html", "login_form", LoginForm())


def _reset_refused(limit: RequestLimit) -> Response:
    # For any address alike: the links mailed within the hour still work, whoever asked.
    return _refused(limit, "accounts/reset_request.html", "reset_form", EmailForm())


def _user_key() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    pending = session.get("pending_login") or {}
    return f"pending-user:{pending.get('uid', '-')}"


def _queue_verification(user: User) -> None:
    link = external_url("accounts.verify_email", token=services.verification_token(user))
    queue_mail(
        db.session,
        to=user.email,
        subject=_("Confirm your email address for %(site)s", site=current_app.config["SITE_NAME"]),
        body=_(
            "Hello %(name)s,\n\nplease confirm your email address by opening this link "
            "(valid for 24 hours):\n\n%(link)s\n\nIf you did not create an account, ignore "
            "this message.\n",
            name=user.display_name,
            link=link,
        ),
    )


# --- registration and verification --------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(
    lambda: config_limit("REGISTER_LIMIT_PER_ADDRESS", "10 per hour"),
    methods=["POST"],
    scope="register",
    deduct_when=lambda r: r.status_code in (303, 422),
)
def register() -> ResponseReturnValue:
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_user(
                db.session,
                email=form.email.data,
                display_name=form.display_name.data,
                password=form.password.data,
            )
        except FieldError as error:
            _field_error(form, error)
        else:
            _queue_verification(user)
            db.session.commit()
            auth_log.info("register user=%s", user.id)
            start_session(user)
            flash(_("Welcome! We sent you a link to confirm your email address."), "success")
            return redirect(url_for("accounts.account"), code=303)
    elif form.is_submitted() and not form.password.errors:
        # Every problem at once: the password's too, not only once the other fields pass.
        try:
            services.check_password_policy(
                form.password.data or "",
                email=form.email.data or "",
                display_name=form.display_name.data or "",
            )
        except FieldError as error:
            _field_error(form, error)
    return render_page("accounts/register.html", fragment="register_form", form=form), _status(form)


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify_email(token: str) -> ResponseReturnValue:
    # GET only shows a button: mail scanners prefetch links, and GET must not change state.
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            services.verify_email(db.session, token=token)
        except InvalidTokenError as error:
            return render_page(
                "accounts/verify.html", form=form, invalid=True, message=error.message
            ), 400
        db.session.commit()
        flash(_("Thank you, your email address is confirmed."), "success")
        target = "accounts.account" if current_user.is_authenticated else "accounts.login"
        return redirect(url_for(target), code=303)
    return render_page("accounts/verify.html", form=form, invalid=False)


@bp.post("/verify/resend")
@login_required
@limiter.limit(
    lambda: config_limit("RESEND_LIMIT_PER_ACCOUNT", "3 per hour"),
    key_func=_user_key,
    scope="resend",
)
def resend_verification() -> ResponseReturnValue:
    if not me().is_email_verified:
        _queue_verification(me())
        db.session.commit()
        flash(_("We sent you a new confirmation link."), "info")
    return redirect(url_for("accounts.account"), code=303)


# --- login, second factor, logout ---------------------------------------------------------


# Walls per (account, client address) and per client address; the account alone only
# delays (accounts.throttle), so nobody can lock its owner out.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: config_limit(*throttle.ACCOUNT_ADDRESS_LIMIT),
    key_func=_account_address_key,
    methods=["POST"],
    scope="login-account-address",
    deduct_when=_deduct_on_failure,
    on_breach=_login_refused,
)
@limiter.limit(
    lambda: config_limit("LOGIN_LIMIT_PER_ADDRESS", "30 per 15 minutes"),
    methods=["POST"],
    scope="login-address",
    deduct_when=_deduct_on_failure,
    on_breach=_login_refused,
)
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        throttle.wait_before_checking(form.email.data)
        user = services.authenticate(db.session, email=form.email.data, password=form.password.data)
        if user is None:
            throttle.record_failure(form.email.data)
            auth_log.warning(
                "login failed email=%s ip=%s", _safe_log(form.email.data), request.remote_addr
            )
            # One message for unknown email and wrong password: no account enumeration.
            form.password.errors = [_("Email or password is not correct.")]
        else:
            db.session.commit()  # a rehash on parameter change
            if user.has_totp:
                auth_log.info("login password ok, awaiting second factor user=%s", user.id)
                _server_session()["pending_login"] = {
                    "uid": user.id,
                    "sv": user.session_version,
                    "at": int(time.time()),
                }
                return redirect(
                    url_for("accounts.totp_challenge", next=request.args.get("next")), code=303
                )
            auth_log.info("login user=%s ip=%s", user.id, request.remote_addr)
            start_session(user)
            if user.needs_totp:
                flash(_("Your role requires two-factor authentication. Set it up now."), "info")
                return redirect(
                    url_for("accounts.totp_setup", next=request.args.get("next")), code=303
                )
            return redirect(_next(), code=303)
    return render_page("accounts/login.html", fragment="login_form", form=form), _status(form)


def _challenged_user() -> tuple[User | None, bool]:
    """The user the second factor is for, and whether this completes a password login."""
    if current_user.is_authenticated:
        return me(), False
    pending = session.get("pending_login")
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_LOGIN_SECONDS:
        return None, True
    user = db.session.get(User, pending.get("uid"))
    if user is None or user.session_version != pending.get("sv"):
        return None, True
    return user, True


@bp.route("/totp/challenge", methods=["GET", "POST"])
@limiter.limit(
    lambda: config_limit("TOTP_LIMIT_PER_ACCOUNT", "10 per 5 minutes"),
    key_func=_user_key,
    methods=["POST"],
    scope="totp",
    deduct_when=_deduct_on_failure,
)
def totp_challenge() -> ResponseReturnValue:
    user, completes_login = _challenged_user()
    if user is None:
        flash(_("Please log in again."), "info")
        return redirect(url_for("accounts.login", next=request.args.get("next")), code=303)
    if not user.has_totp:
        return redirect(url_for("accounts.totp_setup", next=request.args.get("next")), code=303)
    form = CodeForm()
    if form.validate_on_submit():
        if services.check_second_factor(db.session, user=user, code=form.code.data):
            db.session.commit()  # remembers the used step / recovery code
            auth_log.info("second factor ok user=%s", user.id)
            if completes_login:
                start_session(user, mfa=True)
            else:
                _server_session()["mfa"] = True
            if services.remaining_recovery_codes(db.session, user=user) <= 2:
                flash(_("You are running out of recovery codes. Create new ones."), "info")
            return redirect(_next(), code=303)
        auth_log.warning("second factor failed user=%s ip=%s", user.id, request.remote_addr)
        form.code.errors = [InvalidCodeError().message]
    return render_page(
        "accounts/totp_challenge.html", fragment="challenge_form", form=form
    ), _status(form)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    # CSRFProtect guards every POST, so a cross-site form cannot log anyone out.
    logout_user()
    _server_session().destroy()
    flash(_("You are logged out."), "info")
    return redirect(url_for("pages.home"), code=303)


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere() -> ResponseReturnValue:
    user = me()
    services.end_all_sessions(db.session, user=user)
    db.session.commit()
    current_store(current_app).delete_for_user(user.id)
    logout_user()
    _server_session().destroy()
    flash(_("You are logged out on every device."), "info")
    return redirect(url_for("accounts.login"), code=303)


# --- password reset and change -------------------------------------------------------------

RESET_SENT = "If an account exists for this address, we sent it a link to choose a new password."


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(
    lambda: config_limit("RESET_LIMIT_PER_ADDRESS", "10 per hour"), methods=["POST"], scope="reset"
)
@limiter.limit(
    lambda: config_limit("RESET_LIMIT_PER_ACCOUNT", "3 per hour"),
    key_func=_account_key,
    methods=["POST"],
    scope="reset-account",
    on_breach=_reset_refused,
)
def reset_request() -> ResponseReturnValue:
    form = EmailForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(db.session, form.email.data)
        if user is None:
            # The same work as for an account (a queued row, a commit): the answer takes as
            # long either way; the sender drops the placeholder.
            queue_mail(db.session, to=None)
        else:
            link = external_url("accounts.reset_password", token=services.reset_token(user))
            queue_mail(
                db.session,
                to=user.email,
                subject=_(
                    "Choose a new password for %(site)s", site=current_app.config["SITE_NAME"]
                ),
                body=_(
                    "Hello %(name)s,\n\nsomeone asked to reset the password of your account. "
                    "To choose a new one, open this link within an hour:\n\n%(link)s\n\n"
                    "If it was not you, ignore this message; your password stays as it is.\n",
                    name=user.display_name,
                    link=link,
                ),
            )
        db.session.commit()
        auth_log.info("reset requested email=%s", _safe_log(form.email.data))
        # Same answer whether or not the address is registered.
        flash(_(RESET_SENT), "info")
        return redirect(url_for("accounts.login"), code=303)
    return render_page("accounts/reset_request.html", fragment="reset_form", form=form), _status(
        form
    )


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    form = NewPasswordForm()
    try:
        services.user_for_reset_token(db.session, token=token)
    except InvalidTokenError:
        return render_page("accounts/reset_password.html", form=form, invalid=True), 400
    if form.validate_on_submit():
        try:
            user = services.reset_password(db.session, token=token, password=form.password.data)
        except FieldError as error:
            _field_error(form, error)
        except InvalidTokenError:  # used meanwhile, by a request that committed first
            return render_page("accounts/reset_password.html", form=form, invalid=True), 400
        else:
            db.session.commit()
            current_store(current_app).delete_for_user(user.id)
            auth_log.info("password reset user=%s", user.id)
            if current_user.is_authenticated:
                logout_user()
                _server_session().destroy()
            # No automatic login: the second factor is still asked at the next login.
            flash(_("Your password was changed. Please log in."), "success")
            return redirect(url_for("accounts.login"), code=303)
    return render_page(
        "accounts/reset_password.html", fragment="reset_form", form=form, invalid=False
    ), _status(form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = me()
        try:
            services.change_password(
                db.session, user=user, current=form.current_password.data, new=form.password.data
            )
        except FieldError as error:
            _field_error(form, error)
        else:
            db.session.commit()
            sess = _server_session()
            current_store(current_app).delete_for_user(user.id, except_sid=sess.sid)
            sess["_sv"] = user.session_version  # this session lives on, the others end
            sess.regenerate()  # on a new token: a re-authentication (ASVS 7.2.4)
            auth_log.info("password changed user=%s", user.id)
            flash(_("Your password was changed. Your other sessions were ended."), "success")
            return redirect(url_for("accounts.account"), code=303)
    return render_page("accounts/password.html", fragment="password_form", form=form), _status(form)


# --- account page, settings, sessions, roll ------------------------------------------------


def _account_page(
    *, roll_form: RollClaimForm | None = None, status: int = 200
) -> ResponseReturnValue:
    user = me()
    sessions = current_store(current_app).list_for_user(user.id)
    return render_page(
        "accounts/account.html",
        fragment="roll_panel" if roll_form is not None else None,
        user=user,
        sessions=sessions,
        current_sid=_server_session().sid,
        roll_form=roll_form or RollClaimForm(formdata=None),
        action_form=FlaskForm(),
        recovery_left=services.remaining_recovery_codes(db.session, user=user),
    ), status


@bp.get("/")
@login_required
def account() -> ResponseReturnValue:
    return _account_page()


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    user = me()
    form = SettingsForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.locale.data = user.locale or ""
        form.timezone.data = user.timezone or ""
    if form.validate_on_submit():
        try:
            services.update_settings(
                db.session,
                user=user,
                display_name=form.display_name.data,
                locale=form.locale.data or None,
                timezone=form.timezone.data or None,
                notify_email_digest=bool(form.notify_email_digest.data),
            )
        except FieldError as error:
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("Your settings were saved."), "success")
            return redirect(url_for("accounts.settings"), code=303)
    return render_page("accounts/settings.html", fragment="settings_form", form=form), _status(form)


@bp.post("/sessions/end")
@login_required
def end_session() -> ResponseReturnValue:
    store = current_store(current_app)
    sid = request.form.get("sid", "")
    # Only the owner's own sessions can be ended; an unknown id is a 404, not a hint.
    if sid not in {s.id for s in store.list_for_user(me().id)}:
        abort(404)
    if sid == _server_session().sid:
        logout_user()
        _server_session().destroy()
        flash(_("You are logged out."), "info")
        return redirect(url_for("pages.home"), code=303)
    store.delete(sid)
    flash(_("The session was ended."), "success")
    return redirect(url_for("accounts.account"), code=303)


@bp.post("/roll")
@login_required
@limiter.limit(
    lambda: config_limit("ROLL_CLAIM_LIMIT_PER_ACCOUNT", "5 per hour"),
    key_func=_user_key,
    scope="roll-claim",
    deduct_when=lambda r: r.status_code in (409, 422),
)
def claim_roll() -> ResponseReturnValue:
    form = RollClaimForm()
    if form.validate_on_submit():
        try:
            services.claim_roll_identifier(db.session, user=me(), identifier=form.identifier.data)
        except FieldError as error:
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("Thank you, your membership is confirmed."), "success")
            return redirect(url_for("accounts.account"), code=303)
    return _account_page(roll_form=form, status=422)


# --- two-factor set-up and removal ---------------------------------------------------------


def _qr_data_uri(uri: str) -> str:
    import segno

    # A data: URI in <img> keeps the markup free of |safe and fits the CSP (img-src data:).
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


@bp.route("/totp/setup", methods=["GET", "POST"])
@login_required
@limiter.limit(
    lambda: config_limit("TOTP_LIMIT_PER_ACCOUNT", "10 per 5 minutes"),
    key_func=_user_key,
    methods=["POST"],
    scope="totp-setup",
    deduct_when=_deduct_on_failure,
)
def totp_setup() -> ResponseReturnValue:
    user = me()
    if user.has_totp:
        flash(_("Two-factor authentication is already on."), "info")
        return redirect(url_for("accounts.account"), code=303)
    sess = _server_session()
    # Sealed in the session record too: the stored sessions are as readable as the users.
    try:
        secret = sealing.unseal(sess["totp_pending"])
    except (KeyError, sealing.SealError):  # none yet, or one from before sealing
        secret = services.new_totp_secret()
        sess["totp_pending"] = sealing.seal(secret)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = services.enable_totp(db.session, user=user, secret=secret, code=form.code.data)
        except InvalidCodeError as error:
            form.code.errors = [error.message]
        else:
            db.session.commit()
            sess.pop("totp_pending", None)
            sess.regenerate()  # more privilege, new token (ASVS 7.2.4)
            sess["mfa"] = True
            auth_log.info("totp enabled user=%s", user.id)
            return render_page(
                "accounts/recovery_codes.html", codes=codes, next=_next(url_for("accounts.account"))
            )
    uri = services.totp_uri(user, secret)
    return render_page(
        "accounts/totp_setup.html",
        fragment="setup_form",
        form=form,
        secret_groups=[secret[i : i + 4] for i in range(0, len(secret), 4)],
        uri=uri,
        qr_src=_qr_data_uri(uri),
    ), _status(form)


@bp.route("/totp/disable", methods=["GET", "POST"])
@login_required
def totp_disable() -> ResponseReturnValue:
    form = DisableTotpForm()
    if form.validate_on_submit():
        try:
            services.disable_totp(
                db.session, user=me(), password=form.password.data, code=form.code.data
            )
        except FieldError as error:
            _field_error(form, error)
        else:
            db.session.commit()
            _server_session().pop("mfa", None)
            flash(_("Two-factor authentication is off."), "info")
            return redirect(url_for("accounts.account"), code=303)
    return render_page("accounts/totp_disable.html", fragment="disable_form", form=form), _status(
        form
    )


@bp.post("/totp/recovery-codes")
@login_required
@limiter.limit(
    lambda: config_limit("TOTP_LIMIT_PER_ACCOUNT", "10 per 5 minutes"),
    key_func=_user_key,
    scope="totp-codes",
    deduct_when=_deduct_on_failure,
)
def recovery_codes() -> ResponseReturnValue:
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = services.regenerate_recovery_codes(db.session, user=me(), code=form.code.data)
        except InvalidCodeError as error:
            flash(error.message, "error")
            return _account_page(status=422)
        db.session.commit()
        return render_page(
            "accounts/recovery_codes.html", codes=codes, next=url_for("accounts.account")
        )
    abort(400)
