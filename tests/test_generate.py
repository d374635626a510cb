"""kb.answer.generate: the OpenAI-compatible client against a real loopback HTTP server, and the sentence checks.

The server speaks chat completions, plain and streamed (server-sent events). Each test
queues how it should behave; a good reply is built from the passages the request numbers,
as a model that follows the prompt would.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import answering

from kb.answer import generate
from kb.answer.generate import Check, checked, pair_overlap, parse
from kb.api import KnowledgeBase
from kb.embed import FakeEmbedder
from kb.settings import Settings
from kb.types import Document, Hit, Passage

QUESTION = "调解协议达成后一方不履行怎么办"


def first_sentence(passage: str) -> str:
    body = re.sub(r"^第[一二三四五六七八九十百]+条\s*", "", passage.strip())
    return re.split(r"(?<=[。；])", body)[0]


class Behaviour:
    """What the fake endpoint does with the next request; requests are recorded."""

    def __init__(self) -> None:
        self.mode = "good"
        self.requests: list[dict] = []

    def reply(self, body: dict) -> tuple[int, str | list[str]]:
        user = body["messages"][-1]["content"]
        passages = re.findall(r"^\[(\d+)\] .*\n(.+)$", user, re.M)
        one = first_sentence(passages[0][1]) if passages else ""
        content = {
            "good": f"{one}[1]",
            "cite9": f"{one}[9]",
            "uncited": f"{one}[1]此外，各地普遍给予每人每月五千元补贴。",
            "refusal": "抱歉，资料中没有相关内容。",
            "empty": "",
        }.get(self.mode)
        if self.mode == "http500":
            return 500, "internal error"
        if self.mode == "malformed":
            return 200, "{not json"
        if self.mode == "stream_malformed":
            return 200, ["data: {broken", "data: [DONE]"]
        if body.get("stream"):
            pieces = [content[i : i + 7] for i in range(0, len(content), 7)]
            chunks = [json.dumps({"choices": [{"delta": {"content": p}}]}, ensure_ascii=False) for p in pieces]
            return 200, [f"data: {c}" for c in chunks] + ["data: [DONE]"]
        return 200, json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": content}}]}, ensure_ascii=False
        )


class QuietServer(ThreadingHTTPServer):
    """A client that timed out has hung up before the reply: that broken pipe is expected.

    (The stdlib would print its traceback to stderr later, into whichever test is running.)"""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def endpoint():
    behaviour = Behaviour()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            behaviour.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
            if behaviour.mode == "timeout":
                time.sleep(1.5)
            status, payload = behaviour.reply(body)
            self.send_response(status)
            if isinstance(payload, list):
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for line in payload:
                    self.wfile.write(f"{line}\n\n".encode())
                    self.wfile.flush()
                return
            data = payload.encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], behaviour
    server.shutdown()
    server.server_close()


@pytest.fixture
def kb(endpoint, built_index):
    port, behaviour = endpoint
    behaviour.mode, behaviour.requests[:] = "good", []
    settings = answering(built_index.settings).replace(
        llm_base_url=f"http://127.0.0.1:{port}/v1", llm_model="test-model", llm_api_key="sk-secret", llm_timeout=0.5
    )
    with KnowledgeBase(settings=settings, embedder=built_index.embedder) as opened:
        yield opened, behaviour


def test_a_good_reply_is_a_generated_answer_whose_sentences_are_checked(kb):
    base, behaviour = kb
    a = base.ask(QUESTION)
    assert a.method == "generated" and a.found and a.notice is None
    assert a.sentences and all(s.supported for s in a.sentences)
    assert a.sentences[0].citations == (1,) and a.citations
    assert a.sentences[0].text in a.citations[0].passage.text
    sent = behaviour.requests[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer sk-secret"
    assert sent["body"]["model"] == "test-model" and sent["body"]["stream"] is False
    assert "[1]" in sent["body"]["messages"][-1]["content"] and QUESTION in sent["body"]["messages"][-1]["content"]


def test_streaming_passes_pieces_as_they_come(kb):
    base, behaviour = kb
    pieces: list[str] = []
    a = base.ask(QUESTION, on_token=pieces.append)
    assert behaviour.requests[-1]["body"]["stream"] is True
    assert len(pieces) > 1 and a.method == "generated"
    assert "".join(pieces).replace("[1]", "") == a.sentences[0].text


def test_a_citation_to_a_passage_not_given_is_unsupported(kb):
    base, behaviour = kb
    behaviour.mode = "cite9"
    a = base.ask(QUESTION)
    # the only sentence fails, so the checked extractive answer stands in, saying why
    assert a.method == "extractive" and "核实" in a.notice
    assert all(s.supported for s in a.sentences)


def test_an_uncited_sentence_is_marked_unsupported_never_shown_as_supported(kb):
    base, behaviour = kb
    behaviour.mode = "uncited"
    a = base.ask(QUESTION)
    assert a.method == "generated"
    supported = [s for s in a.sentences if s.supported]
    flagged = [s for s in a.sentences if not s.supported]
    assert supported and flagged and "五千元" in flagged[0].text and not flagged[0].citations
    assert "〔未核实〕" in a.text and "未核实" in a.notice


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("http500", "HTTP 500"),
        ("timeout", "超时"),
        ("malformed", "格式"),
        ("empty", "空"),
        ("refusal", "资料不足"),
    ],
)
def test_every_failure_falls_back_to_the_extractive_answer_with_a_notice(kb, mode, says):
    base, behaviour = kb
    behaviour.mode = mode
    a = base.ask(QUESTION)
    assert a.method == "extractive" and a.found and a.sentences
    assert says in a.notice and "摘录" in a.notice


def test_a_malformed_stream_falls_back_too(kb):
    base, behaviour = kb
    behaviour.mode = "stream_malformed"
    a = base.ask(QUESTION, on_token=lambda _p: None)
    assert a.method == "extractive" and "格式" in a.notice


def test_an_unreachable_endpoint_falls_back(built_index):
    settings = answering(built_index.settings).replace(
        llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_timeout=0.5
    )
    with KnowledgeBase(settings=settings, embedder=built_index.embedder) as base:
        a = base.ask(QUESTION)
    assert a.method == "extractive" and "无法连接" in a.notice


def test_generate_false_never_calls_the_endpoint(kb):
    base, behaviour = kb
    a = base.ask(QUESTION, generate=False)
    assert a.method == "extractive" and not behaviour.requests


def test_the_api_key_never_reaches_settings_output_or_the_manifest(built_index):
    settings = built_index.settings.replace(llm_api_key="sk-secret")
    assert "llm_api_key" not in settings.as_dict()
    manifest = (built_index.index_dir / "manifest.json").read_text(encoding="utf-8")
    assert "llm_api_key" not in manifest


# ---------------------------------------------------------------- pure parts


def test_parse_takes_marks_before_or_after_the_full_stop():
    got = parse("广饶县建立了942个网格[1]。舟山市以百户为单元。[2][3]\n没有引用的一句。")
    assert got == [("广饶县建立了942个网格。", (1,)), ("舟山市以百户为单元。", (2, 3)), ("没有引用的一句。", ())]


def test_checked_renumbers_by_first_use_and_flags_bad_citations():
    texts = ["广饶县建立942个网格，每格配备专职网格员。", "舟山市以100至150户为单元划分网格。", "三明市推行三长制。"]
    hits = [
        Hit(Passage(f"p{i}", "d", i, t, ("d",)), Document("d", "d.txt", "d"), 1.0, i + 1) for i, t in enumerate(texts)
    ]
    parsed = [("舟山市以100至150户为单元划分网格。", (2,)), ("广饶县建立942个网格。", (1,)), ("另有说法。", (7,))]
    sentences, cited = checked(parsed, hits, FakeEmbedder().embed_sentences, Check())
    assert [s.citations for s in sentences] == [(1,), (2,), ()]
    assert [s.supported for s in sentences] == [True, True, False]
    assert [h.passage.passage_id for h in cited] == ["p1", "p0"]


def test_pair_overlap():
    assert pair_overlap("网格员", "专职网格员队伍") == 1.0
    assert pair_overlap("五千元补贴", "专职网格员队伍") == 0.0


def test_a_figure_the_cited_passage_does_not_hold_is_unsupported():
    from kb.answer.generate import supported

    source = "选聘专职人民调解员181名，多数矛盾纠纷在村（社区）层面得到化解。"
    never = lambda texts: pytest.fail("a changed figure needs no embedding")  # noqa: E731
    assert supported("选聘专职人民调解员181名。", [source], never, Check())
    assert not supported("选聘专职人民调解员281名。", [source], never, Check())
    assert supported("选聘专职人民调解员１８１名。", [source], never, Check())  # full-width digits fold


def test_settings_require_a_model_name_and_an_http_url():
    from kb.errors import ConfigError

    with pytest.raises(ConfigError, match="KB_LLM_MODEL"):
        Settings(model="fake").replace(llm_base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ConfigError, match="http"):
        Settings(model="fake").replace(llm_base_url="127.0.0.1:1", llm_model="m")


def test_the_prompt_numbers_passages_and_demands_citations():
    hits = [Hit(Passage("p", "d", 0, "正文", ("标题", "一、做法")), Document("d", "d.txt", "标题"), 1.0, 1)]
    msgs = generate.messages("问题？", hits, across=True)
    assert "[1] 标题 > 一、做法" in msgs[1]["content"] and "正文" in msgs[1]["content"]
    assert "[1]" in msgs[0]["content"] and "按地区分段" in msgs[0]["content"]
