"""The ingest step of the practices stage: themes and cards for documents that changed.

Runs after each ingest commit, on the live generation. Only documents without current
cards are processed (new or changed files); everything is recomputed when the taxonomy,
the model, the parsing (pipeline key) or this stage's version changes. Passage vectors
are read back from the index, never re-embedded; only the theme descriptions are embedded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from kb import store
from kb.practices import cards as cardmod
from kb.practices.themes import assign, load_themes, taxonomy_hash, theme_text
from kb.settings import Settings
from kb.types import Document, Passage, PracticeCard, Theme

PRACTICES_VERSION = 3  # 2: referral-only provisions are no rule cards; 3: stricter theme thresholds
META_KEY = "practices"
RULE_NOVELTY = 0.95  # a local article this close to a national one only restates it: no rule card


def practice_key(conn, settings: Settings, embedder) -> str:
    """What stored cards depend on: this stage's version, the taxonomy, the model and the parsing."""
    pipeline = store.get_meta(conn, "pipeline", "")
    return f"{PRACTICES_VERSION}:{taxonomy_hash(settings.practice_themes_file)}:{embedder.name}:{pipeline}"


def refresh(conn, load_vectors: Callable[[], object], settings: Settings, embedder, progress=None) -> int:
    """Bring cards and passage themes up to date; returns the number of documents processed."""
    key = practice_key(conn, settings, embedder)
    full = store.get_meta(conn, META_KEY) != key
    todo, stale = store.practice_todo(conn)
    if full:  # everything is recomputed, including documents whose marks look current
        todo = [d.doc_id for d, _ in store.documents(conn)]
    if not full and not todo and not stale:
        return 0
    started = time.perf_counter()
    themes = load_themes(settings.practice_themes_file)
    if full:
        theme_vecs = np.asarray(embedder.embed_passages([theme_text(t) for t in themes]), dtype=np.float32)
    else:
        theme_vecs = _stored_vectors(conn, embedder.dim)
    vectors = load_vectors()
    rows = store.doc_passages(conn, todo)
    docs = store.documents_by_id(conn, todo)
    national = _matrix(vectors, store.national_regulation_vids(conn), embedder.dim)
    pthemes, cards = [], []
    for vid, passage in rows:
        vec = vectors.reconstruct(int(vid))
        doc = docs[passage.doc_id]
        assigned = assign(_theme_input(passage), vec, theme_vecs, themes)
        pthemes += [(passage.passage_id, doc.doc_id, themes[i].theme_id, s) for i, s in assigned]
        cards += _cards(passage, doc, vec, national, [themes[i] for i, _ in assigned], theme_vecs, themes)
    conn.execute("BEGIN IMMEDIATE")
    try:
        store.clear_practices(conn, None if full else [*todo, *stale])
        if full:
            store.put_themes(conn, themes, theme_vecs)
        done = [(d.doc_id, d.content_hash) for d in docs.values()]
        store.put_practices(conn, done, pthemes, cardmod.dedupe(cards))
        store.set_meta(conn, META_KEY, key)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if progress:
        progress(f"实践卡片：处理 {len(docs)} 篇文档，{len(cards)} 张卡片，用时 {time.perf_counter() - started:.1f} 秒")
    return len(docs)


def _theme_input(passage: Passage) -> str:
    """Headings below the title and the text: a regulation's chapter name says what its articles are about."""
    return "\n".join([*passage.heading_path[1:], passage.text])


def _stored_vectors(conn, dim: int) -> np.ndarray:
    _, blobs = store.stored_themes(conn)
    return np.stack([np.frombuffer(b, dtype=np.float32) for b in blobs]) if blobs else np.zeros((0, dim), np.float32)


def _matrix(vectors, vids: list[int], dim: int) -> np.ndarray:
    if not vids:
        return np.zeros((0, dim), np.float32)
    return np.stack([vectors.reconstruct(int(v)) for v in vids])


def _cards(
    passage: Passage,
    doc: Document,
    vec: np.ndarray,
    national: np.ndarray,
    passage_themes: list[Theme],
    theme_vecs: np.ndarray,
    themes: tuple[Theme, ...],
) -> list[PracticeCard]:
    """Cards of one passage with their themes: rule cards for distinctive local articles, else practices."""
    if doc.doc_type == "regulation":
        if not passage_themes or (national.size and float((national @ vec).max()) >= RULE_NOVELTY):
            return []
        card = cardmod.rule_card(passage, doc)
        return [] if card is None else [_with_themes(card, [t.name for t in passage_themes])]
    out = []
    for card in cardmod.practice_cards(passage, doc):
        own = assign(" ".join((card.name, *card.summary)), vec, theme_vecs, themes)
        names = [themes[i].name for i, _ in own] or [t.name for t in passage_themes]
        out.append(_with_themes(card, names))
    return out


def _with_themes(card: PracticeCard, names: list[str]) -> PracticeCard:
    from dataclasses import replace

    return replace(card, themes=tuple(names), score=round(card.score + 0.2 * len(names), 3))
