"""Load question files: YAML front matter, then markdown sections, every error with its line.

A bad file is reported on its own and left out; the other questions still load.
"""

from __future__ import annotations

import gc
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.schema import Demo, DemoExpectation, FrontMatter, Question, Rubric
from app.sections import Section, split_sections
from app.text import normalize_newlines

FENCE = "---"
QUESTION, REFERENCE, RUBRIC, DEMO = "question", "reference answer", "rubric", "demo"
NOTES = "notes"  # a demo's speaker notes: the one fence kind that only a demo may hold
REQUIRED_SECTIONS = (QUESTION, REFERENCE, RUBRIC)
STR_TAG, MERGE_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"
FENCE_START = re.compile(r"^ {0,3}(?:`{3,}|~{3,})", re.MULTILINE)
MAX_FILE_BYTES = 256 * 1024
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class QuestionError:
    """One problem in one file, at one line (1-based; 0 when the whole file is at fault)."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class QuestionBank:
    """The loaded questions by number, and what went wrong with the rest."""

    questions: dict[int, Question] = field(default_factory=dict)
    errors: list[QuestionError] = field(default_factory=list)

    def ordered(self) -> list[Question]:
        """Return the questions sorted by number."""
        return [self.questions[n] for n in sorted(self.questions)]

    def ids(self) -> list[str]:
        """Return the questions' uuids in quiz order: the keys every stored row uses."""
        return [str(q.id) for q in self.ordered()]

    def by_id(self, question_id: str) -> Question | None:
        """Return the question with this uuid, whatever number its file now gives it."""
        return next((q for q in self.questions.values() if str(q.id) == question_id), None)

    @property
    def possible_points(self) -> float:
        """Return the most points a learner can score over the whole quiz."""
        return sum(q.points for q in self.ordered())

    def neighbours(self, question: Question) -> tuple[Question | None, Question | None]:
        """Return the questions before and after this one in quiz order (None at the ends)."""
        ordered = self.ordered()
        index = sorted(self.questions).index(question.number)
        previous = ordered[index - 1] if index > 0 else None
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        return previous, following


class FileInvalid(Exception):
    """Raised inside the loader to collect a file's errors."""

    def __init__(self, errors: list[QuestionError]) -> None:
        super().__init__("; ".join(map(str, errors)))
        self.errors = errors


def load_folder(folder: Path) -> QuestionBank:
    """Load every ``*.md`` file of a folder; duplicates of id or number are errors."""
    bank = QuestionBank()
    if not folder.is_dir():
        bank.errors.append(QuestionError(folder, 0, "not a folder of question files"))
        return bank
    seen_ids: dict[str, Path] = {}
    # Parsing allocates many short-lived objects and no cycles; pausing the cyclic
    # collector meanwhile makes a large folder load about a third faster.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _load_into(bank, folder, seen_ids)
    finally:
        if collecting:
            gc.enable()
    return bank


def _load_into(bank: QuestionBank, folder: Path, seen_ids: dict[str, Path]) -> None:
    for path in sorted(folder.glob("*.md")):
        try:
            question = load_file(path)
        except FileInvalid as invalid:
            bank.errors.extend(invalid.errors)
            continue
        clash = bank.questions.get(question.number)
        if clash is not None:
            message = f"number {question.number} is already used by {clash.path.name}"
            bank.errors.append(QuestionError(path, 2, message))
            continue
        if str(question.id) in seen_ids:
            message = f"id {question.id} is already used by {seen_ids[str(question.id)].name}"
            bank.errors.append(QuestionError(path, 2, message))
            continue
        seen_ids[str(question.id)] = path
        bank.questions[question.number] = question


