"""Grouping low-scoring answers by the phrases the rubric did not match, on small examples."""

from __future__ import annotations

from app.grouping import AnswerGroup, LowAnswer, group_answers, prompt_stems, unmatched_phrases

PROMPT = "How does TensorFlow run a Python function as a graph?"


def test_phrases_are_stemmed_pairs_of_content_words_within_a_clause() -> None:
    found = unmatched_phrases("It uses eager execution. Graphs are faster", [], frozenset())
    assert found == {"eager execut": "eager execution", "graph faster": "graphs faster"}
    # Stop words between two content words do not part them; a sentence end does.
    assert "execut graph" not in found
    assert unmatched_phrases("the executions of the eagerly", [], frozenset()) == {
        "execut eager": "executions eagerly"
    }


def test_a_dot_inside_a_name_does_not_end_the_clause() -> None:
    assert "tf function" in unmatched_phrases("wrap it in tf.function please", [], frozenset())


def test_matched_words_and_the_question_itself_are_left_out() -> None:
    text = "autograph converts python code into graph ops"
    # "autograph converts" earned a key point: its words belong to no unmatched phrase.
    found = unmatched_phrases(text, [(0, 18)], prompt_stems(PROMPT))
    assert found == {
        "python code": "python code",
        "code graph": "code graph",
        "graph op": "graph ops",
    }
    assert "convert python" in unmatched_phrases(text, [], frozenset())
    # "python function" restates the question: both words are in the prompt.
    assert unmatched_phrases("a python function", [], prompt_stems(PROMPT)) == {}


def test_answers_sharing_a_phrase_form_a_group_largest_first() -> None:
    answers = [
        LowAnswer(1, "It relies on eager execution, I think."),
        LowAnswer(2, "Eager executions run each op at once."),
        LowAnswer(3, "eager execution mode"),
        LowAnswer(4, "Something about session objects and eager execution."),
        LowAnswer(5, "Session objects again."),
        LowAnswer(6, "Nothing in common here."),
    ]
    groups = group_answers(answers, PROMPT)
    assert groups[0] == AnswerGroup("eager execution", (), (1, 2, 3, 4))
    assert groups[0].size == 4
    assert groups[1] == AnswerGroup("session objects", (), (4, 5))
    assert len(groups) == 2


def test_phrases_in_the_same_answers_make_one_group() -> None:
    answers = [
        LowAnswer(1, "static graph compiler here"),
        LowAnswer(2, "a static graph compiler"),
    ]
    assert group_answers(answers, "") == [AnswerGroup("graph compiler", ("static graph",), (1, 2))]


def test_the_common_spelling_names_the_group_and_sizes_limit_it() -> None:
    answers = [
        LowAnswer(i, text) for i, text in enumerate(["XLA compiles", "xla compiles", "XLA compile"])
    ]
    (group,) = group_answers(answers, "")
    assert group.phrase == "xla compiles" and group.size == 3
    assert group_answers(answers, "", min_size=4) == []
    many = [LowAnswer(i, f"word{i} shared phrase") for i in range(5)]
    assert [g.phrase for g in group_answers(many, "", limit=1)] == ["shared phrase"]
