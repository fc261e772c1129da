"""Polling a condition until it holds, for e2e tests."""
import time


def wait_for(predicate, timeout=20):
    """The first truthy value of `predicate()`, polled every 50 ms; AssertionError after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
