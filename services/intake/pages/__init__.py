"""Server-rendered pages for residents: report form, confirmation, tracking page."""

from services.intake.pages.views import blueprint

__all__ = ["blueprint"]
