"""Generated answers through an OpenAI-compatible chat-completions endpoint, checked sentence by sentence.

kb ships no chat model; users already run one (llama.cpp server, Ollama, vLLM, a hosted
Qwen/DeepSeek API). ``Generator`` is the one small contract; ``OpenAICompatible`` is its
first implementation (httpx, plain or streamed as server-sent events), and tests use a
queued fake. A generated sentence is shown as supported only when it cites passages that
were given and its text is backed by them (shared character pairs, or e5 similarity with
one of their sentences plus some shared pairs); anything else is marked unsupported.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kb.answer.extractive import Embed, region_group
from kb.answer.sentences import END, split
from kb.errors import KBError
from kb.types import AnswerSentence, Hit

OnToken = Callable[[str], None]

_REFUSAL = re.compile(
    r"资料中没有|资料未提及|没有相关(内容|信息|资料)|无法回答|不能回答|无法根据|抱歉|i cannot|i can't|sorry", re.I
)
_UNIT = re.compile(rf"[^{END}\n]+[{END}]*(?:\s*\[\d+\])*")
_MARK = re.compile(r"\[(\d+)\]")


class GenerationError(KBError):
    """The endpoint failed, timed out, refused or answered with nothing usable."""


class Generator(Protocol):
    """Anything that turns chat messages into text; ``on_token`` receives it as it streams."""

    name: str

    def complete(self, messages: list[dict], on_token: OnToken | None = None) -> str: ...


@dataclass(frozen=True)
class Check:
    """Thresholds a generated sentence must pass against the passages it cites."""

    min_overlap: float = 0.6  # share of the sentence's character pairs found in a cited passage
    min_cosine: float = 0.92  # e5 similarity with one of the cited passage's sentences…
    min_overlap_with_cosine: float = 0.4  # …together with at least this much shared wording


# ---------------------------------------------------------------- the client


class OpenAICompatible:
    """POST {base_url}/chat/completions (base_url includes the /v1 part, as for the openai client)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 60.0,
        max_tokens: int = 800,
        temperature: float = 0.2,
    ):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.name = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.temperature = temperature

    def complete(self, messages: list[dict], on_token: OnToken | None = None) -> str:
        import httpx

        body = {
            "model": self.name,
            "messages": messages,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stream": on_token is not None,
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            with httpx.Client(timeout=self.timeout) as client:
                if on_token is None:
                    reply = client.post(self.url, json=body, headers=headers)
                    _raise_for_status(reply)
                    return _message_text(reply)
                with client.stream("POST", self.url, json=body, headers=headers) as reply:
                    _raise_for_status(reply)
                    return "".join(_streamed(reply.iter_lines(), on_token))
        except httpx.TimeoutException as exc:
            raise GenerationError(f"生成服务超时（{self.timeout:g} 秒）") from exc
        except httpx.HTTPError as exc:
            raise GenerationError(f"无法连接生成服务 {self.url}（{exc}）") from exc


def _raise_for_status(reply) -> None:
    if reply.status_code >= 400:
        reply.read()
        raise GenerationError(f"生成服务返回 HTTP {reply.status_code}：{reply.text[:200]}")


def _message_text(reply) -> str:
    try:
        return str(reply.json()["choices"][0]["message"]["content"] or "")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise GenerationError(f"生成服务的回复格式不对（{exc}）") from exc


def _streamed(lines: Iterator[str], on_token: OnToken) -> Iterator[str]:
    """Content pieces of a server-sent-event stream, passed to ``on_token`` as they come."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            piece = json.loads(data)["choices"][0].get("delta", {}).get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise GenerationError(f"生成服务的流式回复格式不对（{exc}）") from exc
        if piece:
            on_token(piece)
            yield piece


# ---------------------------------------------------------------- prompt


SYSTEM = (
    "你是基层社会治理知识库的助手。只根据用户给出的编号资料回答问题，不使用资料以外的知识。"
    "每句话末尾用方括号标注所依据的资料编号，如[1]或[2][3]，只能引用给出的编号。"
    "资料不足以回答时，直接回答“资料中没有相关内容”。回答简洁，不超过300字。"
)
SYSTEM_REGIONS = "问题涉及多个地方的做法：按地区分段回答，每段以地区名和冒号开头，每个地区一两句话。"


def messages(question: str, hits: Sequence[Hit], across: bool = False) -> list[dict]:
    """The chat messages: numbered passages with their source and region, then the question."""
    blocks = []
    for n, h in enumerate(hits, 1):
        where = region_group(h)
        head = " > ".join(h.passage.heading_path) or h.document.title
        blocks.append(f"[{n}] {head}（{where}）\n{h.passage.text}")
    system = SYSTEM + (SYSTEM_REGIONS if across else "")
    user = "资料：\n\n" + "\n\n".join(blocks) + f"\n\n问题：{question}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# ---------------------------------------------------------------- checking


def parse(reply: str) -> list[tuple[str, tuple[int, ...]]]:
    """(sentence without marks, cited numbers) for each sentence of a reply; marks may follow the 。"""
    out = []
    for unit in _UNIT.findall(reply):
        numbers = tuple(dict.fromkeys(int(n) for n in _MARK.findall(unit)))
        text = _MARK.sub("", unit).strip()
        if any(ch.isalnum() for ch in text):
            out.append((text, numbers))
    return out


def is_refusal(reply: str, parsed: Sequence[tuple[str, tuple[int, ...]]]) -> bool:
    """No sentence cites anything and the reply says it cannot answer."""
    return not any(nums for _, nums in parsed) and bool(_REFUSAL.search(reply))


def _numbers(text: str) -> list[str]:
    """Arabic-digit figures (full-width folded), e.g. 181, 3.5, 2015."""
    return re.findall(r"\d+(?:\.\d+)?", unicodedata.normalize("NFKC", text))


def pair_overlap(sentence: str, passage: str) -> float:
    """Share of the sentence's character pairs that occur in the passage."""
    mine = _pairs(sentence)
    if not mine:
        return 0.0
    theirs = set(_pairs(passage))
    return sum(1 for g in mine if g in theirs) / len(mine)


def _pairs(text: str) -> list[str]:
    chars = [c for c in text if c.isalnum()]
    return [a + b for a, b in zip(chars, chars[1:], strict=False)]


def supported(sentence: str, passages: Sequence[str], embed: Embed, check: Check) -> bool:
    """Whether ``sentence`` is backed by at least one of ``passages`` (see ``Check``).

    A figure the cited passages do not hold makes it unsupported whatever the wording: a
    sentence with one changed number shares nearly all its character pairs with its source.
    """
    given = {n for p in passages for n in _numbers(p)}
    if any(n not in given for n in _numbers(sentence)):
        return False
    best_overlap = max((pair_overlap(sentence, p) for p in passages), default=0.0)
    if best_overlap >= check.min_overlap:
        return True
    if best_overlap < check.min_overlap_with_cosine:
        return False
    parts = [s.text for p in passages for s in split(p)]
    if not parts:
        return False
    vecs = embed([sentence, *parts])
    return float(np.max(vecs[1:] @ vecs[0])) >= check.min_cosine


def checked(
    parsed: Sequence[tuple[str, tuple[int, ...]]], hits: Sequence[Hit], embed: Embed, check: Check
) -> tuple[list[AnswerSentence], tuple[Hit, ...]]:
    """Sentences renumbered by first use, each marked supported or not; the cited hits in that order."""
    number: dict[int, int] = {}
    out: list[AnswerSentence] = []
    for text, cited in parsed:
        valid = [n for n in cited if 1 <= n <= len(hits)]
        ok = bool(valid) and len(valid) == len(cited)
        ok = ok and supported(text, [hits[n - 1].passage.text for n in valid], embed, check)
        marks = tuple(number.setdefault(n, len(number) + 1) for n in valid)
        out.append(AnswerSentence(text, marks, ok, None))
    return out, tuple(hits[n - 1] for n in sorted(number, key=number.get))
