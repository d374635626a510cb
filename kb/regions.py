"""Administrative divisions: lookup by code, name resolution, and mentions in text.

The gazetteer is built from the division table shipped by the ``cpca`` package
(``cpca/resources/adcodes.csv``: GB/T 2260 codes of provinces, prefecture-level and
county-level divisions). The CSV is read directly; ``cpca`` itself is never imported
(its import pulls in pandas and pkg_resources). The table is a snapshot from about
2016, so divisions abolished since then still resolve (福建省三明市梅列区, 山东省莱芜市),
but divisions created later do not (杭州市临平区, 济南市莱芜区, 深圳市光明区).

Only three levels exist: province (1), prefecture-level city (2), county-level (3).
Townships and streets (桃花镇, 展茅街道) are not in the data and are never reported;
a name that ends in 镇/乡/街道/路 is not read as a county.

Name matching in free text favours precision: full forms (宿豫区, 广西壮族自治区) match
when unambiguous; short forms (山东, 舟山) match for provinces and prefecture cities;
county short forms (宿豫, 广饶), very short or word-like full forms (和县, 新城区) and
ambiguous names (普陀区, 朝阳区) are kept only when a mentioned or context region
supports them (their full form, parent or ancestor is also present).
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.types import Region

__all__ = ["lookup", "resolve", "resolve_all", "find_regions", "ancestors", "within", "code_prefix"]

# Rows of the table that are grouping placeholders, not divisions.
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})

# Suffixes removed to get a short form, longest first per level.
_SUFFIXES = {
    1: ("特别行政区", "自治区", "省", "市"),
    2: ("自治州", "地区", "市", "盟"),
    3: ("自治县", "自治旗", "新区", "林区", "特区", "区", "县", "市", "旗"),
}

# Short forms that are ordinary words (or mostly used as such): never matched in text on
# their own strength, only when supported like a county short form.
_WORDLIKE_SHORT = frozenset(
    {
        "中山",  # 中山路, 中山大学, 中山装
        "白山",  # 白山黑水
        "长治",  # 长治久安
        "安康",  # 幸福安康
        "来宾",  # guests
        "白银",
        "阿里",  # 阿里巴巴
        "朝阳",  # 朝阳产业; also 北京市朝阳区
        "三沙",
    }
)

# County-level full forms that read as ordinary words or descriptions (新城区 "new urban
# district", 合作市 in 合作市场 …): matched only when supported.
_WORDLIKE_FULL = frozenset(
    {
        "新城区",
        "老城区",
        "古城区",
        "城中区",
        "城东区",
        "城西区",
        "城北区",
        "城南区",
        "新市区",
        "市中区",
        "河东区",
        "河西区",
        "江北区",
        "江南区",
        "城关区",
        "城厢区",
        "平安区",
        "振兴区",
        "复兴区",
        "解放区",
        "前进区",
        "红旗区",
        "向阳区",
        "东风区",
        "友好区",
        "安定区",
        "新兴区",
        "和平区",
        "长安区",
        "新华区",
        "合作市",
        "东方市",
        "公安县",
        "大方县",
        "中山区",
        "南山区",
        "青山区",
        "金山区",
        "东山区",
        "西山区",
        "北山区",
    }
)

# Common words that contain a division name but do not mention it. They are matched
# like names (leftmost-longest) and swallow the text they cover.
_BLOCKERS = (
    "长治久安",
    "新乡贤",
    "乡村振兴",
    "民族复兴",
    "振兴区域",
    "绿水青山",
    "青山绿水",
    "金山银山",
    "沿海城市",
    "滨海城市",
    "临海城市",
    "新兴城市",
    "适宜城市",
    "管理县",
    "创新县",
    "市和县",
    "区和县",
    "市、县",
    "三明治",
    "四平八稳",
    "世界大同",
    "大同小异",
    "北海道",
    "中山装",
    "中山路",
    "天府之国",
    "东方红",
)

# After a short form, these mean a street, road, township or building named after the
# place, not the place itself (北京路, 长安镇, 新华街道, 梅列社区).
_SHORT_FOLLOWERS_BAD = ("路", "街", "巷", "大道", "镇", "村", "社区", "小区", "公园", "广场", "大厦", "花园", "胡同")
_SHORT_FOLLOWERS_OK = ("乡村", "乡镇", "乡贤", "乡土")  # 乡 alone is a township (桃源乡)


@dataclass(frozen=True)
class _Form:
    """One way of writing one region's name."""

    code: str
    short: bool  # a short form (suffix removed), not the name as written
    weak: bool  # needs support from another mention or the context


