"""Practice cards, themes, comparable passages and the region × theme matrix (FakeEmbedder index)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from kb import cli, index, regions, store
from kb.api import KnowledgeBase
from kb.embed import FakeEmbedder
from kb.errors import ConfigError, QueryError
from kb.practices import build, cards, compare, similar, themes
from kb.types import Document, Passage, PracticeCard, Theme
from tests.conftest import fake_settings, write_corpus

# The seed practices the issue lists, with the region each belongs to.
SEED_CARDS = [
    ("三长制", "福建省三明市梅列区"),
    ("大党委", "福建省三明市梅列区"),
    ("翁墩自管会", "福建省三明市梅列区"),
    ("乡呼县应、上下联动", "山东省东营市广饶县"),
    ("1+1+N", "山东省东营市广饶县"),
    ("网格化管理、组团式服务", "浙江省舟山市"),
    ("三大工程", "山东省淄博市"),
    ("逢源人家服务中心", "广东省广州市荔湾区"),
    ("民意访评中心", "江苏省宿迁市宿豫区"),
]


@pytest.fixture(scope="module")
def kb(built_index):
    with KnowledgeBase(settings=built_index.settings, embedder=built_index.embedder) as opened:
        yield opened


def _pid(kb: KnowledgeBase, fragment: str) -> str:
    row = kb._open().conn.execute("SELECT passage_id FROM passages WHERE text LIKE ?", (f"%{fragment}%",)).fetchone()
    assert row, fragment
    return row[0]


# ---------------------------------------------------------------- cards


@pytest.mark.parametrize(("name", "region"), SEED_CARDS)
def test_seed_cards_have_the_right_region(kb, name, region):
    found = [c for c in store.cards(kb._open().conn, kinds=["practice"]) if c.name == name]
    assert found, f"no card named {name}"
    assert {c.region for c in found} == {region}
    card = found[0]
    assert card.summary and all(s in kb.passage(card.passage_id)[0].text for s in card.summary)  # verbatim
    assert regions.lookup(card.region_code).name == region and regions.lookup(card.region_code).level == card.level


def test_card_figures_locality_and_year(kb):
    (grid,) = [c for c in store.cards(kb._open().conn) if c.name == "1+1+N"]
    assert {"942个", "1名"} <= set(grid.figures)
    (three,) = [c for c in store.cards(kb._open().conn) if c.name == "三长制"]
    assert three.locality == "徐碧街道"
    zhoushan = [c for c in store.cards(kb._open().conn) if c.name == "网格化管理、组团式服务"]
    assert len(zhoushan) == 1  # one card per document and name, however often it is mentioned


def _passage(text: str, regions=("浙江省舟山市",), heading=("标题",)) -> tuple[Passage, Document]:
    doc = Document("d1", "x.txt", "标题", date="2019-05-01", doc_type="survey", regions=regions)
    return Passage("p1", "d1", 0, text, heading, regions=regions), doc


def test_quoted_slogans_and_problems_are_not_cards():
    p, d = _passage("受“强政府、弱社会”传统管理理念影响,公众参与不足。群众说:“干部来得少”。")
    assert cards.practice_cards(p, d) == []


def test_card_region_is_the_sentence_subject_not_a_later_pilot_place():
    p, d = _passage("2008年8月,舟山在普陀区桃花镇试点的基础上,全面推开“网格化管理、组团式服务”工作,划分2464个网格。")
    (card,) = cards.practice_cards(p, d)
    assert card.region == "浙江省舟山市" and card.year == 2008 and "2464个网格" in card.figures
    assert card.locality == "桃花镇"


def test_rule_card_skips_general_provisions():
    regs = ("山东省",)
    doc = Document("r", "r.md", "山东省实施办法", doc_type="regulation", regions=regs)
    general = Passage(
        "a", "r", 0, "第一条 为了保障村民自治，根据有关法律，结合本省实际，制定本办法。", ("t",), regs, (), "第一条"
    )
    rule = Passage(
        "b",
        "r",
        1,
        "第二十条 村民代表会议由村民委员会召集，每季度召开一次。有五分之一以上村民代表提议，应当召集。",
        ("t",),
        regs,
        (),
        "第二十条",
    )
    assert cards.rule_card(general, doc) is None
    card = cards.rule_card(rule, doc)
    assert card.kind == "rule" and card.region == "山东省" and card.name == "村民代表会议由村民委员会召集"


# ---------------------------------------------------------------- themes


def test_shipped_taxonomy():
    shipped = themes.load_themes()
    assert len(shipped) >= 15
    assert {"党建引领", "网格化管理", "矛盾纠纷多元化解", "信访", "物业与小区治理"} <= {t.name for t in shipped}
    assert all(t.description and t.keywords for t in shipped)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[theme]]\nid = 'a'\n", "missing name, description"),
        ("[[theme]\n", "not valid UTF-8 TOML"),
        ("title = 'x'\n", "no [[theme]] tables"),
        ("[[theme]]\nid='a'\nname='甲'\ndescription='x'\n[[theme]]\nid='a'\nname='乙'\ndescription='y'\n", "share"),
    ],
)
def test_broken_taxonomy_is_a_config_error(tmp_path, text, message):
    path = tmp_path / "themes.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="KB_PRACTICE_THEMES_FILE") as err:
        themes.load_themes(str(path))
    assert message in str(err.value)
    with pytest.raises(ConfigError, match="cannot be read"):
        themes.load_themes(str(tmp_path / "missing.toml"))


THEMES = (
    Theme("grid", "网格化管理", "网格", ("网格", "网格员", "巡查")),
    Theme("mediation", "矛盾纠纷多元化解", "调解", ("调解", "纠纷")),
    Theme("petition", "信访", "信访", ("信访",)),
    Theme("elderly", "养老", "养老", ("养老",)),
)


def test_assignment_needs_keywords_and_vector_to_agree():
    vecs = np.eye(4, dtype=np.float32)
    text = "配备专职网格员巡查，网格内纠纷及时调解。"
    # the vector leans to mediation: both themes with keywords, mediation first
    got = themes.assign(text, np.array([0.9, 1, 0, 0], np.float32), vecs, THEMES)
    assert [THEMES[i].name for i, _ in got] == ["矛盾纠纷多元化解", "网格化管理"]
    # … but a theme far behind the best one is dropped
    got = themes.assign(text, np.array([0.3, 1, 0, 0], np.float32), vecs, THEMES)
    assert [THEMES[i].name for i, _ in got] == ["矛盾纠纷多元化解"]
    # one keyword (信访) but a vector far from the theme: not assigned
    assert themes.assign("信访人可以提出意见。", np.array([0, 0, 0, 1], np.float32), vecs, THEMES) == []
    # keywords only (no vector): two distinct keywords needed
    assert themes.assign("网格员巡查网格", None, vecs, THEMES) == [(0, pytest.approx(1.0))]
    assert themes.assign("调解", None, vecs, THEMES) == []


def test_match_theme():
    assert themes.match_theme("网格", THEMES).theme_id == "grid"
    assert themes.match_theme("petition", THEMES).name == "信访"
    with pytest.raises(QueryError, match="未知主题"):
        themes.match_theme("外交", THEMES)


def test_session_index_passages_have_themes(kb):
    conn = kb._open().conn
    pid = _pid(kb, "划定“网格”942个")
    got = store.themes_of_passages(conn, [pid])[pid]
    assert 1 <= len(got) <= themes.MAX_THEMES and set(got) <= {t.theme_id for t in themes.load_themes()}
    assert {t.name for t in kb.themes()} == {t.name for t in themes.load_themes()}


# ---------------------------------------------------------------- incremental, staleness


def test_cards_are_incremental_and_follow_the_taxonomy(tmp_path, seed_dir):
    from tests.conftest import seed_path

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for prefix in ("001", "002"):
        (corpus / seed_path(seed_dir, prefix).name).write_bytes(seed_path(seed_dir, prefix).read_bytes())
    settings = fake_settings(index_dir=str(tmp_path / "index"))
    emb = FakeEmbedder(64)
    index.ingest([corpus], settings, emb)
    conn = store.connect(settings.index_dir)
    before = {c.card_id for c in store.cards(conn)}
    assert {"三长制", "1+1+N"} <= {c.name for c in store.cards(conn)}
    # nothing changed: nothing recomputed
    assert build.refresh(conn, lambda: pytest.fail("vectors loaded"), settings, emb) == 0
    # one file changed: only its document is processed
    write_corpus(
        corpus, {"new.txt": "# 某县经验\n\n山东省东营市广饶县探索“红色物业”模式，成立了小区议事会，覆盖120个小区。"}
    )
    index.ingest([corpus], settings, emb)
    after = store.cards(conn)
    assert before <= {c.card_id for c in after}
    assert any(c.name == "红色物业" and c.region == "山东省东营市广饶县" for c in after)
    # the file removed: its cards go
    (corpus / "new.txt").unlink()
    index.ingest([corpus], settings, emb)
    assert {c.card_id for c in store.cards(conn)} == before
    # a user taxonomy: everything recomputed with its themes
    own = tmp_path / "mine.toml"
    own.write_text(
        "[[theme]]\nid='g'\nname='网格'\ndescription='网格化'\nkeywords=['网格员','专属网格']\n", encoding="utf-8"
    )
    index.ingest([corpus], settings.replace(practice_themes_file=str(own)), emb)
    assert [t.name for t in store.stored_themes(conn)[0]] == ["网格"]
    recomputed = store.cards(conn)
    assert {c.card_id for c in recomputed} == before
    assert {t for c in recomputed for t in c.themes} <= {"网格"}
    assert any(c.themes == ("网格",) for c in recomputed if c.name == "1+1+N")
    conn.close()


# ---------------------------------------------------------------- similar


def test_related_is_hierarchy_aware():
    guangrao, dongying, shandong, zibo, kenli = "370523", "370500", "370000", "370300", "370522"
    assert similar.related(dongying, [guangrao]) and similar.related(shandong, [guangrao])
    assert similar.related(guangrao, [guangrao])
    assert not similar.related(zibo, [guangrao])  # another city of the province
    assert not similar.related(kenli, [guangrao])  # another county of the same city


def test_similar_excludes_own_region_and_document(kb):
    pid = _pid(kb, "划定“网格”942个")
    found = kb.similar(pid, per_region=2, k=10)
    assert found
    codes = [s.region_code for s in found]
    assert all(c and not similar.related(c, ["370523"]) for c in codes)
    query_doc = kb.passage(pid)[1].doc_id
    assert all(s.hit.document.doc_id != query_doc for s in found)


def test_similar_per_region_limit_and_grouping(kb):
    pid = _pid(kb, "划定“网格”942个")
    for n in (1, 2):
        found = kb.similar(pid, per_region=n, k=8)
        codes = [s.region_code for s in found]
        assert max(codes.count(c) for c in codes) <= n
        groups = list(dict.fromkeys(codes))
        assert not any(similar.related(a, [b]) for i, a in enumerate(groups) for b in groups[i + 1 :])
        # in rounds: every region's best hit first (best region first), then the second ones
        firsts = list(dict.fromkeys(codes))
        assert codes[: len(firsts)] == firsts
        best = [s.hit.score for s in found[: len(firsts)]]
        assert best == sorted(best, reverse=True)
        assert best == [max(s.hit.score for s in found if s.region_code == c) for c in firsts]
    assert len(kb.similar(pid, per_region=1, k=3)) == 3


def test_similar_same_region_and_filters(kb):
    pid = _pid(kb, "划定“网格”942个")
    mediation = _pid(kb, "人民调解委员会")
    everywhere = kb.similar(mediation, other_regions=False, per_region=5, k=30)
    assert any(s.region_code == "" for s in everywhere)  # national texts are kept without exclusion
    only = kb.similar(pid, region="浙江省", k=5)
    assert only and all(s.region_code.startswith("33") for s in only)
    with pytest.raises(QueryError):
        kb.similar(pid, per_region=0)


def test_similar_by_text_uses_the_model_and_named_region(kb):
    found = kb.similar("山东省东营市广饶县网格员巡查走访，采集信息上报", k=5)
    assert found and all(not similar.related(s.region_code, ["370523"]) for s in found)


# ---------------------------------------------------------------- practices and compare


def test_practices_grouped_by_region_with_filters(kb):
    groups = kb.practices(theme="网格化管理", kind="practice")
    assert groups and all("网格化管理" in c.themes for g in groups for c in g.cards)
    assert all(c.region == g.region for g in groups for c in g.cards)
    shandong = kb.practices(region="山东省", kind="practice")
    assert shandong and all(g.region_code.startswith("37") for g in shandong)
    assert {"1+1+N", "三大工程"} <= {c.name for g in shandong for c in g.cards}
    assert sum(len(g.cards) for g in kb.practices(k=3)) == 3


def _card(name: str, code: str, region: str, theme: str, score: float, kind: str = "practice") -> PracticeCard:
    return PracticeCard(name, "p", "d", region, code, 3, name, kind, ("句。",), (theme,), score=score)


def test_compare_rolls_up_and_counts():
    cs = [
        _card("甲", "370523", "山东省东营市广饶县", "网格化管理", 3.0),
        _card("乙", "370522", "山东省东营市利津县", "网格化管理", 4.0),
        _card("丙", "370300", "山东省淄博市", "网格化管理", 2.0),
        _card("丁", "370000", "山东省", "信访", 9.0, kind="rule"),
    ]
    ts = [Theme("grid", "网格化管理", "x"), Theme("petition", "信访", "y")]
    city = compare.compare(cs, ts, level="city")
    assert city.regions == ("山东省东营市", "山东省", "山东省淄博市")
    assert city.cell("山东省东营市", "网格化管理").count == 2
    assert city.cell("山东省东营市", "网格化管理").best.name == "乙"
    assert city.cell("山东省", "信访").count == 1
    prov = compare.compare(cs, ts, level="province")
    assert prov.regions == ("山东省",) and prov.cell("山东省", "网格化管理").count == 3
    with pytest.raises(QueryError):
        compare.compare(cs, ts, level="town")


def test_compare_csv_export(kb, tmp_path, built_index, capsys):
    table = kb.compare(level="city", kind="practice")
    rows = list(csv.reader(io.StringIO(compare.to_csv(table))))
    assert rows[0][0] == "地区" and rows[0][1:3] == [table.themes[0], f"{table.themes[0]}·代表做法"]
    assert [r[0] for r in rows[1:]] == list(table.regions)
    zhoushan = next(r for r in rows if r[0] == "浙江省舟山市")
    assert "网格化管理、组团式服务" in zhoushan[2::2] and sum(map(int, zhoushan[1::2])) >= 1
    out = tmp_path / "m.csv"
    argv = [
        "compare",
        "--index",
        str(built_index.index_dir),
        "--level",
        "city",
        "--kind",
        "practice",
        "--csv",
        str(out),
    ]
    assert cli.main(argv) == 0
    assert out.read_bytes().decode("utf-8-sig") == compare.to_csv(table)


def test_cli_json_views(built_index, capsys, monkeypatch):
    monkeypatch.setenv("KB_MODEL", "fake")
    idx = str(built_index.index_dir)
    assert cli.main(["practices", "--index", idx, "--region", "浙江省", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert groups and all(g["region"].startswith("浙江省") for g in groups)
    pid = groups[0]["cards"][0]["passage_id"]
    assert cli.main(["similar", pid, "--index", idx, "--per-region", "1", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and len({h["group"] for h in hits}) == len(hits)
    assert all(not h["group"].startswith("浙江省舟山市") for h in hits)


def test_a_report_passage_weighs_other_regions_rules_up_and_a_regulation_article_does_not():
    from kb.practices import similar as sim

    report = sim._Query(1, "d1", frozenset({"grid"}), wants_rules=True)
    article = sim._Query(2, "d2", frozenset({"grid"}), wants_rules=False)
    assert sim._bonus(report, ["grid"], "regulation") == sim.THEME_BONUS + sim.RULE_BONUS
    assert sim._bonus(report, ["grid"], "survey") == sim.THEME_BONUS
    assert sim._bonus(article, ["grid"], "regulation") == sim.THEME_BONUS