def load_file(path: Path) -> Question:
    """Load and validate one question file, raising FileInvalid with every error found."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FileInvalid([QuestionError(path, 0, f"cannot read: {error.strerror}")]) from None
    return parse_question(raw, path)


def parse_question(raw: bytes, path: Path) -> Question:
    """Parse the bytes of a question file; ``path`` only names it in errors."""
    if len(raw) > MAX_FILE_BYTES:
        raise FileInvalid([QuestionError(path, 0, f"larger than {MAX_FILE_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise FileInvalid([QuestionError(path, line, "not valid UTF-8 text")]) from None
    lines = normalize_newlines(text).split("\n")
    header, body_start = _split_front_matter(lines, path)
    errors: list[QuestionError] = []
    front = _validate_yaml(FrontMatter, header, 2, path, errors, "front matter")
    sections = _sections(lines[body_start:], body_start, path, errors)
    rubric = _parse_rubric(sections.get(RUBRIC), path, errors)
    demos = [
        demo
        for index, section in enumerate(sections.get(DEMO, []), start=1)
        if (demo := _parse_demo(index, section, path, errors)) is not None
    ]
    for name in REQUIRED_SECTIONS:
        if name not in sections:
            errors.append(QuestionError(path, 0, f"missing section '## {name.capitalize()}'"))
    if errors or front is None or rubric is None:
        raise FileInvalid(errors)
    _check_demo_links(rubric, len(demos), sections[RUBRIC], path)
    return Question(
        **dict(front),
        prompt_markdown=sections[QUESTION][0].markdown,
        reference_markdown=sections[REFERENCE][0].markdown,
        rubric=rubric,
        demos=tuple(demos),
        path=path,
        content_hash=_content_hash(raw, lines, sections.get(DEMO, [])),
    )


def _content_hash(raw: bytes, lines: list[str], demos: list[Section]) -> str:
    """Hash the file without its speaker notes: a result page marks an answer as graded
    against an earlier version when the hash changes, and notes change no grading.

    A file without notes hashes as its bytes, as before notes existed; a notes block is
    left out with the blank line before it, so adding one to a file keeps its hash.
    """
    spans = [
        (fence.line - 2, fence.line - 1 + fence.content.count("\n"))  # 0-based, fences included
        for section in demos
        for fence in section.fences
        if fence.info == NOTES
    ]
    if not spans:
        return hashlib.sha256(raw).hexdigest()
    dropped: set[int] = set()
    for first, last in spans:
        if first > 0 and not lines[first - 1].strip():
            first -= 1
        dropped.update(range(first, min(last, len(lines) - 1) + 1))
    kept = "\n".join(line for index, line in enumerate(lines) if index not in dropped)
    return hashlib.sha256(kept.encode("utf-8")).hexdigest()


def _split_front_matter(lines: list[str], path: Path) -> tuple[str, int]:
    if not lines or lines[0].strip() != FENCE:
        raise FileInvalid([QuestionError(path, 1, "file must start with '---' front matter")])
    for index in range(1, len(lines)):
        if lines[index].strip() == FENCE:
            return "\n".join(lines[1:index]), index + 1
    raise FileInvalid([QuestionError(path, 1, "front matter is not closed by '---'")])


def _sections(
    lines: list[str], offset: int, path: Path, errors: list[QuestionError]
) -> dict[str, Any]:
    """Split the body at level-2 headings; demos collect into a list."""
    found: dict[str, Any] = {}
    sections = split_sections(lines, offset + 1)
    if not sections:
        errors.append(QuestionError(path, offset + 1, "no '## ' sections found"))
    for section in sections:
        key = _section_key(section.title)
        where = section.line
        if key is None:
            errors.append(QuestionError(path, where, f"unknown section '## {section.title}'"))
        elif key == DEMO:
            found.setdefault(DEMO, []).append(section)
        elif key in found:
            errors.append(QuestionError(path, where, f"section '## {section.title}' appears twice"))
        else:
            found[key] = [section]
            _refuse_notes(section, path, errors)
            if not section.markdown:
                errors.append(QuestionError(path, where, f"section '## {section.title}' is empty"))
    return found


def _refuse_notes(section: Section, path: Path, errors: list[QuestionError]) -> None:
    """Report a notes block outside a demo: learners would read it in the rendered section."""
    for fence in section.fences:
        if fence.info == NOTES:
            message = (
                f"a ```notes block belongs in a '## Demo' section, not '## {section.title}'"
                " (speaker notes are never shown to learners)"
            )
            errors.append(QuestionError(path, fence.line - 1, message))


def _section_key(title: str) -> str | None:
    lower = title.lower()
    if lower == DEMO or lower.startswith(DEMO + ":"):
        return DEMO
    return lower if lower in REQUIRED_SECTIONS else None


def _parse_rubric(
    sections: list[Section] | None, path: Path, errors: list[QuestionError]
) -> Rubric | None:
    if not sections:
        return None
    section = sections[0]
    blocks = [fence for fence in section.fences if fence.info in ("yaml", "yml")]
    if len(blocks) != 1:
        errors.append(QuestionError(path, section.line, "the rubric needs one ```yaml block"))
        return None
    return _validate_yaml(Rubric, blocks[0].content, blocks[0].line, path, errors, "rubric")


def _parse_demo(
    index: int, section: Section, path: Path, errors: list[QuestionError]
) -> Demo | None:
    title = section.title.partition(":")[2].strip() or f"Demo {index}"
    code = [fence for fence in section.fences if fence.info in ("python", "py")]
    expects = [fence for fence in section.fences if fence.info == "expect"]
    if len(code) != 1 or len(expects) > 1:
        message = "a demo needs one ```python block and at most one ```expect block"
        errors.append(QuestionError(path, section.line, message))
        return None
    notes = _parse_notes(section, path, errors)
    if notes is None:
        return None
    expect = None
    if expects:
        block = expects[0]
        expect = _validate_yaml(
            DemoExpectation, block.content, block.line, path, errors, "expect block"
        )
        if expect is None:
            return None
    intro = FENCE_START.split(section.markdown, maxsplit=1)[0].strip()
    block = code[0]
    if not block.content.strip():
        errors.append(QuestionError(path, block.line, "the demo's python block is empty"))
        return None
    return Demo(
        index=index,
        title=title,
        intro_markdown=intro,
        code=block.content,
        expect=expect,
        notes_markdown=notes,
        line=block.line,
    )


def _parse_notes(section: Section, path: Path, errors: list[QuestionError]) -> str | None:
    """Return a demo's speaker notes ("" when it has none), or None after reporting a fault."""
    blocks = [fence for fence in section.fences if fence.info == NOTES]
    if len(blocks) > 1:
        message = "a demo has at most one ```notes block (put all its notes in one)"
        errors.append(QuestionError(path, blocks[1].line - 1, message))
        return None
    if blocks and not blocks[0].content.strip():
        message = "the demo's notes block is empty: write the notes or remove the block"
        errors.append(QuestionError(path, blocks[0].line - 1, message))
        return None
    return blocks[0].content.strip() if blocks else ""


