"""User text in, safe HTML out: the ONLY module that imports bleach.

Markdown is rendered by markdown-it-py with raw HTML disabled (any `<tag>` in the source is
shown as text), then the result goes through bleach's allow-list as a second, independent
line of defence. Every link gets rel="nofollow ugc noopener" and only http(s)/mailto URLs
survive. Callers store the result next to the source (rendered once on save) and display
it inside an `hx-disable` container so no htmx attribute could ever act on it.

bleach stopped receiving releases in 2026: the README section "Markup and switching to
nh3" explains how to replace it here without touching any other module.
"""

from __future__ import annotations

import re
import unicodedata
from functools import partial
from typing import Any

import bleach
from bleach.linkifier import LinkifyFilter
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "blockquote", "br", "code", "del", "em", "h2", "h3", "h4", "h5", "h6",
        "hr", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead",
        "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, list[str]] = {"a": ["href", "title"], "abbr": ["title"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

# Characters that have no business in a URL scheme and that browsers strip or ignore when
# they parse one ("java\u200bscript:" was a bleach bypass fixed in its last release).
_URL_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u00ad\u115f\u1160\u180e\u200b-\u200f"
                            r"\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0]")  # fmt: skip

_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable("table")
    .enable("strikethrough")
    # No images: remote images track readers (and CSP blocks them anyway); data: is refused.
    .disable("image")
)


def _nest_headings(state: Any) -> None:
    """Headings start at h2 (the page title is the only h1) and never skip a level.

    Screen-reader users move by heading level: a body whose first heading is "## Why" would
    jump from the page's h1 to h3. The levels the author used are ranked (the highest becomes
    h2, the next h3, ...) and no heading goes more than one level below the one before it.
    """
    headings = [t for t in state.tokens if t.type in ("heading_open", "heading_close")]
    rank = {tag: i for i, tag in enumerate(sorted({t.tag for t in headings}))}
    last = 1
    level = 2
    for token in headings:
        if token.type == "heading_open":
            level = min(2 + rank[token.tag], last + 1, 6)
            last = level
        token.tag = f"h{level}"  # a close token follows its open token


_md.core.ruler.push("nest_headings", _nest_headings)


def safe_url(href: str) -> bool:
    """True for relative URLs and http(s)/mailto; False for javascript:, data:, vbscript:..."""
    cleaned = _URL_INVISIBLE.sub("", unicodedata.normalize("NFKC", href)).lower()
    cleaned = cleaned.replace("&colon;", ":").replace("&#58;", ":").replace("&#x3a;", ":")
    scheme, sep, _rest = cleaned.partition(":")
    if not sep or "/" in scheme or "?" in scheme or "#" in scheme:
        return True  # no scheme: a relative (or protocol-relative, i.e. http) URL
    return scheme in ALLOWED_PROTOCOLS


def _link_attributes(attrs: dict[Any, str], new: bool = False) -> dict[Any, str] | None:
    href = attrs.get((None, "href"), "")
    if not href or not safe_url(href):
        attrs.pop((None, "href"), None)
    attrs[(None, "rel")] = LINK_REL
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_link_attributes], skip_tags={"pre", "code"})],
)


def sanitize_html(html: str) -> str:
    """Reduce any HTML to the allow-list (tags, attributes, URL schemes); adds link rel."""
    return _cleaner.clean(html)


def render_markdown(source: str) -> str:
    """Markdown source to sanitised HTML, to be stored next to the source on save."""
    return sanitize_html(_md.render(source))


# ---------------------------------------------------------------------------------------
# Plain-text fields (titles, summaries, tags, bodies): normalisation and refused characters.

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")
# In long texts ZWJ/ZWNJ are legitimate (emoji sequences, Persian, Indic scripts).
_ZERO_WIDTH_BODY = _ZERO_WIDTH - {"\u200c", "\u200d"}


class TextProblem(ValueError):
    """A user text contains characters we refuse; `kind` says which sort for the message."""

    def __init__(self, kind: str, char: str) -> None:
        super().__init__(f"{kind}: U+{ord(char):04X}")
        self.kind = kind  # "control" | "bidi" | "zero_width"
        self.char = char


def text_problem_message(problem: TextProblem) -> str:
    messages = {
        "control": _l("Remove the invisible control character (%(code)s)."),
        "bidi": _l("Remove the text-direction override character (%(code)s)."),
        "zero_width": _l("Remove the zero-width character (%(code)s)."),
    }
    return str(messages[problem.kind]) % {"code": f"U+{ord(problem.char):04X}"}


def normalise_text(value: str, *, multiline: bool = False) -> str:
    """NFC-normalise and trim; raise TextProblem on control, bidi-override, zero-width chars.

    `multiline` allows newlines and tabs (Markdown bodies) and the joiners ZWJ/ZWNJ.
    """
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    zero_width = _ZERO_WIDTH_BODY if multiline else _ZERO_WIDTH
    for char in text:
        if char in _BIDI_CONTROLS:
            raise TextProblem("bidi", char)
        if char in zero_width:
            raise TextProblem("zero_width", char)
        if unicodedata.category(char) == "Cc" and not (multiline and char in "\n\t"):
            raise TextProblem("control", char)
    return text.strip()
