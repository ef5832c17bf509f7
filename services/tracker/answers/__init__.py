"""Departments' public-answer templates (Vietnamese) with placeholders."""
