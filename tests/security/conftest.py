"""The security tests reuse intake's app fixtures (a real store per test)."""

from tests.intake.conftest import app, client  # noqa: F401
