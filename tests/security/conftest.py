"""The security tests reuse the intake and tracker fixtures (a real store per test)."""

from tests.intake.conftest import app, client  # noqa: F401
from tests.web.conftest import config, staff, tracker_app  # noqa: F401
from tests.web.test_staff_form_errors import operator_with_intake  # noqa: F401
