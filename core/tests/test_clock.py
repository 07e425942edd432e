"""The business clock follows a simulator's clock endpoint when JWO_CLOCK_SOURCE is set."""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core import clock


@pytest.fixture
def fake_sim_clock():
    state = {"now": "2025-05-04T15:00:00Z", "mode": "frozen", "hits": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            state["hits"] += 1
            body = json.dumps({"now": state["now"], "mode": state["mode"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_port}/_sim/v1/clock"
    server.shutdown()
    clock.invalidate()


def test_without_a_source_the_business_clock_is_the_wall_clock(settings):
    settings.JWO_CLOCK_SOURCE = None
    before = datetime.now(UTC)
    assert before - timedelta(seconds=1) <= clock.now() <= datetime.now(UTC)


def test_follows_the_simulator_and_caches_for_at_most_a_second(settings, fake_sim_clock):
    state, url = fake_sim_clock
    settings.JWO_CLOCK_SOURCE = url
    clock.invalidate()
    assert clock.now() == datetime(2025, 5, 4, 15, 0, tzinfo=UTC)
    state["now"] = "2025-05-06T13:00:00Z"  # the test moved the simulator 46 h
    clock.invalidate()
    assert clock.now() == datetime(2025, 5, 6, 13, 0, tzinfo=UTC)
    hits = state["hits"]
    for _ in range(50):
        clock.now()
    assert state["hits"] == hits  # cached


def test_real_mode_keeps_running_between_fetches(settings, fake_sim_clock):
    state, url = fake_sim_clock
    state["mode"] = "offset"
    settings.JWO_CLOCK_SOURCE = url
    clock.invalidate()
    first = clock.now()
    second = clock.now()
    assert second >= first >= datetime(2025, 5, 4, 15, 0, tzinfo=UTC)


def test_override_pins_and_advances_time():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with clock.override(at):
        assert clock.now() == at
        clock.advance_override(600)
        assert clock.now() == at + timedelta(seconds=600)
    with pytest.raises(ValueError), clock.override(datetime(2026, 1, 1)):
        pass
