"""Browser ids, shared-setup links and the wait for a reloaded page's last run."""

from __future__ import annotations

import base64
import threading
import time
import zlib

import pytest

from lib.persistence.browser import COOKIE, cookie_script, new_browser_id, parse_browser_id, session_key
from lib.persistence.in_flight import RunsInFlight
from lib.persistence.setup_link import (MAX_TOKEN_CHARS, PARAM, SetupLinkError, pack, qr_png,
                                        setup_url, unpack)


def test_browser_ids_are_128_random_bits_and_the_store_never_sees_them():
    ids = {new_browser_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 22 and parse_browser_id(i) == i for i in ids)
    some = next(iter(ids))
    assert session_key(some) == session_key(some) != session_key(new_browser_id())
    assert some not in session_key(some) and len(session_key(some)) == 64


@pytest.mark.parametrize("raw", [None, "", "short", "x" * 23, "abc'; alert(1); //xxxxxx",
                                 "a" * 21 + "=", 12345, "ÄÖÜäöüÄÖÜäöüÄÖÜäöüÄÖÜä"])
def test_a_cookie_that_is_not_one_of_ours_is_not_an_id(raw):
    assert parse_browser_id(raw) is None


def test_the_cookie_script_sets_only_the_id():
    browser_id = new_browser_id()
    script = cookie_script(browser_id, 7)
    assert f"{COOKIE}={browser_id}; Max-Age={7 * 86400}; Path=/; SameSite=Lax" in script
    with pytest.raises(ValueError):
        cookie_script("x'; document.location='http://evil/'; '", 7)


def test_a_setup_link_round_trips_its_values():
    values = {"chat_system": "You help travelers make plans for their trips.", "lab_temperature": 0.3,
              "tpl_rows": [{"role": "user", "content": "Qu'est-ce que c'est ? ✈️"}]}
    url = setup_url("https://lab.example/Streaming_Chat", values)
    assert url.startswith(f"https://lab.example/Streaming_Chat?{PARAM}=")
    assert unpack(url.split("=", 1)[1]) == values
    png = qr_png(url)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 200


def _token(data: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(data)).decode().rstrip("=")


@pytest.mark.parametrize("token, words", [
    ("not base64 at all!!!", "damaged"),
    (pack({"a": 1})[:-6], "damaged"),                       # cut short
    (_token(b"[1, 2, 3]"), "no settings"),                  # not an object
    (_token(b"{not json"), "damaged"),
    (_token(b" " * 10_000_000), "too big"),                  # a zip bomb: 10 MB of spaces
    ("A" * (MAX_TOKEN_CHARS + 1), "too long"),
])
def test_a_link_that_is_not_a_setup_is_one_clear_sentence(token, words):
    with pytest.raises(SetupLinkError) as caught:
        unpack(token)
    assert words in str(caught.value)


def test_a_new_session_waits_for_the_reloaded_pages_last_run_only():
    runs, key = RunsInFlight(), "k" * 64
    connected = {"old": False, "other-tab": True}
    finished = []

    def old_run(seconds):
        with runs.running(key, "old"):
            time.sleep(seconds)
            finished.append("old")

    thread = threading.Thread(target=old_run, args=(0.3,))
    thread.start()
    time.sleep(0.05)
    assert runs.wait_for_ended_sessions(key, "new", connected.get, timeout=3)
    assert finished == ["old"]  # it waited for the disconnected session to save
    thread.join()

    with runs.running(key, "other-tab"):  # a second tab still streaming: not waited for
        started = time.monotonic()
        assert runs.wait_for_ended_sessions(key, "new", connected.get, timeout=3)
        assert time.monotonic() - started < 0.5

    with runs.running(key, "old"):  # a run that never ends: the wait is bounded
        assert not runs.wait_for_ended_sessions(key, "new", connected.get, timeout=0.3)


def test_a_setup_too_long_for_a_qr_code_or_a_link_is_said_not_raised_at_the_page():
    from lib.persistence.setup_link import SetupTooLong

    words = " ".join(f"w{i:05d}{i * 7919 % 10007}" for i in range(600))  # compresses badly
    url = setup_url("http://lab/Streaming_Chat", {"chat_system": words})
    assert len(url) > 3000
    with pytest.raises(ValueError):  # more than a QR code holds: the dialog shows the link only
        qr_png(url)
    huge = " ".join(f"w{i}-{i * 7919 % 100003}" for i in range(8000))
    with pytest.raises(SetupTooLong) as caught:
        setup_url("http://lab/Streaming_Chat", {"chat_system": huge})
    assert "too long to share" in str(caught.value)
