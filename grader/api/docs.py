"""REST API v1: the OpenAPI document and a readable page generated from it (no scripts, no
CDN: plain HTML that any Content-Security-Policy allows)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from flask import Response, jsonify, render_template_string
from flask.typing import ResponseReturnValue

from grader.api.blueprint import bp
from grader.api.openapi import document

METHOD_ORDER = ("get", "post", "put", "patch", "delete")

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ doc.info.title }}</title>
<link rel="icon" href="data:,">
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font-family:ui-monospace,monospace;background:#f4f4f4;padding:.1em .3em;border-radius:3px}
pre{padding:.6em;overflow:auto}
section{border-top:1px solid #ddd;padding:.5rem 0}
.method{display:inline-block;min-width:4.5em;font-weight:bold;text-transform:uppercase}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}
</style></head><body><main>
<h1>{{ doc.info.title }} <small>{{ doc.info.version }}</small></h1>
<p>{{ doc.info.description }}</p>
<p>Machine-readable: <a href="{{ url_for('api.openapi_json') }}">openapi.json</a>
(OpenAPI {{ doc.openapi }}).</p>
<nav aria-label="Operations"><ul>{% for op in operations %}
<li><a href="#{{ op.id }}"><span class="method">{{ op.method }}</span> {{ op.path }}</a>
&mdash; {{ op.summary }}</li>{% endfor %}</ul></nav>
{% for op in operations %}
<section id="{{ op.id }}">
<h2><span class="method">{{ op.method }}</span> <code>{{ op.path }}</code></h2>
<p><strong>{{ op.summary }}</strong> <small>(operationId <code>{{ op.id }}</code>)</small></p>
<p>{{ op.description }}</p>
{% if op.parameters %}<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>schema</th>
<th>description</th></tr>{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code>
{% if p.required %}*{% endif %}</td><td>{{ p.in }}</td><td><code>{{ p.schema | tojson }}</code>
</td><td>{{ p.description or '' }}</td></tr>{% endfor %}</table>{% endif %}
{% if op.body %}<h3>Request body</h3><pre tabindex="0">{{ op.body }}</pre>{% endif %}
<h3>Responses</h3><table>{% for code, r in op.responses %}<tr><td>{{ code }}</td>
<td>{{ r.description }}</td><td>{{ r.content | join(', ') }}</td></tr>{% endfor %}</table>
</section>{% endfor %}
<section><h2>Schemas</h2>{% for name, schema in schemas %}<h3 id="schema-{{ name }}">
{{ name }}</h3><pre tabindex="0">{{ schema }}</pre>{% endfor %}</section>
</main></body></html>"""


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """Return the OpenAPI 3.1 document (no token needed)."""
    return jsonify(document())


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    operations = []
    for path, item in doc["paths"].items():
        for method in sorted(item, key=METHOD_ORDER.index):
            operation = item[method]
            body: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
            first: dict[str, Any] = next(iter(body.values()), {})
            schema = first.get("schema")
            operations.append(
                {
                    "id": operation["operationId"],
                    "method": method,
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": operation.get("parameters", []),
                    "body": json.dumps(schema, indent=2, ensure_ascii=False) if schema else None,
                    "responses": [
                        (
                            code,
                            {
                                "description": r.get("description", ""),
                                "content": list(r.get("content", {})),
                            },
                        )
                        for code, r in operation["responses"].items()
                    ],
                }
            )
    return operations


@cache
def _page_parts() -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Return the page's operations and pretty-printed schemas (``document()`` never changes)."""
    doc = document()
    schemas = [
        (name, json.dumps(schema, indent=2, ensure_ascii=False))
        for name, schema in sorted(doc["components"]["schemas"].items())
    ]
    return _operations(doc), schemas


@bp.get("/docs")
def docs_page() -> ResponseReturnValue:
    """Return a readable HTML page of every operation and schema of the OpenAPI document."""
    operations, schemas = _page_parts()
    html = render_template_string(DOCS_PAGE, doc=document(), operations=operations, schemas=schemas)
    return Response(html, mimetype="text/html")
