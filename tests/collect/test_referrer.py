"""collect.referrer: page URLs → (domain, page), garbage → (None, None)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchdepth.collect.referrer import page_dims


@pytest.mark.parametrize(
    ("url", "dims"),
    [
        ("https://example.com/watch/1", ("example.com", "example.com/watch/1")),
        ("https://www.example.com/watch/1?utm_source=x#t=10", ("example.com", "example.com/watch/1")),
        ("https://WWW.Example.COM:8443/Watch/Lesson-1/", ("example.com", "example.com/Watch/Lesson-1/")),
        ("http://example.com", ("example.com", "example.com/")),
        ("http://example.com?x=1", ("example.com", "example.com/")),
        ("https://user:pw@sub.example.co.uk/a%20b", ("sub.example.co.uk", "sub.example.co.uk/a%20b")),
        ("https://www.www.example.com/", ("www.example.com", "www.example.com/")),
        ("https://example.com./x", ("example.com", "example.com/x")),
        ("https://wwwexample.com/", ("wwwexample.com", "wwwexample.com/")),
        ("http://192.168.0.10:8080/player", ("192.168.0.10", "192.168.0.10/player")),
        ("http://[::1]:8000/p", ("::1", "::1/p")),
        ("https://пример.рф/видео", ("пример.рф", "пример.рф/видео")),
        ("  https://example.com/x  ", ("example.com", "example.com/x")),
        (None, (None, None)),
        ("", (None, None)),
        ("not a url", (None, None)),
        ("example.com/watch", (None, None)),  # no scheme: not guessed
        ("/relative/path", (None, None)),
        ("ftp://example.com/file", (None, None)),
        ("javascript:alert(1)", (None, None)),
        ("android-app://com.google.android.gm/", (None, None)),
        ("https://", (None, None)),
        ("https://www./", (None, None)),
        ("http://[::1/", (None, None)),
        ("http://exa mple.com/", (None, None)),
        ("https://example.com/" + "a" * 3000, (None, None)),
    ],
)
def test_page_dims(url: str | None, dims: tuple[str | None, str | None]) -> None:
    assert page_dims(url) == dims


@given(st.text())
def test_never_raises(text: str) -> None:
    domain, page = page_dims(text)
    assert (domain is None) == (page is None)
    assert domain is None or (page is not None and page.startswith(domain + "/"))


@given(st.text(alphabet="htps:/[]@%?#.:wW0123456789abc -\\"))
def test_never_raises_on_url_like_text(text: str) -> None:
    page_dims(text)
    page_dims("https://" + text)
