"""Translation catalogues: extract, update, report gaps, compile (`bash .ci/translations`).

One command after adding strings (or after a merge brings some):

    .venv/bin/python -m civicforum.catalogues          # extract, update, report, compile
    .venv/bin/python -m civicforum.catalogues --check  # report only; exit 1 on any gap

It does what the README's `pybabel extract` + `pybabel update --no-fuzzy-matching` did, with
the same keywords, and then fills the English catalogue (English is the source language, so
its translation is the message itself) and lists, per shipped language, every message that is
untranslated or fuzzy. `tests/unit/test_translations.py` fails on the same gaps. Plain Babel:
no Flask, so it runs before the app can.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parent.parent
DIRECTORY = REPO / "civicforum" / "translations"
# The languages people can choose; config.Defaults.LANGUAGES lists the same ones.
SHIPPED = ("en", "fr", "es", "ar")
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
}


def extract() -> Catalog:
    """Every marked string in the code and templates (babel.cfg's methods)."""
    with open(REPO / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    template = Catalog(project="civicforum", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=KEYWORDS
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def path_of(locale: str) -> Path:
    return DIRECTORY / locale / "LC_MESSAGES" / "messages.po"


def load(locale: str) -> Catalog:
    with open(path_of(locale), "rb") as handle:
        return read_po(handle, locale=locale)


def _ids(message: Message) -> tuple[str, ...]:
    return (message.id,) if isinstance(message.id, str) else tuple(message.id)


def _strings(message: Message) -> tuple[str, ...]:
    if not message.string:  # None or "" for a message new to this catalogue
        return ("",)
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


def gaps(catalogue: Catalog) -> Iterator[tuple[str, str]]:
    """(message, why) for every message without a usable translation."""
    for message in catalogue:
        if not message.id:
            continue
        if message.fuzzy:
            yield _ids(message)[0], "fuzzy"
        elif not all(strings := _strings(message)) or (
            message.pluralizable and len(strings) < catalogue.num_plurals
        ):
            yield _ids(message)[0], "untranslated"


def fill_english(catalogue: Catalog) -> int:
    """English is the source: an empty English translation is the message itself."""
    filled = 0
    for message in catalogue:
        if not message.id or all(_strings(message)):
            continue
        ids = _ids(message)
        message.string = ids[0] if len(ids) == 1 else ids[:2]
        message.flags.discard("fuzzy")
        filled += 1
    return filled


def update(template: Catalog) -> dict[str, list[tuple[str, str]]]:
    """Bring every shipped catalogue up to the template; returns each one's gaps."""
    report = {}
    for locale in SHIPPED:
        path = path_of(locale)
        if path.exists():
            catalogue = load(locale)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalogue = Catalog(locale=locale, project="civicforum", charset="utf-8")
        # A copy: update() adopts the template's new Message objects, and filling English
        # would otherwise fill them in the catalogues updated after it.
        catalogue.update(copy.deepcopy(template), no_fuzzy_matching=True)
        catalogue.obsolete.clear()
        # A header marked fuzzy (as `pybabel init` writes it) makes `pybabel compile`, which
        # .ci/setup runs, skip the whole catalogue: the language would silently be English.
        catalogue.fuzzy = False
        if locale == "en":
            fill_english(catalogue)
        catalogue.revision_date = datetime.now(UTC)
        with open(path, "wb") as handle:
            write_po(handle, catalogue, ignore_obsolete=True, width=76)
        report[locale] = list(gaps(catalogue))
    return report


def compile_all() -> None:
    for locale in SHIPPED:
        catalogue = load(locale)
        with open(path_of(locale).with_suffix(".mo"), "wb") as handle:
            write_mo(handle, catalogue, use_fuzzy=False)


def main(argv: list[str] | None = None) -> int:
    summary = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="civicforum.catalogues", description=summary)
    parser.add_argument("--check", action="store_true", help="only report gaps; write nothing")
    parser.add_argument("--list", type=int, default=20, help="gaps to print per language")
    args = parser.parse_args(argv)
    if args.check:
        report = {locale: list(gaps(load(locale))) for locale in SHIPPED}
    else:
        report = update(extract())
        compile_all()
    missing = 0
    for locale, found in report.items():
        total = len(list(m for m in load(locale) if m.id))
        print(f"{locale}: {total - len(found)}/{total} translated", end="")
        print(f", {len(found)} to do" if found else "")
        for message, why in found[: args.list]:
            print(f"  {why}: {message!r}")
        if len(found) > args.list:
            print(f"  … and {len(found) - args.list} more (--list N shows more)")
        missing += len(found)
    if missing:
        print(f"Fill the msgstr of these {missing} messages in civicforum/translations/*/", end="")
        print("LC_MESSAGES/messages.po, then run this again.")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
