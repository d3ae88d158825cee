"""Every registered kind implements the ``Kind`` protocol: its members, and its methods with the
protocol's parameters (names and order), so callers never probe a kind for what it offers."""

from __future__ import annotations

import inspect

import pytest

from grader.kinds.base import Kind, KindBase, PartSpec
from grader.kinds.registry import get_kind, kind_names


def _members(protocol: type) -> tuple[list[str], list[str]]:
    """Return the protocol's (method names, attribute names)."""
    methods = [n for n, v in vars(protocol).items() if inspect.isfunction(v) and n[0] != "_"]
    attributes = [n for n in protocol.__annotations__ if n[0] != "_"]
    return methods, attributes


def _parameters(function) -> list[tuple[str, str]]:
    return [(p.name, str(p.kind)) for p in inspect.signature(function).parameters.values()]


def test_the_protocol_declares_what_callers_use():
    methods, attributes = _members(Kind)
    assert {"check", "grade", "self_test_cases", "precheck", "public", "preview"} <= set(methods)
    assert {"mistake_answers", "rubric"} <= set(methods)
    assert {"name", "part_model", "private_fields", "deferred", "previews"} <= set(attributes)


@pytest.mark.parametrize("name", kind_names())
def test_each_registered_kind_implements_the_protocol(name):
    kind = get_kind(name)
    assert isinstance(kind, Kind)
    assert kind.name == name
    assert issubclass(kind.part_model, PartSpec)
    assert isinstance(kind.private_fields, frozenset)
    assert isinstance(kind.deferred, bool) and isinstance(kind.previews, bool)
    methods, _ = _members(Kind)
    for method in methods:
        assert _parameters(getattr(type(kind), method)) == _parameters(getattr(Kind, method)), (
            name,
            method,
        )
    if kind.previews:
        assert type(kind).preview is not KindBase.preview, f"{name} previews but has no preview"


def test_a_kind_missing_a_member_or_with_another_signature_is_caught():
    class Incomplete:
        name = "incomplete"

    assert not isinstance(Incomplete(), Kind)

    class WrongSignature(KindBase):
        name = "wrong"
        part_model = PartSpec

        def grade(self, part, answer):  # no ctx
            raise NotImplementedError

    assert isinstance(WrongSignature(), Kind)  # isinstance sees only the names...
    assert _parameters(WrongSignature.grade) != _parameters(Kind.grade)  # ...the test more


def test_kinds_with_listed_mistakes_name_them_and_text_parts_give_their_rubric():
    from grader.catalog import load_files
    from tests.conftest import EXERCISES

    seen = set()
    for item in load_files([EXERCISES]):
        for part in item.spec.parts:
            kind = get_kind(part.kind)
            if "mistakes" in type(part).model_fields:
                names = kind.mistake_answers(part)
                assert len(names) == len(part.mistakes)
                if part.kind == "code":  # a code mistake is named by its wrong expressions
                    listed = [
                        ", ".join(f"{out} = {text}" for out, text in m.outputs.items())
                        for m in part.mistakes
                    ]
                else:
                    listed = [str(m.answer) for m in part.mistakes]
                assert names == listed
                if listed:
                    seen.add(part.kind)
            else:
                assert kind.mistake_answers(part) == []
            if part.kind == "text":
                assert kind.rubric(part) == (part.rubric or None)
                seen.add("text")
            else:
                assert kind.rubric(part) is None
    assert {"formula", "shape", "memory", "code", "text"} <= seen
