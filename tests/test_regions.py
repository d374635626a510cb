"""kb.regions: the division gazetteer, filter-value resolution and mentions in text."""

from __future__ import annotations

import time

import pytest

from kb import regions
from kb.regions import ancestors, code_prefix, find_regions, lookup, resolve, resolve_all, within
from kb.types import Region


def names(found: tuple[Region, ...]) -> list[str]:
    return [r.name for r in found]


# --- data set -------------------------------------------------------------------------


def test_lookup_counties_with_full_names():
    r = lookup("321311")
    assert r == Region(code="321311", name="江苏省宿迁市宿豫区", short="宿豫区", level=3)
    assert lookup("370523").name == "山东省东营市广饶县"
    assert lookup("330900") == Region(code="330900", name="浙江省舟山市", short="舟山市", level=2)
    assert lookup("370000").level == 1


def test_abolished_division_still_resolves():
    # 梅列区 was merged into 三元区 in 2021; older documents still name it.
    r = resolve("梅列区")
    assert r is not None
    assert (r.code, r.name, r.level) == ("350402", "福建省三明市梅列区", 3)


def test_lookup_accepts_12_digit_codes_and_rejects_unknown():
    assert lookup("321311000000").code == "321311"
    with pytest.raises(KeyError):
        lookup("999999")


def test_municipality_districts_skip_the_placeholder_level():
    r = resolve("北京市东城区")
    assert r is not None
    assert (r.code, r.name, r.short, r.level) == ("110101", "北京市东城区", "东城区", 3)
    beijing = lookup("110000")
    assert beijing.name == "北京市" and beijing.level == 1
    assert ancestors(r) == (beijing,)
    assert code_prefix(beijing) == "11"  # covers 1101xx 市辖区 and 1102xx 县
    assert code_prefix(r) == "110101"
    assert within("110101", "110000")
    putuo = resolve("上海市普陀区")
    assert putuo is not None and putuo.code == "310107" and code_prefix(putuo) == "310107"


def test_province_administered_county_level_cities():
    xiantao = resolve("仙桃市")
    assert xiantao is not None
    assert (xiantao.code, xiantao.name, xiantao.level) == ("429004", "湖北省仙桃市", 3)
    assert ancestors(xiantao) == (lookup("420000"),)
    assert code_prefix(xiantao) == "429004"
    assert within("429004", "420000")
    assert not within("429004", "420100")


# --- hierarchy ------------------------------------------------------------------------


def test_ancestors_and_prefixes():
    guangrao = lookup("370523")
    assert ancestors(guangrao) == (lookup("370000"), lookup("370500"))
    assert ancestors(lookup("370500")) == (lookup("370000"),)
    assert ancestors(lookup("370000")) == ()
    assert code_prefix(lookup("370000")) == "37"
    assert code_prefix(lookup("370500")) == "3705"
    assert code_prefix(guangrao) == "370523"


def test_within():
    assert within("370523", "370000")  # 山东省 includes 东营市广饶县
    assert within("370523", "370500")
    assert within("370523", "370523")  # a region is within itself
    assert not within("370523", "320000")
    assert not within("370000", "370523")
    assert not within("330903", "310000")  # 舟山市普陀区 is not in 上海


# --- resolve (filter values) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("山东省", "370000"),
        ("山东", "370000"),
        ("东营市", "370500"),
        ("广饶县", "370523"),
        ("东营市广饶县", "370523"),
        ("山东省广饶县", "370523"),
        ("江苏省宿迁市宿豫区", "321311"),
        ("宿迁市宿豫区", "321311"),
        ("宿豫", "321311"),
        ("上海市普陀区", "310107"),
        ("浙江省舟山市普陀区", "330903"),
        ("舟山普陀", "330903"),
        ("广西壮族自治区", "450000"),
        ("广西", "450000"),
        ("内蒙古", "150000"),
        ("恩施州", "422800"),
        ("恩施土家族苗族自治州", "422800"),
        ("吉林", "220000"),  # the province over its namesake city
        ("吉林市", "220200"),
        ("321311", "321311"),
        (" 荔湾区 ", "440103"),
    ],
)
def test_resolve(text, code):
    r = resolve(text)
    assert r is not None and r.code == code


def test_resolve_same_region_for_short_and_full_province():
    assert resolve("山东") == resolve("山东省") == lookup("370000")


def test_ambiguous_bare_name_resolves_to_none_but_lists_candidates():
    assert resolve("普陀区") is None
    assert {r.code for r in resolve_all("普陀区")} == {"310107", "330903"}
    assert len(resolve_all("朝阳区")) >= 2


@pytest.mark.parametrize("text", ["", "网格化管理", "桃花镇", "上海市广饶县", "999999"])
def test_resolve_unknown(text):
    assert resolve(text) is None
    assert resolve_all(text) == ()


