"""The Python API: one object over an index folder.

from kb import KnowledgeBase
kb = KnowledgeBase("index")
kb.ingest(["corpus"])
for hit in kb.search("网格员待遇低怎么办", k=5, region="山东省"):
    print(hit.rank, hit.document.title, hit.passage.heading_path, hit.passage.text[:60])
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from kb import focus, health, index, library, regions, retrieve, store
from kb.embed import FAKE_MODEL
from kb.errors import ConfigError, KBError
from kb.indexdir import sqlite_guard
from kb.settings import Settings
from kb.types import (
    Answer,
    CheckReport,
    Comparison,
    Document,
    Filters,
    Hit,
    Passage,
    PracticeCard,
    Region,
    RegionCards,
    RepairReport,
    SimilarHit,
    Theme,
)

PART_DOCS, PART_HITS = 2, 4  # a sub-question is searched within the documents of the 2 best hits, for 4 passages
SENTENCE_CACHE = 50_000  # sentence vectors kept between questions (~75 MB with e5-small)


class KnowledgeBase:
    """Ingest, list and search one index folder; the model loads on first need."""

    def __init__(
        self,
        index_dir: str | Path | None = None,
        settings: Settings | None = None,
        embedder=None,
        progress: Callable[[str], None] | None = None,
    ):
        base = settings or Settings.load()
        self.settings = base if index_dir is None else base.replace(index_dir=str(index_dir))
        self._embedder = embedder
        self._progress = progress
        self._live: retrieve.LiveIndex | None = None
        self._generator = None
        self._sentence_cache: dict[str, np.ndarray] = {}
        self._query = None  # a torch-free question embedder (kb.embed.OnnxQueryEmbedder)

    @property
    def embedder(self):
        if self._embedder is None:
            from kb.embed import load_embedder

            self._embedder = load_embedder(self.settings, self._progress)
        return self._embedder

    @property
    def query_embedder(self):
        """What embeds questions: the loaded model if any, else its torch-free ONNX export when prepared."""
        if self._embedder is None and self._query is None:
            from kb.embed import load_query_embedder

            self._query = load_query_embedder(self.settings)
        return self._embedder or self._query or self.embedder

    def ingest(
        self, paths: Sequence[str | Path], strict: bool = False, wait: bool | None = None, repair: bool = False
    ) -> index.IngestReport:
        """Add, update and remove files under ``paths``; unchanged files are skipped.

        One writer at a time: another ingest/repair/rebuild running on the folder raises
        WriterBusyError, or is waited for when ``wait`` (default: settings.ingest_wait).
        Damage found in the index is repaired first; ``repair`` rewrites the derived files anyway.
        """
        self.close()
        wait = self.settings.ingest_wait if wait is None else wait
        return index.ingest(paths, self.settings, self._writer_embedder(), self._progress, strict, wait, repair)

    def _writer_embedder(self):
        """The model for an ingest, loaded only once passages need embedding: an ingest with
        nothing new (bare `kb`, a re-index of unchanged files) does not wait for torch."""
        if self._embedder is not None or self.settings.model == FAKE_MODEL:
            return self.embedder
        return _Deferred(self)

    def rebuild(
        self, paths: Sequence[str | Path], strict: bool = False, wait: bool | None = None
    ) -> index.IngestReport:
        """Empty the index folder and ingest ``paths`` afresh; a folder holding other files is refused."""
        self.close()
        wait = self.settings.ingest_wait if wait is None else wait
        return index.rebuild(paths, self.settings, self.embedder, self._progress, strict, wait)

    def check(self) -> CheckReport:
        """SQLite integrity and agreement of vectors, both BM25s and the manifest on the same passages."""
        return health.check(Path(self.settings.index_dir), self.settings.faiss_index == "hnsw")

    def repair(self, force: bool = False, wait: bool | None = None) -> RepairReport:
        """Rewrite damaged derived files from kb.sqlite; only passages whose vectors are lost are embedded."""
        self.close()
        wait = self.settings.ingest_wait if wait is None else wait
        return index.repair(self.settings, lambda: self.embedder, self._progress, wait, force)

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
        region: str | Sequence[str] | None = None,
        years: tuple[int | None, int | None] | None = None,
        doc_type: str | Sequence[str] | None = None,
        diverse: bool = False,
        spread: int | None = None,
    ) -> list[Hit]:
        """Best passages for ``query``; keyword filters are merged into ``filters``.

        ``diverse`` spreads the top over documents and regions (for questions about several
        places: ``kb.focus.is_cross_region_question``): the top ``spread`` hits (default all
        k), the rest following in ranking order.
        """
        filters = merge_filters(filters, region, years, doc_type)
        k, notice = retrieve.check_k(k, self.settings.top_k)
        if notice:
            self._notice(notice)
        live = self._open()
        mode = mode or self.settings.mode
        embedder = None if mode == "bm25" else self.query_embedder
        if embedder is not None:
            retrieve.ensure_model(live, embedder)
        with self._guard():
            return retrieve.search(live, embedder, query, self.settings, filters, k, mode, diverse, spread)

    def ask(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
        region: str | Sequence[str] | None = None,
        years: tuple[int | None, int | None] | None = None,
        doc_type: str | Sequence[str] | None = None,
        on_token: Callable[[str], None] | None = None,
        generate: bool | None = None,
    ) -> Answer:
        """A cited answer: extractive by default, generated when an LLM endpoint is configured.

        ``k`` is how many passages the answer may draw on (default: answer_passages, or
        answer_region_passages for a question about several places). ``on_token`` receives
        generated text as it streams; ``generate=False`` forces the extractive answer.
        """
        from kb import answer

        s = self.settings
        filters = merge_filters(filters, region, years, doc_type)
        across = answer.is_cross_region_question(question)
        pool = k or (s.answer_region_passages if across else s.answer_passages)
        ev = self.evidence(question, pool, filters, mode, diverse=across)
        if isinstance(ev, Answer):
            return ev
        limits = answer.Limits(
            s.answer_max_chars,
            s.answer_max_sentences,
            s.answer_per_region,
            s.answer_max_regions,
            s.answer_region_max_chars,
        )
        abstain = answer.Abstain(s.answer_min_cosine, s.answer_min_words, s.answer_sure_cosine)
        result = answer.extractive_answer(ev, self._sentence_vectors, limits, abstain, across)
        if generate is False or (generate is None and not s.llm_enabled):
            return result
        check = answer.generate.Check(s.llm_min_overlap, s.llm_min_cosine, s.llm_min_overlap_with_cosine)
        return answer.generated_answer(
            ev, self.generator, self._sentence_vectors, result, check, s.llm_passages, on_token
        )

    def evidence(
        self, question: str, k: int, filters: Filters | None = None, mode: str | None = None, diverse: bool = False
    ):
        """What an answer is made from: the ``k`` best hits and the question's vector and term weights.

        A question asking several things also gets its parts (``focus.question_parts``), each
        with its own hits (appended after the ``k``), vector and term weights.

        Returns a not-found ``Answer`` instead when there is nothing to answer from: no hit
        passes the filters, or the question names only places the index knows nothing about.
        """
        from kb import answer

        # spreading over places pushes some of the best passages out: after the k spread hits
        # come the best of the rest in ranking order, so the answer may use both. Such a
        # question is searched and scored by its topic: 各地/有哪些做法 say how to answer, not what about
        more = self.settings.answer_region_plain if diverse else 0
        topic = focus.without_framing(question) if diverse else question
        parts = () if diverse else focus.question_parts(question)
        if parts:
            self.query_embedder.embed_queries([topic, *parts])  # one batch; searches find them remembered
        hits = self.search(topic, k=k + more, filters=filters, mode=mode, diverse=diverse, spread=k)
        if not hits:
            why = "筛选条件没有匹配任何段落，请放宽地区、年份或类型。" if filters else ""
            return answer.not_found(question, hits, why)
        live = self._open()
        missing = retrieve.regions_without_passages(live, question)
        if missing and not filters:
            return answer.not_found(question, hits, f"知识库中没有关于{'、'.join(missing)}的资料。")
        terms, pairs = retrieve.question_weights(live, topic, self.settings)
        if parts:
            hits, parts = self._part_hits(hits, parts, filters, mode)
        vec = self.query_embedder.embed_queries([topic])[0]
        return answer.Evidence(question, tuple(hits), vec, terms, pairs, parts)

    def _part_hits(self, hits: list[Hit], parts: Sequence[str], filters: Filters | None, mode: str | None):
        """Each sub-question searched within the documents the whole question found; their hits join.

        The facts a question asking three things wants sit in three articles of one
        regulation, or three paragraphs of one report: the whole question finds the
        document, its parts find the articles.
        """
        from kb import answer

        docs = tuple(dict.fromkeys(h.document.doc_id for h in hits[:PART_DOCS]))
        within = replace(filters or Filters(), doc_ids=docs)
        hits = list(hits)
        out = []
        live = self._open()
        for text in parts:
            found = self.search(text, k=PART_HITS, filters=within, mode=mode)
            index = {h.passage.passage_id: i for i, h in enumerate(hits)}
            for h in found:
                if h.passage.passage_id not in index:
                    index[h.passage.passage_id] = len(hits)
                    hits.append(h)
            terms, pairs = retrieve.question_weights(live, text, self.settings)
            mine = tuple(index[h.passage.passage_id] for h in found)
            out.append(answer.Part(text, self.query_embedder.embed_queries([text])[0], terms, pairs, mine))
        return hits, tuple(out)

    @property
    def generator(self):
        """The configured chat endpoint (``llm_base_url``); set it to a fake in tests."""
        if self._generator is None:
            from kb.answer.generate import OpenAICompatible

            s = self.settings
            if not s.llm_enabled:
                raise ConfigError("no LLM endpoint configured: set KB_LLM_BASE_URL and KB_LLM_MODEL")
            self._generator = OpenAICompatible(
                s.llm_base_url, s.llm_model, s.llm_api_key, s.llm_timeout, s.llm_max_tokens, s.llm_temperature
            )
        return self._generator

    @generator.setter
    def generator(self, value) -> None:
        self._generator = value

    def _sentence_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of answer sentences, remembered across questions (the same passages come back often)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._sentence_cache]
        if missing:
            if len(self._sentence_cache) > SENTENCE_CACHE:
                self._sentence_cache.clear()
            self._sentence_cache.update(zip(missing, self.query_embedder.embed_sentences(missing), strict=True))
        dim = self.query_embedder.dim
        return np.array([self._sentence_cache[t] for t in texts], dtype=np.float32).reshape(len(texts), dim)

    # ------------------------------------------------------------ practices

    def themes(self) -> list[Theme]:
        """The theme taxonomy the index's cards were made with (taxonomy order)."""
        return store.stored_themes(self._open().conn)[0]

    def practices(
        self,
        theme: str | Sequence[str] | None = None,
        region: str | Sequence[str] | None = None,
        query: str | None = None,
        k: int = 50,
        kind: str | None = None,
    ) -> list[RegionCards]:
        """Practice cards grouped by region, strongest region first, at most ``k`` cards in all.

        ``theme``: theme name, id or unique part (网格 → 网格化管理), or several; ``region``:
        hierarchical (山东省 includes 广饶县); ``query``: keep cards whose passage a hybrid
        search for it finds, in its order; ``kind``: "practice" or "rule" (default both).
        """
        from kb.practices import themes as th

        live = self._open()
        wanted = {th.match_theme(n, self.themes()).name for n in th.split_names(theme)}
        prefixes = retrieve.region_prefixes(th.split_names(region)) if region else []
        found = store.cards(live.conn, prefixes, [kind] if kind else ())
        found = [c for c in found if not wanted or wanted & set(c.themes)]
        if query:
            hits = self.search(query, k=200, region=region)
            order = {h.passage.passage_id: h.rank for h in hits}
            found = sorted((c for c in found if c.passage_id in order), key=lambda c: (order[c.passage_id], -c.score))
        return _by_region(found[:k])

    def similar(
        self,
        passage_id_or_text: str,
        other_regions: bool = True,
        per_region: int = 2,
        k: int = 10,
        filters: Filters | None = None,
        region: str | Sequence[str] | None = None,
        years: tuple[int | None, int | None] | None = None,
        doc_type: str | Sequence[str] | None = None,
        fusion: bool = True,
    ) -> list[SimilarHit]:
        """Passages (with their cards) comparable to a passage or text, from other regions.

        At most ``per_region`` per region, regions in order of their best hit. Other regions
        are hierarchy-aware: the query's own region, those containing it and those inside it
        are excluded (another county of the same city is another region), as are the query's
        own document and texts without a region. Filters restrict the candidates.
        """
        from kb.practices.similar import similar

        live = self._open()
        filters = merge_filters(filters, region, years, doc_type)
        embedder = None
        if store.vid_of_passage(live.conn, passage_id_or_text.strip()) is None:
            embedder = self.query_embedder
            retrieve.ensure_model(live, embedder)
        return similar(live, embedder, passage_id_or_text, self.settings, other_regions, per_region, k, filters, fusion)

    def compare(
        self,
        regions: str | Sequence[str] | None = None,
        themes: str | Sequence[str] | None = None,
        level: str = "county",
        kind: str | None = None,
    ) -> Comparison:
        """Region × theme matrix of card counts with the strongest card per cell.

        ``level`` (province | city | county) rolls regions up; ``regions`` restricts rows
        (hierarchically), ``themes`` columns. `kb.practices.compare.to_csv` writes it as CSV.
        """
        from kb.practices import compare
        from kb.practices import themes as th

        live = self._open()
        taxonomy = self.themes()
        if themes:
            taxonomy = [th.match_theme(n, taxonomy) for n in th.split_names(themes)]
        prefixes = retrieve.region_prefixes(th.split_names(regions)) if regions else []
        return compare.compare(store.cards(live.conn, prefixes, [kind] if kind else ()), taxonomy, level)

    def passage(self, passage_id: str) -> tuple[Passage, Document] | None:
        """A passage by id with its document."""
        conn = self._open().conn
        vid = store.vid_of_passage(conn, passage_id)
        if vid is None:
            return None
        passage, document, _ = store.by_vids(conn, [vid])[vid]
        return passage, document

    def documents(self) -> list[tuple[Document, int]]:
        """(document, passage count) for every document and compilation part."""
        with self._guard():
            return store.documents(self._open().conn)

    def passages(self, doc_id: str) -> list[Passage]:
        with self._guard():
            return store.passages_of(self._open().conn, doc_id)

    def document(self, doc_id: str) -> Document | None:
        with self._guard():
            return store.document(self._open().conn, doc_id)

    def _notice(self, message: str) -> None:
        if self._progress is not None:
            self._progress(message)
        else:
            warnings.warn(message, stacklevel=3)

    def _guard(self):
        return sqlite_guard(Path(self.settings.index_dir))

    # ------------------------------------------------------------ library views and changes (the app)

    def neighbours(self, passage_id: str, before: int = 1, after: int = 1) -> list[Passage]:
        """The passage and its neighbours in the same document (上下文), in reading order."""
        conn = self._open().conn
        found = store.passage_by_id(conn, passage_id)
        if found is None:
            return []
        p = found[0]
        return store.passages_around(conn, p.doc_id, p.seq, before, after)

    def region_tree(self) -> dict[Region, dict[Region | None, list[Region]]]:
        """province → city (None for a province-level mention) → counties, of every region the index is about."""
        tree: dict[Region, dict[Region | None, list[Region]]] = {}
        for code in store.distinct_region_codes(self._open().conn):
            try:
                region = regions.lookup(code)
            except KeyError:
                continue
            chain = (*regions.ancestors(region), region)
            province = chain[0]
            city = next((r for r in chain if r.level == 2), None)
            cities = tree.setdefault(province, {})
            counties = cities.setdefault(city, [])
            if region.level == 3 and region not in counties:
                counties.append(region)
        return tree

    def year_range(self) -> tuple[int | None, int | None]:
        """The earliest and latest document year in the index."""
        return store.year_span(self._open().conn)

    def files(self) -> dict[str, tuple[str, str | None, str | None]]:
        """path → (status, error, ingested_at) of every indexed file."""
        return store.file_states(self._open().conn)

    def add_file(self, name: str, data: bytes) -> index.IngestReport:
        """Save an uploaded file into the library folder (checked, safe name, no duplicate content) and ingest it.

        A file that cannot be read is reported in the returned report and not kept on disk.
        """
        conn = store.connect(self.settings.index_dir)
        try:
            known = {r.content_hash: p for p, r in store.file_records(conn).items() if r.status == "ok"}
        finally:
            conn.close()
        path = library.save_upload(name, data, self.settings, known)
        try:
            report = self.ingest([path])
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if any(f.status == "error" for f in report.files):
            path.unlink(missing_ok=True)
        return report

    def remove(self, target: str, delete_file: bool = False) -> index.IngestReport:
        """Take a document (by id; a compilation part takes its whole file) or a file path out of the index.

        With ``delete_file`` the file is also deleted when it lies in the library folder
        (``corpus_dir``), so the next ingest of that folder does not bring it back.
        """
        doc = store.document(self._open().conn, target)
        path = doc.path if doc else target
        if path not in self.files():
            raise KBError(f"“{target}”不在索引中：请刷新文档列表后再试")
        self.close()
        report = index.remove([path], self.settings, self._writer_embedder(), self._progress, self.settings.ingest_wait)
        if delete_file and library.inside(path, self.settings.corpus_dir):
            Path(path).unlink(missing_ok=True)
        return report

    def reindex(self) -> index.IngestReport:
        """Bring the index up to date with the library folder and every other file it already holds."""
        corpus = self.settings.corpus_dir
        others = [p for p in self.files() if Path(p).exists() and not library.inside(p, corpus)]
        return self.ingest([corpus, *others] if Path(corpus).is_dir() else others)

    def close(self) -> None:
        if self._live is not None:
            self._live.close()
            self._live = None

    def _open(self) -> retrieve.LiveIndex:
        if self._live is None:
            self._live = retrieve.open_index(self.settings)
        return self._live

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Deferred:
    """Stands for the KnowledgeBase's embedder until something needs vectors.

    Its name is the configured model's; its dimension is the one the index recorded for that
    model (the same model always has the same one), so checking an index loads nothing.
    """

    def __init__(self, kb: KnowledgeBase):
        self._kb = kb
        self.name = kb.settings.model  # what load_embedder names it (the fake model aside)

    @functools.cached_property
    def dim(self) -> int:
        manifest = index.read_manifest(self._kb.settings.index_dir) or {}
        if manifest.get("model") == self.name and manifest.get("dim"):
            return int(manifest["dim"])
        return self._kb.embedder.dim

    def embed_passages(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return self._kb.embedder.embed_passages(texts, progress_bar)

    def embed_queries(self, texts: Sequence[str], progress_bar: bool = False) -> np.ndarray:
        return self._kb.embedder.embed_queries(texts, progress_bar)

    def embed_sentences(self, texts: Sequence[str]) -> np.ndarray:
        return self._kb.embedder.embed_sentences(texts)


def merge_filters(
    filters: Filters | None,
    region: str | Sequence[str] | None,
    years: tuple[int | None, int | None] | None,
    doc_type: str | Sequence[str] | None,
) -> Filters | None:
    """Combine a Filters object with the convenience keyword filters."""
    base = filters or Filters()
    regions = base.regions + tuple([region] if isinstance(region, str) else region or ())
    types = base.doc_types + tuple([doc_type] if isinstance(doc_type, str) else doc_type or ())
    year_from, year_to = years or (base.year_from, base.year_to)
    merged = Filters(regions, year_from, year_to, types, base.doc_ids)
    return None if merged.is_empty() else merged


def _by_region(cards: Sequence[PracticeCard]) -> list[RegionCards]:
    """Cards grouped by region in order of each region's first (strongest) card."""
    groups: dict[str, list[PracticeCard]] = {}
    for c in cards:
        groups.setdefault(c.region_code, []).append(c)
    return [RegionCards(g[0].region, code, tuple(g)) for code, g in groups.items()]
