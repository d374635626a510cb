"""The Python API: one object over an index folder.

from kb import KnowledgeBase
kb = KnowledgeBase("index")
kb.ingest(["corpus"])
for hit in kb.search("网格员待遇低怎么办", k=5, region="山东省"):
    print(hit.rank, hit.document.title, hit.passage.heading_path, hit.passage.text[:60])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from kb import health, index, retrieve, store
from kb.indexdir import sqlite_guard
from kb.settings import Settings
from kb.types import CheckReport, Document, Filters, Hit, Passage, RepairReport


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
        return index.ingest(paths, self.settings, self.embedder, self._progress, strict, wait, repair)

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
    ) -> list[Hit]:
        """Best passages for ``query``; keyword filters are merged into ``filters``."""
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
            return retrieve.search(live, embedder, query, self.settings, filters, k, mode)

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