def _check_demo_links(rubric: Rubric, demo_count: int, sections: list[Section], path: Path) -> None:
    bad = [m.id for m in rubric.misconceptions if m.demo is not None and m.demo > demo_count]
    if bad:
        message = f"misconception(s) {', '.join(bad)} name a demo this question does not have"
        raise FileInvalid([QuestionError(path, sections[0].line, message)])


def _validate_yaml(
    model: type[M], text: str, first_line: int, path: Path, errors: list[QuestionError], what: str
) -> M | None:
    """Parse YAML and validate it, mapping every error back to its line in the file."""
    try:
        data, root = load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = first_line + (mark.line if mark else 0)
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context_mark", None)
        if context is not None and context.line != (mark.line if mark else 0):
            problem += f" (in what starts on line {first_line + context.line})"
        errors.append(QuestionError(path, line, f"{what}: invalid YAML: {problem}"))
        return None
    if not isinstance(data, dict):
        errors.append(QuestionError(path, first_line, f"{what} must be a YAML mapping"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for item in error.errors(include_url=False, include_input=False):
            where = "".join(f"{part}: " for part in [".".join(map(str, item["loc"]))] if part)
            line = first_line + _node_line(root, item["loc"])
            message = item["msg"].removeprefix("Value error, ")
            errors.append(QuestionError(path, line, f"{what}: {where}{message}"))
        return None


def load_yaml(text: str) -> tuple[Any, Any]:
    """Parse YAML safely; return the data and the node tree that knows each value's line.

    Plain strings, which make up most of a rubric, are taken straight from the nodes;
    PyYAML's constructor, several times slower, only sees the other scalars.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        return (_construct(loader, root) if root is not None else None), root
    finally:
        loader.dispose()


def _construct(loader: Any, node: Any) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return node.value if node.tag == STR_TAG else loader.construct_object(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item) for item in node.value]
    if any(key.tag == MERGE_TAG for key, _ in node.value):
        return loader.construct_object(node, deep=True)
    return {_construct(loader, key): _construct(loader, value) for key, value in node.value}


def _node_line(node: Any, loc: tuple[int | str, ...]) -> int:
    """Follow a pydantic error location through the YAML node tree to a 0-based line."""
    line: int = node.start_mark.line if node is not None else 0
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
            if child is None:
                child = next((k for k, _ in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node, line = child, child.start_mark.line
    return line
