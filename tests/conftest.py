"""Shared fixtures: the seed documents, the regulation corpus, and one small index per session.

The seed documents and regulations live in ``../shared`` next to the repository (see
``../shared/README.md``). They are required: a missing folder fails the tests that need it
loudly instead of skipping them. Every index here is built with ``FakeEmbedder`` (no model).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from kb import index, retrieve
from kb.embed import FakeEmbedder
from kb.load import load
from kb.pipeline import Parsed, parse_source
from kb.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = (REPO_ROOT / ".." / "shared").resolve()
DATA = Path(__file__).resolve().parent / "data"
LOAD_DATA = DATA / "load"

SEED_PREFIXES = ("000", "001", "002", "003", "004")

# A few regulations for the session index: national and local, three provinces, small files.
INDEX_REGULATIONS = (
    "local/山东/滨州市社会治理网格化服务管理条例(2021-08-05).md",
    "local/上海/上海市信访条例(2018-05-24).md",
    "local/浙江/宁波市人民调解条例(2015-04-13).md",
    "national/人民调解法(2010-08-28).md",
)


def _require_dir(path: Path, what: str, pattern: str, at_least: int) -> Path:
    found = sorted(path.rglob(pattern)) if path.is_dir() else []
    if len(found) < at_least:
        pytest.fail(
            f"{what} missing: expected at least {at_least} {pattern} files under {path} "
            f"(the shared data folder next to the repository, ../shared); found {len(found)}",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def seed_dir() -> Path:
    """../shared/seeds, resolved from the repository root; fails (never skips) when absent."""
    path = _require_dir(SHARED / "seeds", "seed documents", "*.txt", 5)
    for prefix in SEED_PREFIXES:
        if not list(path.glob(f"{prefix}_*.txt")):
            pytest.fail(f"seed document {prefix}_*.txt missing from {path}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def regulations_dir() -> Path:
    """../shared/corpus/regulations (national/ and local/<省>/ LawRefBook markdown)."""
    return _require_dir(SHARED / "corpus" / "regulations", "regulation corpus", "*.md", 80)


def seed_path(seed_dir: Path, prefix: str) -> Path:
    """The seed file whose name starts with ``prefix`` (000 … 004)."""
    (path,) = seed_dir.glob(f"{prefix}_*.txt")
    return path


def fake_settings(**changes) -> Settings:
    """Defaults (never the environment) with the fake model, plus ``changes``."""
    return Settings(model="fake").replace(**changes)


def answering(settings: Settings) -> Settings:
    """``settings`` with abstention off: its thresholds are calibrated for e5, not the fake embedder."""
    return settings.replace(answer_min_cosine=-1.0, answer_min_words=0.0, answer_sure_cosine=-1.0)


@pytest.fixture(scope="session")
def parsed_seeds(seed_dir: Path) -> dict[str, Parsed]:
    """Each seed run through the pipeline with default chunk sizes, keyed by 000 … 004."""
    settings = fake_settings()
    return {p: parse_source(load(seed_path(seed_dir, p)), settings) for p in SEED_PREFIXES}


@dataclass(frozen=True)
class BuiltIndex:
    """The read-only session index: the five seeds plus INDEX_REGULATIONS."""

    root: Path
    corpus: Path
    settings: Settings
    embedder: FakeEmbedder
    report: index.IngestReport

    @property
    def index_dir(self) -> Path:
        return Path(self.settings.index_dir)


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path, regulations_dir: Path) -> BuiltIndex:
    """Seeds + a few regulations ingested once per session into a temporary index (FakeEmbedder).

    Tests must not change it; tests that ingest build their own index under tmp_path.
    """
    root = tmp_path_factory.mktemp("session_index")
    corpus = root / "corpus"
    (corpus / "seeds").mkdir(parents=True)
    for prefix in SEED_PREFIXES:
        shutil.copy(seed_path(seed_dir, prefix), corpus / "seeds")
    for rel in INDEX_REGULATIONS:
        target = corpus / "regulations" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(regulations_dir / rel, target)
    settings = fake_settings(index_dir=str(root / "index"))
    embedder = FakeEmbedder(64)
    report = index.ingest([corpus], settings, embedder)
    errors = [f for f in report.files if f.status != "added"]
    assert not errors, f"session index: files not added: {errors}"
    return BuiltIndex(root, corpus, settings, embedder, report)


@pytest.fixture(scope="session")
def live(built_index: BuiltIndex):
    """The session index opened for searching."""
    opened = retrieve.open_index(built_index.settings)
    yield opened
    opened.close()


def write_corpus(folder: Path, files: dict[str, str]) -> Path:
    """Write ``{relative name: text}`` as UTF-8 files under ``folder``; return the folder."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


# The fields issue 3 requires in every `kb search --json` object.
HIT_FIELDS = frozenset(
    {"rank", "score", "passage_id", "doc_title", "source", "heading_path", "regions", "date", "doc_type", "text"}
)


@pytest.fixture(autouse=True, scope="session")
def every_extractive_answer_is_verbatim():
    """Checks the verbatim rule on every extractive answer any test produces, not on one example.

    Every extractive answer is composed by ``kb.answer.extractive.compose``; the wrapper fails
    the producing test when a sentence does not occur (whitespace aside) in the passage it cites.
    """
    from kb.answer import extractive
    from kb.answer.sentences import is_verbatim

    original = extractive.compose

    def checked(chosen, hits):
        text, sentences, cited = original(chosen, hits)
        for s in sentences:
            assert s.citations, f"uncited answer sentence {s.text!r}"
            for n in s.citations:
                assert is_verbatim(s.text, cited[n - 1].passage.text), f"not verbatim in [{n}]: {s.text!r}"
        CHECKED_ANSWERS.append(len(sentences))
        return text, sentences, cited

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(extractive, "compose", checked)
        yield


CHECKED_ANSWERS: list[int] = []  # sentence counts of the extractive answers checked so far
