"""`make run`'s supervisor: a child that exits is started again, with backoff, and logged."""

from __future__ import annotations

import io
import os
import signal

from shared.devstack.processes import ManagedProcess, Supervisor


def test_a_killed_child_comes_back_after_a_backoff(tmp_path):
    now = [0.0]
    child = ManagedProcess("sleeper", ["sleep", "60"], log_path=tmp_path / "sleeper.log")
    child.start()
    log = io.StringIO()
    supervisor = Supervisor([child], log=log, first_delay=1.0, max_delay=4.0,
                            stable_after=60.0, monotonic=lambda: now[0])
    try:
        first = child.proc.pid
        os.kill(first, signal.SIGKILL)
        child.proc.wait(5)
        supervisor.check()
        assert not child.running, "waits its backoff before restarting"
        assert "sleeper exited (code -9)" in log.getvalue()
        now[0] = 1.0
        supervisor.check()
        assert child.running and child.proc.pid != first
        assert supervisor.restarts == {"sleeper": 1}

        delays = []
        for _ in range(3):  # dies again at once: the delay doubles, up to its cap
            child.kill()
            supervisor.check()
            due = supervisor._due["sleeper"]
            delays.append(due - now[0])
            now[0] = due
            supervisor.check()
            assert child.running
        assert delays == [2.0, 4.0, 4.0]

        now[0] += 61  # up a minute: the next exit is restarted after the first delay again
        child.kill()
        supervisor.check()
        assert supervisor._due["sleeper"] - now[0] == 1.0
    finally:
        child.stop()
