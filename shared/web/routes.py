"""Routes are declared with a decorator on the view, everywhere: `@bp.get(rule)` on an API's
blueprint, `@routes.get(rule)` in a pages module whose blueprint is built per app (it needs
the settings) and takes the module's routes with `routes.register(bp)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint

F = TypeVar("F", bound=Callable[..., Any])


class Routes:
    def __init__(self) -> None:
        self._rules: list[tuple[str, Callable[..., Any], list[str]]] = []

    def route(self, rule: str, *, methods: list[str]) -> Callable[[F], F]:
        def decorate(view: F) -> F:
            self._rules.append((rule, view, methods))
            return view
        return decorate

    def get(self, rule: str) -> Callable[[F], F]:
        return self.route(rule, methods=["GET"])

    def post(self, rule: str) -> Callable[[F], F]:
        return self.route(rule, methods=["POST"])

    def register(self, bp: Blueprint) -> None:
        for rule, view, methods in self._rules:
            bp.add_url_rule(rule, view_func=view, methods=methods)
