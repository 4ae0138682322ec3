"""Reserved display names by UTS #39 confusable skeleton (issue #14 item 7): no app, no DB."""

from __future__ import annotations

import pytest

from civicforum.accounts.names import reserved_word_in, skeletons, words


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("Ada Admin", "admin"),
        ("\u0410da Admin", "admin"),  # Cyrillic А
        ("Ada \u0410dm\u0456n", "admin"),  # Cyrillic А and і inside the role word
        ("Morgan Moderator", "moderator"),
        ("AdaAdm1n", "admin"),  # camelCase hump and a digit for the i
        ("\u0391D\u039c\u0399\u039d", "admin"),  # Greek capitals
        ("M0DERAT0R Joe", "moderator"),
        ("Jean Modérateur", "modérateur"),
        ("Sam the Auditor", "auditor"),
        ("Site Staff", "staff"),
    ],
)
def test_role_words_are_reserved_in_any_disguise(name: str, word: str) -> None:
    assert reserved_word_in(name) == word


@pytest.mark.parametrize(
    "name", ["Badminton Fan", "Admiral Ackbar", "Ada Lovelace", "Edmund Auditore", "Simon"]
)
def test_ordinary_names_pass(name: str) -> None:
    assert reserved_word_in(name) is None


def test_look_alikes_share_a_skeleton_and_words_split_at_humps() -> None:
    assert skeletons("\u0410da Lovelace") == skeletons("Ada Lovelace")
    assert skeletons("Ada Lovelace") != skeletons("Ada Lovelace2")
    assert words("AdaLovelace, jr.") == ["Ada", "Lovelace", "jr"]
