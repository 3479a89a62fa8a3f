"""srgan.cache.LRUCache: bounded, least recently used first, and one creation per key however many threads ask."""

import threading
import time

import pytest

from srgan.cache import LRUCache


def test_the_least_recently_used_goes_first():
    cache = LRUCache(2)
    cache.get_or_create("a", lambda: 1)
    cache.get_or_create("b", lambda: 2)
    assert cache.get_or_create("a", lambda: 99) == 1  # found: "a" is now the most recent
    cache.get_or_create("c", lambda: 3)
    assert "b" not in cache and "a" in cache and len(cache) == 2


def _racing_thread(cache, key, create, results):
    thread = threading.Thread(target=lambda: results.append(cache.get_or_create(key, create)))
    thread.start()
    return thread


def test_a_second_thread_waits_for_the_value_being_created_instead_of_computing_it_again():
    cache, calls, results = LRUCache(4), [], []
    entered, release = threading.Event(), threading.Event()

    def slow():  # the warm-up walking the Architecture tab's example
        calls.append("first")
        entered.set()
        release.wait(timeout=30)
        return object()

    first = _racing_thread(cache, "example", slow, results)
    entered.wait(timeout=30)
    second = _racing_thread(cache, "example", lambda: calls.append("second") or object(), results)
    time.sleep(0.2)  # time for the second thread to compute, if it would (it must not)
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert calls == ["first"]
    assert len(results) == 2 and results[0] is results[1]


def test_when_the_creation_fails_a_waiting_thread_tries_itself():
    cache, results = LRUCache(4), []
    entered, release = threading.Event(), threading.Event()

    def failing():
        entered.set()
        release.wait(timeout=30)
        raise OSError("the disk went away")

    errors = []
    first = threading.Thread(target=lambda: errors.append(pytest.raises(OSError, cache.get_or_create, "k", failing)))
    first.start()
    entered.wait(timeout=30)
    second = _racing_thread(cache, "k", lambda: "made by the second", results)
    time.sleep(0.2)
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert len(errors) == 1 and results == ["made by the second"]
    assert cache.get_or_create("k", lambda: "not again") == "made by the second"