@dataclass(frozen=True)
class _Gazetteer:
    regions: dict[str, Region]
    forms: dict[str, tuple[_Form, ...]]  # every way of writing a name → its readings
    blockers: frozenset[str]
    max_len: int
    bigrams: re.Pattern[str]  # finds (overlapping) character pairs that may start a key
    by_bigram: dict[str, tuple[int, ...]]  # first two characters → key lengths, longest first


def _csv_path() -> Path:
    spec = importlib.util.find_spec("cpca")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the division data set is missing: install cpca==0.5.5")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"


def _nations(path: Path) -> tuple[str, ...]:
    """Ethnic-group names as used inside division names (苗族, and 哈萨克 without 族)."""
    names: list[str] = []
    try:
        with path.open(encoding="utf-8") as f:
            base = [line.strip() for line in f if line.strip()]
    except OSError:
        base = []
    for name in base:
        names.append(name)
        stem = name.removesuffix("族")
        if len(stem) >= 2:  # single-character ones (回, 藏) only ever with 族
            names.append(stem)
    names.append("各族")
    return tuple(sorted(set(names), key=len, reverse=True))


def _short_form(name: str, level: int, nations: tuple[str, ...]) -> str | None:
    """The name without its level suffix and ethnic qualifiers; None if under 2 chars."""
    for suffix in _SUFFIXES[level]:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            break
    else:
        return None
    if "族" in stem or "自治" in name:  # only these carry ethnic qualifiers
        changed = True
        while changed:
            changed = False
            for nation in nations:
                if stem.endswith(nation) and len(stem) - len(nation) >= 2:
                    stem = stem[: -len(nation)]
                    changed = True
                    break
    if stem.endswith("族") and len(stem) >= 3:  # 东乡族自治县 → 东乡
        stem = stem[:-1]
    return stem if len(stem) >= 2 and stem != name else None


def _level(code: str) -> int:
    return 1 if code.endswith("0000") else 2 if code.endswith("00") else 3


@functools.cache
def _gazetteer() -> _Gazetteer:
    path = _csv_path()
    nations = _nations(path.with_name("56_nations.csv"))
    names: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            code, name = row["adcode"].strip()[:6], row["name"].strip()
            if name and name not in _PLACEHOLDERS and not name.endswith("直辖县级行政区划"):
                names.setdefault(code, name)

    regions: dict[str, Region] = {}
    for code in sorted(names):  # provinces (xx0000) sort before their cities and counties
        level = _level(code)
        parents = [c for c in (code[:2] + "0000", code[:4] + "00")[: level - 1] if c in regions]
        full = (regions[parents[-1]].name if parents else "") + names[code]
        regions[code] = Region(code=code, name=full, short=names[code], level=level)

    forms: dict[str, list[_Form]] = {}

    def add(text: str, form: _Form) -> None:
        forms.setdefault(text, []).append(form)

    for code, region in regions.items():
        full = region.short
        weak_full = region.level == 3 and (len(full) <= 2 or full in _WORDLIKE_FULL)
        add(full, _Form(code, short=False, weak=weak_full))
        short = _short_form(full, region.level, nations)
        if short:
            add(short, _Form(code, short=True, weak=region.level == 3 or short in _WORDLIKE_SHORT))
            if region.level == 2 and full.endswith("自治州"):
                add(short + "州", _Form(code, short=False, weak=False))  # 恩施州, 湘西州
    # A short form that equals some region's full form (none today) yields to the full form.
    frozen = {
        text: tuple(fs if all(f.short for f in fs) else [f for f in fs if not f.short]) for text, fs in forms.items()
    }
    blockers = frozenset(_BLOCKERS)
    keys = set(frozen) | blockers
    by_bigram: dict[str, set[int]] = {}
    for key in keys:  # every key has at least two characters
        by_bigram.setdefault(key[:2], set()).add(len(key))
    firsts = "".join(sorted({k[0] for k in keys}))
    seconds = "".join(sorted({k[1] for k in keys}))
    return _Gazetteer(
        regions=regions,
        forms=frozen,
        blockers=blockers,
        max_len=max(map(len, keys)),
        bigrams=re.compile(f"(?=([{re.escape(firsts)}][{re.escape(seconds)}]))"),
        by_bigram={b: tuple(sorted(lens, reverse=True)) for b, lens in by_bigram.items()},
    )


# ---------------------------------------------------------------------------------------
# Codes and hierarchy


def _norm_code(code: str) -> str:
    code = str(code).strip()
    if len(code) == 12 and code.isdigit() and code.endswith("000000"):
        code = code[:6]
    return code


def lookup(code: str) -> Region:
    """The region with adcode ``code`` (6 digits; 12-digit forms ending in 000000 accepted).

    Raises KeyError for a code that is not in the data set.
    """
    try:
        return _gazetteer().regions[_norm_code(code)]
    except KeyError:
        raise KeyError(f"unknown division code: {code!r}") from None


