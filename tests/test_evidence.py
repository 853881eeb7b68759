"""Stored grading results read back the same way, whatever their age or shape."""

from __future__ import annotations

from app.evidence import matched_spans, point_evidence, read_result
from app.grading import GradeResult
from app.models import Attempt

SPAN = {"start": 4, "end": 9, "text": "int32", "phrase": "int32"}
POINT = {
    "id": "dtypes",
    "text": "tf.range gives int32.",
    "weight": 2,
    "met": True,
    "evidence": [SPAN],
    "contradicted_by": [],
    "voided_by": [],
}
# What the first grader stored: no confidence, flags, language, optional points or weights.
FIRST = {
    "question": 3,
    "score": 0.5,
    "points": 5.0,
    "max_points": 10.0,
    "feedback": "Good answer, with a gap or two.",
    "key_points": [POINT, {**POINT, "id": "cast", "text": "Cast first.", "met": False}],
    "misconceptions": [],
    "keyword_list": False,
}


def test_results_stored_by_the_first_grader_read_with_todays_defaults() -> None:
    result = read_result(FIRST)
    assert result == GradeResult.model_validate(FIRST)
    assert (result.confidence, result.flags, result.full_marks_weight) == (1.0, [], None)
    assert [p.optional for p in result.key_points] == [False, False]


def test_a_malformed_row_is_read_for_what_it_holds() -> None:
    attempt = Attempt(question_number=4, score=0.25, points=2.5, max_points=10.0)
    stored = {
        "key_points": [
            {"id": "a", "met": True, "evidence": [SPAN, {"text": "no place"}, "junk"]},
            "junk",
            {"text": "Only a text.", "weight": "heavy"},
        ],
        "misconceptions": [{"id": "m"}],
    }
    result = read_result(stored, attempt)
    assert (result.question, result.score, result.points, result.max_points) == (4, 0.25, 2.5, 10)
    assert [(p.id, p.text, p.weight, p.met) for p in result.key_points] == [
        ("a", "a", 0, True),
        ("", "Only a text.", 0, False),
    ]
    assert [m.id for m in result.misconceptions] == ["m"]
    assert matched_spans(result) == [(4, 9)]
    assert read_result(None).key_points == [] and read_result([1, 2]).misconceptions == []


def test_evidence_names_what_decided_each_point() -> None:
    found = point_evidence(read_result(FIRST))
    assert [(e.text, e.met, [s.phrase for s in e.matched]) for e in found] == [
        ("tf.range gives int32.", True, ["int32"]),
        ("Cast first.", False, []),
    ]
