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
from kb.types import Comparison, Document, Filters, Hit, Passage, PracticeCard, RegionCards, SimilarHit, Theme


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
            embedder = self.embedder
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


def _by_region(cards: Sequence[PracticeCard]) -> list[RegionCards]:
    """Cards grouped by region in order of each region's first (strongest) card."""
    groups: dict[str, list[PracticeCard]] = {}
    for c in cards:
        groups.setdefault(c.region_code, []).append(c)
    return [RegionCards(g[0].region, code, tuple(g)) for code, g in groups.items()]