# --- find_regions ---------------------------------------------------------------------


def test_find_full_forms_in_real_text():
    assert names(find_regions("宿豫区自觉将改革信念和创新思维贯穿于推进基层社会治理服务的全过程")) == [
        "江苏省宿迁市宿豫区"
    ]
    assert names(find_regions("社区“微治理”体系创新研究——以福建省三明市梅列区为例")) == ["福建省三明市梅列区"]
    assert names(find_regions("这是舟山市推出的又一项举措")) == ["浙江省舟山市"]
    assert names(find_regions("广东省广州市荔湾区逢源街道")) == ["广东省广州市荔湾区"]


def test_most_specific_kept_ancestors_dropped():
    assert names(find_regions("近年来,山东省广饶县以县域、镇域、村域为主战场")) == ["山东省东营市广饶县"]
    assert names(find_regions("舟山市还建立了社区网格。舟山在普陀区桃花镇塔湾社区")) == ["浙江省舟山市普陀区"]


def test_order_of_first_mention_without_repeats():
    text = "宁波市与杭州市开展合作，宁波市的经验值得推广"
    assert names(find_regions(text)) == ["浙江省宁波市", "浙江省杭州市"]


def test_ambiguous_district_resolved_by_the_text():
    assert names(find_regions("舟山市……普陀区展茅街道")) == ["浙江省舟山市普陀区"]
    assert names(find_regions("上海市普陀区")) == ["上海市普陀区"]


def test_ambiguous_district_alone_is_dropped_or_resolved_by_context():
    assert find_regions("普陀区展茅街道开展网格化管理") == ()
    assert names(find_regions("普陀区", context=(lookup("330900"),))) == ["浙江省舟山市普陀区"]
    assert names(find_regions("普陀区", context=(lookup("310000"),))) == ["上海市普陀区"]
    # The text outweighs the context.
    assert names(find_regions("上海市普陀区", context=(lookup("330900"),))) == ["上海市普陀区"]


def test_county_short_form_needs_its_full_form_or_parent():
    assert find_regions("初步形成了具有宿豫特色、实用有效的服务新模式") == ()
    text = "宿豫区就创新基层治理进行积极探索，初步形成了具有宿豫特色的服务新模式"
    assert names(find_regions(text)) == ["江苏省宿迁市宿豫区"]
    assert names(find_regions("依托“智慧广饶”建设", context=(lookup("370500"),))) == ["山东省东营市广饶县"]
    assert names(find_regions("创新社区“微治理”体系是加强三明梅列所辖社区建设发展的必然要求")) == ["福建省三明市梅列区"]


def test_no_places_in_governance_prose():
    text = (
        "基层社会治理是国家治理的重要基础，加快基层社会治理体系和治理能力现代化建设，"
        "推进网格化管理，发挥新乡贤作用，助力乡村振兴，实现长治久安。绿水青山就是金山银山。"
        "由公安机关依法给予处罚；街道办事处、镇人民政府应当会同县（市、区）住房和城乡建设部门。"
        "确保定期开展安全检查，将符合条件的机构纳入医保定点范围，推广安全知识。"
        "中华人民共和国村民委员会组织法规定，乡、民族乡、镇的人民政府和县级人民政府指导工作。"
    )
    assert find_regions(text) == ()


@pytest.mark.parametrize(
    "text", ["我省城市基层治理领域还存在不足", "全市统一设立三级网格", "省委十一届六次全会", "本市行政区域内"]
)
def test_deictic_references_are_not_places(text):
    assert find_regions(text) == ()


def test_streets_and_roads_named_after_places():
    assert find_regions("中山路与北京路交叉口") == ()
    assert names(find_regions("越秀区北京街道调剂700平方米")) == ["广东省广州市越秀区"]
    assert names(find_regions("北京市场监管部门")) == ["北京市"]  # 北京市场 is 北京 + 市场


def test_short_form_right_after_an_unrelated_place_is_not_a_name():
    assert names(find_regions("舟山市葫芦岛社区")) == ["浙江省舟山市"]


def test_autonomous_region_and_prefecture_forms():
    found = names(find_regions("恩施州、湘西州和广西壮族自治区、内蒙古自治区的经验"))
    assert found == ["湖北省恩施土家族苗族自治州", "湖南省湘西土家族苗族自治州", "广西壮族自治区", "内蒙古自治区"]


def test_short_province_and_city_forms():
    assert names(find_regions("赴山东调研")) == ["山东省"]
    assert names(find_regions("深圳经济特区矛盾纠纷多元化解条例")) == ["广东省深圳市"]
    assert names(find_regions("吉林长春的做法")) == ["吉林省长春市"]


def test_two_character_full_form_needs_support():
    assert find_regions("省、市和县三级联动") == ()
    assert names(find_regions("安徽省马鞍山市和县")) == ["安徽省马鞍山市和县"]


