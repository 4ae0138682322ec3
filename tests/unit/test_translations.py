"""Every shipped catalogue is complete and current, and templates show no unmarked text.

After adding strings: `bash .ci/translations` (extracts, updates every catalogue, fills English,
compiles and lists what each language lacks); then fill those msgstr and run it again.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from civicforum import catalogues
from civicforum.config import Defaults

REPO = Path(__file__).resolve().parents[2]
METHODS = [("civicforum/**.py", "python"), ("templates/**.html", "jinja2")]
HINT = "run `bash .ci/translations`, fill the msgstr it lists, and run it again"


def marked_strings() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(REPO), METHODS, keywords=catalogues.KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_switcher_offers_exactly_the_shipped_languages() -> None:
    assert tuple(Defaults.LANGUAGES) == catalogues.SHIPPED


@pytest.mark.parametrize("locale", catalogues.SHIPPED)
def test_catalogue_has_every_marked_string(locale: str) -> None:
    catalogue = catalogues.load(locale)
    present = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id}
    missing = sorted(marked_strings() - present)
    assert missing == [], f"{len(missing)} strings are not in the {locale} catalogue; {HINT}: " + (
        f"{missing[:10]}"
    )


@pytest.mark.parametrize("locale", catalogues.SHIPPED)
def test_catalogue_has_no_untranslated_or_fuzzy_message(locale: str) -> None:
    gaps = list(catalogues.gaps(catalogues.load(locale)))
    assert gaps == [], f"{len(gaps)} messages to do in {locale}; {HINT}: {gaps[:10]}"


@pytest.mark.parametrize("locale", catalogues.SHIPPED)
def test_catalogue_header_is_not_fuzzy(locale: str) -> None:
    """`pybabel compile` (run by .ci/setup) skips a catalogue whose header is fuzzy."""
    assert not catalogues.load(locale).fuzzy, f"the {locale} catalogue's header is fuzzy; {HINT}"


@pytest.mark.parametrize("locale", [loc for loc in catalogues.SHIPPED if loc != "en"])
def test_placeholders_survive_translation(locale: str) -> None:
    """A translation must keep the message's %(name)s placeholders, or formatting fails."""
    names = re.compile(r"%\((\w+)\)[sd]")
    wrong = []
    for message in catalogues.load(locale):
        if not message.id or message.fuzzy:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        expected = set(names.findall(ids[-1])) | set(names.findall(ids[0]))
        for text in strings:
            # A plural form may drop %(num)d (Arabic's "one" and "two" forms say the number).
            if text and set(names.findall(text)) - expected:
                wrong.append((ids[0], text))
            if text and (expected - {"num"}) - set(names.findall(text)):
                wrong.append((ids[0], text))
    assert wrong == [], wrong[:10]


# ------------------------------------------------------------------ unmarked template text

_JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
_SHOWN_ATTRIBUTES = {"aria-label", "title", "alt", "placeholder", "aria-description"}
_NOT_TEXT = {"script", "style", "code", "pre", "kbd", "samp"}
_WORD = re.compile(r"[^\W\d_]{2,}")


class _VisibleText(HTMLParser):
    """Text people see or hear in a template once every Jinja construct is blanked out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _NOT_TEXT:
            self.hidden += 1
        kind = dict(attrs).get("type")
        for name, value in attrs:
            shown = name in _SHOWN_ATTRIBUTES or (
                tag == "input" and name == "value" and kind in ("submit", "button", "reset")
            )
            if shown and value and _WORD.search(value):
                self.found.append((self.getpos()[0], f'{name}="{value}"'))

    def handle_endtag(self, tag: str) -> None:
        if tag in _NOT_TEXT and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and _WORD.search(data):
            self.found.append((self.getpos()[0], data.strip()))


def unmarked_text(source: str) -> list[tuple[int, str]]:
    blanked = _JINJA.sub(lambda m: " " + "\n" * m.group(0).count("\n"), source)
    parser = _VisibleText()
    parser.feed(blanked)
    return parser.found


def test_the_checker_finds_unmarked_text() -> None:
    found = unmarked_text(
        '<p>{{ _("Marked") }}</p>\n<p>Not marked</p>\n<a aria-label="Raw label" href="#">x</a>'
        '<code>{{ value }} SHA-256</code><button>{{ _("Ok") }} ·</button>'
    )
    assert [text for _line, text in found] == ["Not marked", 'aria-label="Raw label"']


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(REPO).as_posix() for p in (REPO / "templates").rglob("*.html"))
)
def test_template_text_is_marked_for_translation(template: str) -> None:
    found = unmarked_text((REPO / template).read_text(encoding="utf-8"))
    assert found == [], f"{template}: wrap in {{{{ _('...') }}}}: {found}"
