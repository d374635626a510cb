"""The governance theme taxonomy and how passages are assigned to themes.

Themes are data (kb/data/practice_themes.toml, or the user's file named by
``practice_themes_file``). A passage gets a theme when its words and its stored e5 vector
agree: several of the theme's keywords, or one keyword plus a vector clearly closer to
the theme's description than to the other themes', or a very clear vector margin alone.
Keywords alone over-assign (党员 appears in every report); vectors alone blur neighbouring
themes (调解 vs 信访) — together they are precise.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from kb.errors import ConfigError, QueryError
from kb.types import Theme

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

SHIPPED = "practice_themes.toml"
MAX_THEMES = 3  # per passage: more would make every cell of the compare matrix fill up

# Assignment thresholds on z-scores of a passage's similarity to each theme (across themes),
# chosen on half of benchmarks/data/theme_labels.jsonl (the other half reports; see RESULTS.md).
Z_WITH_TWO_KEYWORDS = -0.3
Z_WITH_ONE_KEYWORD = 1.3
Z_ALONE = 2.8
MARGIN = 0.5  # a further theme is kept only when its score is within this of the best one's


def _raw(path: str) -> tuple[bytes, str]:
    if not path:
        return resources.files("kb.data").joinpath(SHIPPED).read_bytes(), f"kb/data/{SHIPPED}"
    try:
        return Path(path).read_bytes(), path
    except OSError as exc:
        raise ConfigError(
            f"theme taxonomy {path} cannot be read ({exc}); fix KB_PRACTICE_THEMES_FILE "
            "or leave it empty for the shipped one"
        ) from exc


def taxonomy_hash(path: str = "") -> str:
    """sha1 of the taxonomy file's bytes: part of what decides whether stored cards are stale."""
    return hashlib.sha1(_raw(path)[0]).hexdigest()[:12]


@cache
def load_themes(path: str = "") -> tuple[Theme, ...]:
    """Themes from ``path`` (TOML: ``[[theme]]`` tables with id, name, description, keywords) or the shipped file."""
    raw, where = _raw(path)
    fix = "fix it (see kb/data/practice_themes.toml for the shape) or leave KB_PRACTICE_THEMES_FILE empty"
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"theme taxonomy {where} is not valid UTF-8 TOML ({exc}); {fix}") from exc
    rows = data.get("theme")
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"theme taxonomy {where} has no [[theme]] tables; {fix}")
    themes: list[Theme] = []
    for i, row in enumerate(rows, start=1):
        missing = [k for k in ("id", "name", "description") if not isinstance(row.get(k), str) or not row[k].strip()]
        keywords = row.get("keywords", [])
        if missing or not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
            what = f"missing {', '.join(missing)}" if missing else "keywords must be a list of strings"
            raise ConfigError(f"theme taxonomy {where}: theme #{i} {what}; {fix}")
        themes.append(Theme(row["id"].strip(), row["name"].strip(), row["description"].strip(), tuple(keywords)))
    for attr in ("theme_id", "name"):
        seen = [getattr(t, attr) for t in themes]
        dup = next((x for x in seen if seen.count(x) > 1), None)
        if dup:
            raise ConfigError(f"theme taxonomy {where}: two themes share the {attr} {dup!r}; {fix}")
    return tuple(themes)


def theme_text(theme: Theme) -> str:
    """What is embedded for a theme (as a query: passages are the documents)."""
    return f"{theme.name}：{theme.description}"


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def keyword_counts(text: str, themes: Sequence[Theme]) -> np.ndarray:
    """Distinct keywords of each theme found in ``text`` (a keyword inside a longer one counts once)."""
    norm = _norm(text)
    out = np.zeros(len(themes), dtype=np.float32)
    for i, theme in enumerate(themes):
        found = [k for k in dict.fromkeys(_norm(k) for k in theme.keywords) if k in norm]
        out[i] = sum(1 for k in found if not any(k != o and k in o for o in found))
    return out


def assign(
    text: str, vector: np.ndarray | None, theme_vectors: np.ndarray, themes: Sequence[Theme]
) -> list[tuple[int, float]]:
    """(theme index, score) of the themes ``text`` is about, best first, at most MAX_THEMES.

    ``vector`` is the passage's stored embedding (None: keywords only, stricter);
    ``theme_vectors`` one row per theme.
    """
    kw = keyword_counts(text, themes)
    if vector is None or theme_vectors.size == 0:
        z = np.zeros(len(themes), dtype=np.float32)
    else:
        sims = theme_vectors @ np.asarray(vector, dtype=np.float32)
        z = (sims - sims.mean()) / (sims.std() + 1e-6)
    keep = ((kw >= 2) & (z >= Z_WITH_TWO_KEYWORDS)) | ((kw >= 1) & (z >= Z_WITH_ONE_KEYWORD)) | (z >= Z_ALONE)
    if vector is None:
        keep = kw >= 2
    score = z + 0.5 * np.minimum(kw, 4)
    ranked = sorted((int(i) for i in np.flatnonzero(keep)), key=lambda i: -score[i])
    ranked = [i for i in ranked if score[i] >= score[ranked[0]] - MARGIN]
    return [(i, float(score[i])) for i in ranked[:MAX_THEMES]]


_SPLIT = re.compile(r"[,，、\s]+")


def match_theme(name: str, themes: Sequence[Theme]) -> Theme:
    """The theme a user names by id, Chinese name, or a unique part of the name (网格 → 网格化管理)."""
    wanted = name.strip()
    for t in themes:
        if wanted in (t.theme_id, t.name):
            return t
    partial = [t for t in themes if wanted and wanted in t.name]
    if len(partial) == 1:
        return partial[0]
    if partial:
        raise QueryError(f"主题“{name}”不唯一（{'、'.join(t.name for t in partial)}）: give the full name")
    raise QueryError(f"未知主题“{name}”，可用主题：{'、'.join(t.name for t in themes)}")


def split_names(value: str | Sequence[str] | None) -> list[str]:
    """'网格,调解' or ['网格', '调解'] → ['网格', '调解']."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [x for item in items for x in _SPLIT.split(item) if x]
