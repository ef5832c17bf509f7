"""Open311 answers in JSON or XML, and problems as application/problem+json or +xml."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from flask import Response

from shared.web.problems import Problem


def _xml_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(items: list[dict[str, Any]], fmt: str, *, root: str, item: str,
           status: int = 200) -> Response:
    if fmt == "json":
        return Response(json.dumps(items, ensure_ascii=False), status,
                        mimetype="application/json")
    top = ET.Element(root)
    for entry in items:
        node = ET.SubElement(top, item)
        for key, value in entry.items():
            ET.SubElement(node, key).text = _xml_value(value)
    body = ET.tostring(top, encoding="unicode", xml_declaration=False)
    return Response('<?xml version="1.0" encoding="utf-8"?>' + body, status,
                    mimetype="text/xml")


def problem_xml(problem: Problem, instance: str) -> Response:
    top = ET.Element("problem", xmlns="urn:ietf:rfc:7807")
    ET.SubElement(top, "type").text = f"/problems/{problem.kind}"
    ET.SubElement(top, "title").text = problem.title
    ET.SubElement(top, "status").text = str(problem.status)
    if problem.detail:
        ET.SubElement(top, "detail").text = problem.detail
    ET.SubElement(top, "instance").text = instance
    if problem.errors:
        errors = ET.SubElement(top, "errors")
        for err in problem.errors:
            node = ET.SubElement(errors, "i")
            ET.SubElement(node, "field").text = err["field"]
            ET.SubElement(node, "message").text = err["message"]
    body = '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode")
    resp = Response(body, problem.status, mimetype="application/problem+xml")
    for name, value in problem.headers.items():
        resp.headers[name] = value
    return resp
