"""Practices with the real model over corpus/ plus regulations: the issue's cross-region acceptance examples."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from kb.api import KnowledgeBase
from kb.practices.similar import related
from kb.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
VILLAGE = re.compile(r"实施《(?:中华人民共和国)?村民委员会组织法》")
REGULATIONS = (
    "local/山东/滨州市社会治理网格化服务管理条例(2021-08-05).md",
    "local/广东/广东省平安建设条例(2021-12-01).md",
    "local/浙江/宁波市人民调解条例(2015-04-13).md",
    "local/上海/上海市信访条例(2018-05-24).md",
    "national/村民委员会组织法(2018-12-29).md",
    "national/人民调解法(2010-08-28).md",
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def real_kb(tmp_path_factory, regulations_dir):
    root = tmp_path_factory.mktemp("practices-real")
    corpus = root / "corpus"
    shutil.copytree(ROOT / "corpus", corpus / "seeds")
    wanted = [regulations_dir / r for r in REGULATIONS]
    wanted += [p for p in regulations_dir.glob("local/*/*.md") if VILLAGE.search(p.name)]
    for path in wanted:
        target = corpus / "regulations" / path.relative_to(regulations_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    kb = KnowledgeBase(settings=Settings.load(index_dir=str(root / "index")))
    report = kb.ingest([corpus])
    assert report.count("error") == 0
    yield kb
    kb.close()


def _pid(kb: KnowledgeBase, fragment: str, title: str = "") -> str:
    sql = "SELECT p.passage_id FROM passages p JOIN documents d ON d.doc_id = p.doc_id WHERE p.text LIKE ? AND d.title LIKE ?"
    row = kb._open().conn.execute(sql, (f"%{fragment}%", f"%{title}%")).fetchone()
    assert row, fragment
    return row[0]


def test_guangrao_grid_work_has_comparable_practices_in_three_other_regions(real_kb):
    found = real_kb.similar(_pid(real_kb, "划定“网格”942个"), per_region=2, k=10)
    grid = [s for s in found if "网格" in s.hit.passage.text]
    regions = {s.region_code for s in grid}
    assert len(regions) >= 3, [(s.region, s.hit.passage.text[:30]) for s in found]
    assert all(not related(code, ["370523"]) for code in regions)  # never 广饶县, 东营市 or 山东省
    assert "371600" in regions or "440000" in regions  # a local grid regulation (滨州市, 广东省平安建设条例)
    rules = [s for s in found[:5] if s.hit.document.doc_type == "regulation" and "网格" in s.hit.passage.text]
    assert rules, [(s.region, s.hit.document.title) for s in found[:5]]  # a report's practice meets others' rules


def test_village_representative_assembly_article_finds_other_provinces_articles_first(real_kb):
    pid = _pid(real_kb, "可以设立村民代表会议", "山东省实施")
    found = real_kb.similar(pid, per_region=2, k=10)
    first = found[:4]  # one per other province: their best hits come first
    assert all(VILLAGE.search(s.hit.document.title) for s in first), [s.hit.document.title for s in first]
    assert all("村民代表会议" in s.hit.passage.text for s in first), [s.hit.passage.text[:40] for s in first]
    assert len({s.region_code for s in first}) == 4 and all(not s.region_code.startswith("37") for s in first)


@pytest.mark.parametrize(
    ("fragment", "title", "expected", "not_expected"),
    [
        ("划定“网格”942个", "", "网格化管理", "信访"),
        ("以建立社区大党委制为龙头", "", "党建引领", "物业与小区治理"),
        ("引进逢源人家服务中心", "", "社会组织与社会工作", "信访"),
        ("可以设立村民代表会议", "山东省实施", "居民自治与协商议事", "信访"),
        ("信访人", "上海市信访条例", "信访", "网格化管理"),
        ("人民调解委员会", "宁波市人民调解条例", "矛盾纠纷多元化解", "物业与小区治理"),
    ],
)
def test_theme_assignment_on_hand_checked_passages(real_kb, fragment, title, expected, not_expected):
    from kb import store

    pid = _pid(real_kb, fragment, title)
    names = {t.theme_id: t.name for t in real_kb.themes()}
    got = [names[t] for t in store.themes_of_passages(real_kb._open().conn, [pid]).get(pid, [])]
    assert expected in got and not_expected not in got, got


@pytest.mark.parametrize(
    ("card", "theme"),
    [("民意访评中心", "考核监督与基层减负"), ("逢源人家服务中心", "社会组织与社会工作"), ("三长制", "网格化管理"),
     ("大党委", "党建引领"), ("便民服务站", "便民服务与一站式办理")],
)  # fmt: skip
def test_card_themes_come_from_the_cards_own_sentences(real_kb, card, theme):
    from kb import store

    (found,) = [c for c in store.cards(real_kb._open().conn, kinds=["practice"]) if c.name == card]
    assert theme in found.themes, found.themes


def test_practices_and_compare_on_real_material(real_kb):
    groups = real_kb.practices(theme="网格化管理", kind="practice")
    assert {"浙江省舟山市", "山东省东营市广饶县", "山东省淄博市"} <= {g.region for g in groups}
    table = real_kb.compare(level="province", kind="practice")
    assert table.cell("山东省", "网格化管理").count >= 2