def _prefix(code: str) -> str:
    code = _norm_code(code)
    return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code


def code_prefix(region: Region) -> str:
    """The code prefix shared by ``region`` and everything under it, for ``LIKE 'p%'``.

    "37" for a province (municipalities too: "11" covers 1101xx 市辖区 and 1102xx 县),
    "3705" for a prefecture city, the whole code for a county-level division
    (including 省直辖县级 ones such as 429004 仙桃市).
    """
    return _prefix(region.code)


def within(code: str, ancestor_code: str) -> bool:
    """Whether division ``code`` is ``ancestor_code`` or lies under it (pure code arithmetic)."""
    return _norm_code(code).startswith(_prefix(ancestor_code))


def ancestors(region: Region) -> tuple[Region, ...]:
    """The province and prefecture city above ``region`` (those that exist), top first."""
    regions = _gazetteer().regions
    cands = (region.code[:2] + "0000", region.code[:4] + "00")[: region.level - 1]
    return tuple(regions[c] for c in cands if c in regions and c != region.code)


def _is_under(code: str, anc: str) -> bool:
    """Strictly below ``anc`` (``anc`` a province or city code)."""
    return code != anc and code.startswith(_prefix(anc))


# ---------------------------------------------------------------------------------------
# Resolving user input


def _segmentations(name: str, keys: dict[str, tuple[_Form, ...]], max_len: int) -> list[list[str]]:
    """All ways to write ``name`` as a sequence of known forms."""

    @functools.cache
    def rest(i: int) -> tuple[tuple[str, ...], ...]:
        if i == len(name):
            return ((),)
        out = []
        for j in range(min(len(name), i + max_len), i, -1):
            if name[i:j] in keys:
                out.extend((name[i:j],) + tail for tail in rest(j))
        return tuple(out)

    return [list(seg) for seg in rest(0)]


def resolve_all(name: str) -> tuple[Region, ...]:
    """Every region ``name`` can denote: "普陀区" gives both 上海市普陀区 and 浙江省舟山市普陀区.

    Accepts codes, full or short forms (山东, 山东省), and chains from the top down
    (江苏省宿迁市宿豫区, 宿迁市宿豫区, 上海市普陀区, 山东广饶).
    """
    gaz = _gazetteer()
    name = re.sub(r"\s+", "", str(name))
    if not name:
        return ()
    code = _norm_code(name)
    if code.isdigit():
        return (gaz.regions[code],) if code in gaz.regions else ()
    found: set[str] = set()
    for first, *rest in _segmentations(name, gaz.forms, gaz.max_len):
        chain = {f.code for f in gaz.forms[first]}
        for part in rest:  # each part must lie under one of the previous part's candidates
            chain = {f.code for f in gaz.forms[part] if any(_is_under(f.code, p) for p in chain)}
        found |= chain
    return tuple(gaz.regions[c] for c in sorted(found))


def _prefer(regions: Sequence[Region]) -> Region | None:
    """The one region a name most likely means among ``regions``, or None if ambiguous.

    A single candidate wins; so does a province or city when the others lie below it
    (吉林 → 吉林省 over 吉林市) or are all at a lower level (海南 → 海南省).
    """
    regions = list({r.code: r for r in regions}.values())
    if len(regions) == 1:
        return regions[0]
    if not regions:
        return None
    top = min(r.level for r in regions)
    tops = [r for r in regions if r.level == top]
    if len(tops) == 1 and top < 3:
        return tops[0]
    return None


def resolve(name: str) -> Region | None:
    """The region a filter value names, or None if unknown or ambiguous.

    "山东" and "山东省" give 山东省; "东营市广饶县" and "广饶县" give 山东省东营市广饶县;
    a bare ambiguous name such as "普陀区" gives None (see ``resolve_all``).
    """
    return _prefer(resolve_all(name))


# ---------------------------------------------------------------------------------------
# Finding mentions in text


@dataclass
class _Mention:
    start: int
    end: int
    forms: tuple[_Form, ...]
    code: str | None = None  # set once resolved


