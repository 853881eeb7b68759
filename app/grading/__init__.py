"""Grade an answer against its question's rubric: a pure, explainable function of the text.

``reading`` turns the answer into statements (clauses, negation, retractions, code,
"the former"/"the latter"); ``grader`` matches the rubric's key points against them;
``gaming`` spots answers built to fool it; ``language`` says which language an answer is in;
``confidence`` decides when the grader is unsure and an instructor should look.
"""

from app.grading.grader import grade_answer
from app.grading.result import Evidence, GradeResult, MisconceptionResult, PointResult

__all__ = ["Evidence", "GradeResult", "MisconceptionResult", "PointResult", "grade_answer"]
