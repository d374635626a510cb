"""Remove web chrome and page furniture; set aside reference lists.

Governance texts reach kb copied from news sites, journal portals and WeChat pages, so
the body is wrapped in lines such as ``APP下载``, ``澎湃Logo``, ICP licences and
"猜你喜欢" lists. Those lines would otherwise become passages and pollute search. Matching
runs on an NFKC-normalised copy of each line (full/half width folded); the kept lines
keep their original characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


def normalize(text: str) -> str:
    """Fold full-width forms to half width (（一）→(一), ：→:) for matching only."""
    return unicodedata.normalize("NFKC", text)


# Zero-width and other invisible format characters (U+200B… from web/markdown sources):
# they are not text, survive str.strip(), and would otherwise make "empty" passages.
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
# Furniture lines are short; longer lines are body text and are never matched whole
# (normalising a multi-megabyte line for every pattern is also what made big files slow).
_FURNITURE_MAX = 300


@dataclass(frozen=True)
class Cleaned:
    lines: tuple[str, ...]  # non-empty, stripped body lines in order
    references: tuple[str, ...]  # entries of 参考文献 lists
    breaks: tuple[int, ...]  # indexes in ``lines`` where a new article likely starts (after 参考文献, at 中图分类号…)
    removed: tuple[str, ...]  # what was dropped, for the ingest report and tests


# Whole lines that are page furniture (after normalisation and removing spaces).
_FURNITURE_EXACT = {
    "app下载",
    "pdf下载",
    "下载app",
    "下载客户端",
    "客户端下载",
    "登录",
    "注册",
    "登录注册",
    "字号",
    "收藏",
    "我要举报",
    "举报",
    "分享",
    "分享到",
    "打印",
    "关闭",
    "关闭窗口",
    "返回顶部",
    "反馈",
    "评论",
    "点赞",
    "+1",
    "•+1",
    "·+1",
    "全文下载",
    "pdf",
    "在线阅读",
    "微信",
    "微博",
    "qq空间",
    "扫一扫",
    "返回首页",
    "打印本页",
    "关闭本页",
    "首页",
    "更多",
    "更多>>",
    "【打印】",
    "【关闭】",
    "澎湃logo",
    "大字",
    "小字",
}
_FURNITURE_RES = [
    re.compile(p, re.I)
    for p in (
        r"^(\S{0,12}logo)$",
        r"^扫码下载.*",
        r"^扫描二维码.*",
        r"^(长按|微信)?扫(一扫|码).*",
        r".*icp(备|证)\S*\d+.*",
        r".*公网安备\s*\d+.*",
        r".*(信息服务|经营|出版|视听节目)许可证.*",
        r"^(©|\(c\)|copyright).*",
        r".*版权所有.*",
        r"^责任编辑[:：].*",
        r"^(编辑|校对|审核|编审|来源编辑)[:：]\S{0,12}$",
        r".*报料(热线|邮箱|电话)?[:：].*",
        r".*未经授权不得转载.*",
        r".*(转载请注明|本文为\S{0,8}原创).*",
        r"^(上一篇|下一篇|上一条|下一条)[:：].*",
        r"^(阅读|浏览|阅读量|浏览量|点击)(次数)?[:：]?\s*\d+.*",
        r"^\S{0,10}(号|频道)?\s*>$",  # breadcrumbs such as "澎湃号·政务 >"
        r"^(首页|当前位置)\s*[>›»].*",
        r"^当前位置[:：].*",
        r"^(doi|基金资助|基金项目|文章地址|收稿日期|中图分类号|文献标志码|文献标识码|文章编号)[:：].*",
        r"^中图分类号.*文章编号.*",
    )
]
# Headings that open a list of other articles' titles, dropped with the list.
_LIST_HEADS = re.compile(
    r"^(猜你喜欢|相关阅读|相关文章|推荐阅读|热门推荐|热门文章|延伸阅读|相关推荐|为你推荐|精彩推荐|往期回顾|大家都在看)$"
)
_REF_HEAD = re.compile(r"^(参考文献|参考资料|注释|references)\s*[:：]?$", re.I)
_REF_ITEM = re.compile(
    r"^(\[\d+\]|［\d+］|\(\d+\)|\d+[.、])\s*\S.*(\[[A-Z](/[A-Z]+)?\]|出版社|学报|\d{4}|[JMDNCR]\]).*"
)
_ARTICLE_HEAD = re.compile(r"^(中图分类号|文献标志码|文献标识码|文章编号|doi|收稿日期)", re.I)
_PAGE_JUMP = re.compile(r"[(（](下转|上接|接上|转下)\s*(第)?\s*\d+\s*(页|版)[)）]")


def is_furniture(line: str) -> bool:
    """True for a line that is site chrome rather than text (APP下载, ICP备…, 责任编辑…)."""
    if len(line) > _FURNITURE_MAX:
        return False
    key = normalize(line).replace(" ", "").lower()
    if key in _FURNITURE_EXACT:
        return True
    return any(r.match(key) for r in _FURNITURE_RES)


def clean(text: str) -> Cleaned:
    """Split into stripped non-empty lines, drop furniture, recommendation lists and references."""
    lines = [_PAGE_JUMP.sub("", _INVISIBLE.sub("", ln)).strip() for ln in text.split("\n")]
    kept: list[str] = []
    refs: list[str] = []
    breaks: list[int] = []
    listed = 0
    removed: list[str] = []
    state = "body"  # body | list | refs
    for line in lines:
        if not line:
            if state == "list" and listed:
                state = "body"
            continue
        key = normalize(line[:_FURNITURE_MAX]).strip()
        if _LIST_HEADS.match(key):
            state, listed = "list", 0
            removed.append(line)
            continue
        if _REF_HEAD.match(key):
            state = "refs"
            continue
        if state == "list":
            if _looks_like_listed_title(key):
                listed += 1
                removed.append(line)
                continue
            state = "body"
        if state == "refs":
            if _REF_ITEM.match(key):
                refs.append(line)
                continue
            state = "body"
            breaks.append(len(kept))
        if is_furniture(line):
            if _ARTICLE_HEAD.match(key):
                breaks.append(len(kept))
            removed.append(line)
            continue
        kept.append(line)
    return Cleaned(tuple(kept), tuple(refs), tuple(sorted(set(breaks))), tuple(removed))


def _looks_like_listed_title(key: str) -> bool:
    """A line in a recommendation list: short, no sentence punctuation inside."""
    return len(key) <= 40 and not re.search(r"[。；;]", key[:-1])