def _occurrences(text: str, gaz: _Gazetteer) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of every form or blocker, overlaps included.

    A C-level regex pass lists the character pairs that could start a key; only pairs
    that really start one are looked up in Python. (A single alternation regex over all
    names, or pyahocorasick with its 1000-way root, is about ten times slower here.)
    """
    pairs = gaz.by_bigram.keys() & set(gaz.bigrams.findall(text))
    if not pairs:
        return []
    out = []
    n = len(text)
    for pair in pairs:
        lengths = gaz.by_bigram[pair]
        i = text.find(pair)
        while i >= 0:
            for length in lengths:
                key = text[i : i + length]
                if i + length <= n and (key in gaz.forms or key in gaz.blockers):
                    out.append((i, i + length))
            i = text.find(pair, i + 1)
    return out


def _scan(text: str, gaz: _Gazetteer) -> list[_Mention]:
    """Candidate mentions, leftmost-longest, after the word-boundary checks.

    A longest form that fails its boundary check gives way to shorter forms at the same
    start (北京市场监管 → 北京), then to later starts. A blocker swallows what it covers.
    """
    spans = sorted(_occurrences(text, gaz), key=lambda s: (s[0], -s[1]))
    starts = {s for s, _ in spans}
    found: list[_Mention] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            continue
        key = text[start:end]
        if key in gaz.blockers:
            pos = end
            continue
        forms = gaz.forms[key]
        if _boundary_ok(text, end, key, forms, end in starts):
            found.append(_Mention(start, end, forms))
            pos = end
    return found


def _boundary_ok(text: str, end: int, key: str, forms: tuple[_Form, ...], name_follows: bool) -> bool:
    """Whether the text right after a form lets it stand as a place name."""
    after = text[end : end + 2]
    if key.endswith("市") and after[:1] == "场":  # 东方市场, 北京市场监管
        return False
    if key.endswith("区") and after[:1] == "域":  # 和平区域
        return False
    if all(f.short for f in forms) and after and not name_follows:  # 江苏镇江, 三明梅列 are fine
        if after.startswith(_SHORT_FOLLOWERS_OK):
            return True
        if after.startswith(_SHORT_FOLLOWERS_BAD) or after[:1] == "乡":
            return False
    return True


def _supported(code: str, confirmed: Iterable[str], direct: bool) -> bool:
    """Whether a confirmed region is ``code`` itself or above it (its direct parent only if ``direct``)."""
    regions = _gazetteer().regions
    region = regions[code]
    parents = ancestors(region)
    wanted = {code} | ({parents[-1].code} if direct and parents else {p.code for p in parents})
    return not wanted.isdisjoint(confirmed)


def find_regions(text: str, context: Sequence[Region] = ()) -> tuple[Region, ...]:
    """Every division named in ``text``, most specific first-mention order, deduplicated.

    A found region that is an ancestor of another found one is dropped (山东省广饶县 →
    广饶县 only). ``context`` (regions inherited from the document or headings) only
    helps to decide ambiguous or weak names; it is not reported itself.
    """
    if not text:
        return ()
    gaz = _gazetteer()
    mentions = _scan(text, gaz)
    if not mentions:
        return ()
    context_codes = {r.code for r in context}
    confirmed: set[str] = set()

    # 1. Adjacent chains: a name right after another one picks the candidate under it
    #    (上海市普陀区, 舟山市普陀区); a short form that is not under it is not a name
    #    (舟山市葫芦岛).
    prev: _Mention | None = None
    for m in mentions:
        if prev is not None and prev.end == m.start and prev.code is not None:
            under = [f for f in m.forms if _is_under(f.code, prev.code)]
            if under:
                if len({f.code for f in under}) == 1:
                    m.code = under[0].code
            elif all(f.short for f in m.forms):
                m.forms = ()
        if m.code is None and len({f.code for f in m.forms}) == 1 and not m.forms[0].weak:
            m.code = m.forms[0].code
        if m.code is not None:
            confirmed.add(m.code)
        prev = m

    # 2. Support: a weak or ambiguous name is kept when its full form, parent or ancestor
    #    is confirmed in the text or given as context. 3. Failing that, a province or city
    #    short form wins over lower-level namesakes (吉林 → 吉林省, 河南 → 河南省).
    while True:
        changed = True
        while changed:
            changed = False
            support = confirmed | context_codes
            for m in mentions:
                if m.code is None and m.forms:
                    ok = {f.code for f in m.forms if _supported(f.code, support, direct=f.short)}
                    if len(ok) == 1:
                        m.code = ok.pop()
                        confirmed.add(m.code)
                        changed = True
        preferred = False
        for m in mentions:
            if m.code is None and m.forms:
                best = _prefer([gaz.regions[f.code] for f in m.forms])
                if best is not None and not any(f.weak for f in m.forms if f.code == best.code):
                    m.code = best.code
                    confirmed.add(best.code)
                    preferred = True
                    break  # it may support other names: back to step 2
        if not preferred:
            break

    order: list[str] = []
    for m in mentions:
        if m.code is not None and m.code not in order:
            order.append(m.code)
    kept = [c for c in order if not any(_is_under(o, c) for o in order)]
    return tuple(gaz.regions[c] for c in kept)