def test_many_passages_quickly():
    base = [
        "近年来,山东省广饶县以县域、镇域、村域为主战场,探索出了一套务实管用的基层社会治理模式。",
        "基层社会治理是国家治理的重要基础,加快基层社会治理体系和治理能力现代化建设。",
        "舟山市推出“网格化管理、组团式服务”,普陀区展茅街道建立了社区网格。",
    ]
    passages = [(p * 6)[:300] for p in base] * 700
    start = time.perf_counter()
    results = [find_regions(p) for p in passages]
    elapsed = time.perf_counter() - start
    assert names(results[0]) == ["山东省东营市广饶县"]
    assert results[1] == ()
    assert names(results[2]) == ["浙江省舟山市普陀区"]
    assert elapsed < 30  # functional guard only; ~20k passages/s on a small machine


def test_gazetteer_is_built_once():
    assert regions._gazetteer() is regions._gazetteer()


def test_every_full_name_resolves_back_to_its_region():
    # Passage and document records store Region.name; filters and the index resolve it again.
    for region in regions._gazetteer().regions.values():
        assert resolve(region.name) == region


# ---------------------------------------------------------------- old and current tables


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("济南市莱芜区推行网格化管理", "山东省济南市莱芜区"),  # created 2019
        ("杭州市临平区", "浙江省杭州市临平区"),  # created 2021
        ("深圳市光明区", "广东省深圳市光明区"),
        ("深圳市龙华区", "广东省深圳市龙华区"),  # not 海口市龙华区
        ("海口市龙华区", "海南省海口市龙华区"),
        ("青岛市即墨市", "山东省青岛市即墨区"),  # recoded 2017: one division, the current name
        ("青岛市即墨区", "山东省青岛市即墨区"),
        ("邢台市桥东区", "河北省邢台市襄都区"),  # renamed under the same code
        ("河北省定州市", "河北省保定市定州市"),
        ("三明市梅列区", "福建省三明市梅列区"),  # abolished 2021, still named by older documents
    ],
)
def test_divisions_from_both_tables(text, expected):
    assert names(find_regions(text)) == [expected]


def test_abolished_prefecture_still_resolves():
    assert resolve("莱芜市").code == "371200"
    assert resolve("山东省莱芜市").name == "山东省莱芜市"


def test_merged_tables_on_a_hand_example():
    old = {"370282": "即墨市", "371200": "莱芜市", "130502": "桥东区", "350402": "梅列区", "130702": "桥东区"}
    current = {"370215": "即墨区", "370116": "莱芜区", "130502": "襄都区", "130702": "桥东区", "130704": "桥东区"}
    names_, aliases = regions.merged_tables(old, current, lambda name, level: name[:2])  # 即墨市 → 即墨
    assert names_["370215"] == "即墨区" and "370282" not in names_  # recoded: merged
    assert aliases["370215"] == ["即墨市"]
    assert names_["371200"] == "莱芜市"  # a prefecture is not merged into a county
    assert names_["130502"] == "襄都区" and aliases["130502"] == ["桥东区"]  # renamed
    assert names_["350402"] == "梅列区"  # abolished, kept
    assert "130702" not in aliases  # unchanged


# --- subjects only: comparisons, institutions, cited titles; towns ------------------------


def test_places_named_as_models_to_learn_from_are_not_subjects():
    assert names(find_regions("广州市借鉴香港、新加坡等地经验,整合街道机构")) == ["广东省广州市"]
    assert names(find_regions("宿豫区学习浙江省的先进经验")) == ["江苏省宿迁市宿豫区"]
    assert names(find_regions("借鉴香港经验", subjects_only=False)) == ["香港特别行政区"]


def test_places_inside_institution_names_are_not_subjects():
    assert names(find_regions("宁波大学MPA中心主任认为")) == []
    assert names(find_regions("四川省社会科学院副院长、四川日报记者")) == []
    assert names(find_regions("浙江省大学生村官")) == ["浙江省"]  # 大学生 is no institution
    assert names(find_regions("宁波大学", subjects_only=False)) == ["浙江省宁波市"]


def test_places_inside_cited_titles_are_not_subjects():
    text = "根据《山东省物业管理条例》等法律、法规,结合本市实际"
    assert names(find_regions(text)) == []
    assert names(find_regions(text, subjects_only=False)) == ["山东省"]


def test_town_regions_from_county_town_chains():
    from kb.regions import town_regions

    found = town_regions("舟山在普陀区桃花镇、勾山街道等地试点,普陀区展茅街道松山村;广饶县统筹城乡")
    assert {k: v.name for k, v in found.items()} == {"桃花镇": "浙江省舟山市普陀区", "展茅街道": "浙江省舟山市普陀区"}
