"""The English catalogue is complete: every string marked in code and templates has a message."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
METHODS = [("civicforum/**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def marked_strings() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(REPO), METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_english_catalogue_covers_every_marked_string() -> None:
    with open(REPO / "civicforum/translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle, locale="en")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalogue
        if m.id and m.string and not m.fuzzy
    }
    missing = sorted(marked_strings() - translated)
    assert missing == [], (
        f"{len(missing)} strings are not in the en catalogue; run the pybabel extract/update "
        f"commands from the README, then fill msgstr: {missing[:10]}"
    )
