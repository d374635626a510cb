"""The Python API: one object over an index folder.

from kb import KnowledgeBase
kb = KnowledgeBase("index")
kb.ingest(["corpus"])
for hit in kb.search("网格员待遇低怎么办", k=5, region="山东省"):
    print(hit.rank, hit.document.title, hit.passage.heading_path, hit.passage.text[:60])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from kb import index, retrieve, store
from kb.settings import Settings
from kb.types import Document, Filters, Hit, Passage


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

    @property
    def embedder(self):
        if self._embedder is None:
            from kb.embed import load_embedder

            self._embedder = load_embedder(self.settings, self._progress)
        return self._embedder

    def ingest(self, paths: Sequence[str | Path], strict: bool = False) -> index.IngestReport:
        """Add, update and remove files under ``paths``; unchanged files are skipped."""
        self.close()
        return index.ingest(paths, self.settings, self.embedder, self._progress, strict=strict)

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
    ) -> list[Hit]:
        """Best passages for ``query``; keyword filters are merged into ``filters``.

        ``diverse`` spreads the top over documents and regions (for questions about several
        places: ``kb.retrieve.is_cross_region_question``).
        """
        filters = merge_filters(filters, region, years, doc_type)
        live = self._open()
        mode = mode or self.settings.mode
        embedder = None if mode == "bm25" else self.embedder
        if embedder is not None:
            retrieve.ensure_model(live, embedder)
        return retrieve.search(live, embedder, query, self.settings, filters, k, mode, diverse=diverse)

    def documents(self) -> list[tuple[Document, int]]:
        """(document, passage count) for every document and compilation part."""
        return store.documents(self._open().conn)

    def passages(self, doc_id: str) -> list[Passage]:
        return store.passages_of(self._open().conn, doc_id)

    def document(self, doc_id: str) -> Document | None:
        return store.document(self._open().conn, doc_id)

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
