"""The answer stage: search hits → an ``Answer`` whose every sentence cites a passage.

``extractive`` (the default, offline) picks verbatim sentences; ``generate`` asks an
OpenAI-compatible endpoint when one is configured and checks what comes back, falling back
to the extractive answer, with a notice, whenever the endpoint fails or says nothing usable.
This package works on ``Hit`` records and callables handed in by the API; it never opens
the index itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from kb.answer import extractive, generate
from kb.answer.extractive import Embed, Limits, Part
from kb.focus import is_cross_region_question
from kb.types import Answer, Hit

NOT_FOUND = "未找到相关内容。"


@dataclass(frozen=True)
class Evidence:
    """What the API hands the answer stage for one question."""

    question: str
    hits: tuple[Hit, ...]
    question_vec: np.ndarray
    terms: dict[str, float]  # the question's words → IDF (unknown words get the highest)
    pairs: dict[str, float]  # the question's character pairs → IDF
    parts: tuple[Part, ...] = ()  # the sub-questions of a question asking several things


@dataclass(frozen=True)
class Abstain:
    """When the best evidence is too weak to answer (calibrated in benchmarks/answer_eval.py)."""

    min_cosine: float = 0.87  # best sentence's e5 similarity with the question…
    min_words: float = 0.55  # …and the best sentence's weighted share of the question's words
    sure_cosine: float = 0.90  # above this the meaning alone is enough


def extractive_answer(
    ev: Evidence, embed: Embed, limits: Limits, abstain: Abstain, across: bool | None = None
) -> Answer:
    """Verbatim sentences of the best hits, grouped by region for questions about several places."""
    across = is_cross_region_question(ev.question) if across is None else across
    cands = extractive.candidates(
        ev.question_vec, ev.hits, ev.terms, ev.pairs, embed, across, parts=ev.parts, question=ev.question
    )
    if not cands or not relevant(cands, abstain):
        return not_found(ev.question, ev.hits)
    if across:
        chosen = extractive.by_region(cands, ev.hits, limits)
    else:
        chosen = extractive.in_source_order(extractive.select(cands, extractive.for_parts(limits, len(ev.parts))))
    text, sentences, cited = extractive.compose(chosen, ev.hits)
    return Answer(ev.question, text, cited, sentences, "extractive", True, None, across)


def relevant(cands: Sequence[extractive.Candidate], abstain: Abstain) -> bool:
    """Whether the best sentences answer the question at all (else: say nothing was found)."""
    cosine = max(c.dense for c in cands)
    words = max(c.words for c in cands)
    return cosine >= abstain.sure_cosine or (cosine >= abstain.min_cosine and words >= abstain.min_words)


def not_found(question: str, hits: Sequence[Hit], reason: str = "") -> Answer:
    """A plain 'nothing found' with the nearest topics the index does have; cites nothing."""
    near = tuple(dict.fromkeys(" > ".join(h.passage.heading_path[:2]) or h.document.title for h in hits[:3]))
    text = NOT_FOUND + (reason or "知识库中没有能回答这个问题的段落。")
    if near:
        text += "最接近的内容：" + "；".join(near) + "。"
    return Answer(question, text, (), (), "extractive", False, None, False, near)


def generated_answer(
    ev: Evidence,
    generator: generate.Generator,
    embed: Embed,
    fallback: Answer,
    check: generate.Check,
    passages: int,
    on_token: generate.OnToken | None = None,
) -> Answer:
    """The endpoint's answer, sentence-checked; the extractive ``fallback`` (with a notice) if it fails."""
    if not fallback.found:
        return fallback
    across = fallback.grouped
    hits = for_prompt(ev, passages)
    try:
        reply = generator.complete(generate.messages(ev.question, hits, across), on_token)
    except generate.GenerationError as exc:
        return _fell_back(fallback, f"{exc}")
    except Exception as exc:  # noqa: BLE001 - a third-party client may raise anything; the user gets the fallback
        return _fell_back(fallback, f"生成服务出错（{type(exc).__name__}: {exc}）")
    parsed = generate.parse(reply)
    if not parsed:
        return _fell_back(fallback, "生成服务返回了空回答")
    if generate.is_refusal(reply, parsed):
        return _fell_back(fallback, "生成模型表示资料不足以回答")
    sentences, cited = generate.checked(parsed, hits, embed, check)
    if not any(s.supported for s in sentences):
        return _fell_back(fallback, "生成的回答没有一句能在所引资料中核实")
    notice = None
    if not all(s.supported for s in sentences):
        notice = "生成的回答中标有〔未核实〕的句子未能在所引资料中核实，请以原文为准。"
    text = extractive.render_text(sentences)
    return Answer(ev.question, text, cited, tuple(sentences), "generated", True, notice, across)


def for_prompt(ev: Evidence, passages: int) -> tuple[Hit, ...]:
    """The best ``passages`` hits, plus each sub-question's best one: every part needs its article."""
    chosen = list(range(min(passages, len(ev.hits))))
    chosen += [p.hits[0] for p in ev.parts if p.hits and p.hits[0] not in chosen]
    return tuple(ev.hits[i] for i in chosen)


def _fell_back(fallback: Answer, why: str) -> Answer:
    return replace(fallback, notice=f"{why}；以下为从原文摘录的回答。")


def answer_to_json(a: Answer, hit_json) -> dict:
    """The JSON object `kb ask --json` prints; ``hit_json`` renders one cited hit."""
    return {
        "question": a.question,
        "text": a.text,
        "method": a.method,
        "found": a.found,
        "grouped": a.grouped,
        "notice": a.notice,
        "sentences": [
            {"text": s.text, "citations": list(s.citations), "supported": s.supported, "group": s.group}
            for s in a.sentences
        ],
        "citations": [hit_json(h) | {"number": n} for n, h in enumerate(a.citations, 1)],
        "suggestions": list(a.suggestions),
    }


__all__ = [
    "Abstain",
    "Evidence",
    "Limits",
    "Part",
    "answer_to_json",
    "is_cross_region_question",
    "extractive_answer",
    "generated_answer",
    "not_found",
]
