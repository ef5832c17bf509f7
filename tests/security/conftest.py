"""The web fixtures (tracker app on the test's own database, staff login) for the attacks."""

from tests.web.conftest import config, tracker_app  # noqa: F401 - fixtures used by the tests
