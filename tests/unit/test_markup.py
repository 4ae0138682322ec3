"""civicforum.markup: Markdown to sanitised HTML, and the plain-text checks."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from civicforum.markup import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    TextProblem,
    normalise_text,
    render_markdown,
    sanitize_html,
)

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<a href=javascript:alert(1)>x</a>",
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="java\u200bscript:alert(1)">zero width</a>',
    "[zero width](java\u200bscript:alert(1))",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml,<svg onload=alert(1)>)",
    '[x](https://ok.example "title" onclick="alert(1)")',
    "<javascript:alert(1)>",
    '<https://ok.example/"onmouseover="alert(1)>',
    "[a](<javascript:alert(1)>)",
    "[ref]\n\n[ref]: javascript:alert(1)",
    '<button formaction="javascript:alert(1)">go</button>',
    "<form><button formaction=javascript:alert(1)>x</button></form>",
    '<input type="image" formaction="javascript:alert(1)">',
    '<div hx-get="/account/logout" hx-trigger="load">x</div>',
    '<div data-hx-post="/x" data-hx-trigger="load">x</div>',
    '<p hx-on:click="alert(1)">x</p>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    "<details open ontoggle=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    '<img """><script>alert(1)</script>">',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<!--<script>alert(1)//--><script>alert(1)</script>",
    '<a href="#" onclick="alert(1)">x</a>',
    '<video><source onerror="alert(1)"></video>',
    "<marquee onstart=alert(1)>x</marquee>",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<a href=" javascript:alert(1)">x</a>',
    "<table><td background=javascript:alert(1)>x</td></table>",
]


class Inspector(HTMLParser):
    """Collects every tag and attribute that survives, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, name, value or "") for name, value in attrs]


def assert_inert(html: str) -> None:
    parser = Inspector()
    parser.feed(html)
    assert set(parser.tags) <= ALLOWED_TAGS, parser.tags
    for tag, name, value in parser.attrs:
        assert name in ALLOWED_ATTRIBUTES.get(tag, []) or (tag == "a" and name == "rel"), (
            tag,
            name,
        )
        assert not name.startswith(("on", "hx-", "data-", "formaction", "style"))
        if name == "href":
            squeezed = re.sub(r"[\s\x00-\x1f\u200b-\u200f\ufeff]", "", value).lower()
            assert squeezed.startswith(("http:", "https:", "mailto:", "/", "#")) or (
                ":" not in squeezed.split("/")[0]
            ), value


def test_at_least_forty_payloads() -> None:
    assert len(XSS_PAYLOADS) >= 40


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markdown_payload_is_inert(payload: str) -> None:
    assert_inert(render_markdown(payload))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_raw_html_payload_is_inert_after_sanitising(payload: str) -> None:
    # The second line of defence on its own: even HTML that bypassed Markdown stays inert.
    assert_inert(sanitize_html(payload))


def test_bleach_last_release_bypasses_are_closed() -> None:
    zero_width = sanitize_html('<a href="java\u200bscript:alert(1)">x</a>')
    assert "href" not in zero_width and "javascript" not in zero_width
    formaction = sanitize_html('<button formaction="javascript:alert(1)">x</button>')
    assert "formaction" not in formaction and "<button" not in formaction


def test_raw_html_in_markdown_is_shown_as_text() -> None:
    html = render_markdown("<b>bold</b>")
    assert "&lt;b&gt;" in html and "<b>" not in html


def test_links_get_rel_and_safe_urls_survive() -> None:
    html = render_markdown("[site](https://example.org/a?b=1) and [mail](mailto:a@example.org)")
    assert html.count('rel="nofollow ugc noopener"') == 2
    assert 'href="https://example.org/a?b=1"' in html and 'href="mailto:a@example.org"' in html


def test_markdown_features_render() -> None:
    html = render_markdown(
        "# Big\n\n**b** *i* ~~s~~\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert "<h2>Big</h2>" in html  # h1 is reserved for the page title
    for tag in ("<strong>", "<em>", "<s>", "<ul>", "<table>", "<td>"):
        assert tag in html
    assert "style=" not in html


@pytest.mark.parametrize(
    ("source", "levels"),
    [
        ("## Why\n\n### Details\n\n## How", [2, 3, 2]),  # issue 15: was h3, h4, h3
        ("#### Deep only", [2]),
        ("### a\n\n## b\n\n#### c", [2, 2, 3]),
        ("# One\n\n### Three\n\n###### Six", [2, 3, 4]),
    ],
)
def test_headings_start_at_h2_and_never_skip_a_level(source: str, levels: list[int]) -> None:
    import re

    html = render_markdown(source)
    assert [int(n) for n in re.findall(r"<h(\d)>", html)] == levels
    assert [int(n) for n in re.findall(r"</h(\d)>", html)] == levels


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("evil\u202etxt.exe", "bidi"),
        ("a\u2066b", "bidi"),
        ("zero\u200bwidth", "zero_width"),
        ("bom\ufeff", "zero_width"),
        ("bell\x07", "control"),
        ("new\nline", "control"),
    ],
)
def test_single_line_text_refuses_invisible_characters(text: str, kind: str) -> None:
    with pytest.raises(TextProblem) as info:
        normalise_text(text)
    assert info.value.kind == kind


def test_text_is_nfc_and_trimmed() -> None:
    assert normalise_text("  Cafe\u0301  ") == "Café"
    assert normalise_text("line\r\nnext\tx", multiline=True) == "line\nnext\tx"
    # Joiners are legitimate in long texts (emoji sequences, Persian, Indic scripts).
    assert normalise_text("👩\u200d💻 \u200c", multiline=True) == "👩\u200d💻 \u200c".strip()
