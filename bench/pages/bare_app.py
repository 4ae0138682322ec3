"""The comparison app: plain Flask, no database, rendering a 50-row Jinja list with the
same base layout (templates/base.html) as civicforum. `gunicorn bench.pages.bare_app:app`."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, render_template
from flask_babel import Babel
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader

REPO = Path(__file__).resolve().parents[2]

app = Flask(__name__, template_folder=str(REPO / "templates"), static_folder=str(REPO / "static"))
app.config.update(SECRET_KEY="bench-only-not-a-secret", SITE_NAME="civicforum")
app.jinja_loader = ChoiceLoader(
    [
        FileSystemLoader(str(Path(__file__).parent / "templates")),
        FileSystemLoader(str(REPO / "templates")),
    ]
)
CSRFProtect(app)
Babel(app)

# Endpoints base.html links to.
pages = Blueprint("pages", __name__)
accounts = Blueprint("accounts", __name__)
pages.add_url_rule("/favicon.ico", "favicon", lambda: "")
for name in ("login", "register", "logout"):
    accounts.add_url_rule(f"/{name}", name, lambda: "")
app.register_blueprint(pages)
app.register_blueprint(accounts)
# Any other endpoint the shared layout links to becomes "/": the link is rendered either way.
app.url_build_error_handlers.append(lambda error, endpoint, values: "/")

ROWS = [
    {"n": n, "title": f"Proposal number {n}", "summary": "A short summary " * 4, "supports": n * 3}
    for n in range(1, 51)
]


@app.context_processor
def _layout() -> dict[str, object]:
    return {
        "current_user": AnonymousUserMixin(),
        "main_nav": lambda: [("pages.favicon", "Proposals")],
        "footer_nav": lambda: [],
        "account_nav": lambda: [],
        "admin_nav": lambda: [],
        "current_locale": lambda: "en",
    }


@app.get("/")
def index() -> str:
    return render_template("bare_list.html", rows=ROWS)
