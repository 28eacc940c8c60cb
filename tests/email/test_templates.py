"""The shipped templates: files, declared context, rendering and escaping (no services needed)."""
from __future__ import annotations

import jinja2
import pytest
from jinja2 import meta

from hub.services.email.templates import (
    ContextError,
    _environment,
    all_templates,
    get_template,
    render,
    validate_context,
)

PARTS = ("subject.txt", "txt", "html")


def example_context(schema: dict, optional: bool = True) -> dict:
    names = schema["properties"] if optional else schema["required"]
    values = {}
    for name in names:
        spec = schema["properties"][name]
        if spec["type"] == "integer":
            values[name] = 3
        elif "pattern" in spec:
            values[name] = f"https://hub.example.com/{name}"
        else:
            values[name] = f"<{name}> & co"
    return values


def test_the_issue_asks_for_these_templates():
    names = {t.name for t in all_templates()}
    assert {"welcome", "password_reset", "job_succeeded", "job_failed", "reconciliation_ready"} <= names


@pytest.mark.parametrize("template", all_templates(), ids=lambda t: t.name)
def test_declared_context_is_exactly_what_the_files_use(template):
    env = _environment()
    used = set()
    for part in PARTS:
        source = env.loader.get_source(env, f"{template.name}.{part}")[0]
        used |= meta.find_undeclared_variables(env.parse(source))
    assert used == set(template.context_schema["properties"])
    assert set(template.context_schema["required"]) <= used


@pytest.mark.parametrize("template", all_templates(), ids=lambda t: t.name)
@pytest.mark.parametrize("optional", [True, False], ids=["all-variables", "required-only"])
def test_every_template_renders_both_parts_escaping_only_html(template, optional):
    context = example_context(template.context_schema, optional)
    rendered = validate_context(template, context)
    assert rendered.subject and "\n" not in rendered.subject
    assert "name" not in context or "<name> & co" in rendered.text  # plain text is not escaped
    assert "<name>" not in rendered.html
    if "name" in context:
        assert "&lt;name&gt; &amp; co" in rendered.html
    assert rendered.html.lstrip().startswith("<!doctype html>")


def test_missing_and_unknown_variables_are_named():
    welcome = get_template("welcome")
    with pytest.raises(ContextError) as caught:
        validate_context(welcome, {"name": "Ann", "emial": "ann@example.com"})
    assert caught.value.fields == {"tenant_name": ["required by the template 'welcome'"],
                                   "email": ["required by the template 'welcome'"],
                                   "emial": ["not used by the template 'welcome'"]}


def test_wrong_types_are_reported_per_variable():
    reset = get_template("password_reset")
    with pytest.raises(ContextError) as caught:
        validate_context(reset, {"name": "Ann", "reset_url": "javascript:alert(1)",
                                 "expires_minutes": "soon"})
    assert set(caught.value.fields) == {"reset_url", "expires_minutes"}


def test_a_line_break_in_the_context_cannot_reach_the_subject_header():
    rendered = render("job_succeeded", {"name": "Ann", "job_id": "1",
                                        "job_type": "x\r\nBcc: victim@example.com"})
    assert rendered.subject == "Your x Bcc: victim@example.com job succeeded"


def test_rendering_without_a_variable_fails_instead_of_printing_nothing():
    with pytest.raises(jinja2.UndefinedError):
        render("welcome", {"name": "Ann", "tenant_name": "Acme"})
