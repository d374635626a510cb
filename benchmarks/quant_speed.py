"""Passage embedding speed and fidelity: torch fp32 (what ingest uses) vs ONNX Runtime fp32/int8 and torch bf16.

int8 is ONNX Runtime's dynamic quantisation, per channel, of the prepared query-encoder graph
(word embeddings stay fp32 in the memory-mapped table). bf16 is torch's CPU autocast
(oneDNN uses AMX/AVX-512 bf16 where the CPU has them). Reports passages/s of each, all in
the same run, and the cosine of each ONNX vector with torch's (issue 13's bar for shipping:
mean ≥ 0.99, min ≥ 0.97, and ≥ 2× torch's passages/s).

    PYTHONPATH=$PWD python benchmarks/quant_speed.py [--passages 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def passages(n: int) -> list[str]:
    """Real passage texts: the seed documents cut into ~300-character pieces."""
    out: list[str] = []
    for path in sorted((ROOT.parent / "shared" / "seeds").glob("*.txt")):
        text = path.read_text(encoding="utf-8").replace("\n", "")
        out += [text[i : i + 300] for i in range(0, len(text) - 300, 300)]
    return ["passage: " + t for t in out[:n]]


def rate(fn, texts: list[str], batch: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    vecs = np.concatenate([fn(texts[i : i + batch]) for i in range(0, len(texts), batch)])
    return vecs, len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from kb import embed_onnx
    from kb.embed import load_embedder
    from kb.settings import Settings

    settings = Settings(embed_precision="fp32")  # the reference; bf16 is measured separately below
    full = load_embedder(settings)
    target = embed_onnx.prepare(full.model, full.name, settings.cache_dir, None, full.model.max_seq_length, print)
    fp32 = embed_onnx._open(target, full.model.max_seq_length)
    texts = passages(args.passages)
    with tempfile.TemporaryDirectory() as tmp:
        q8 = Path(tmp) / "encoder-int8.onnx"
        quantize_dynamic(str(target / "encoder.onnx"), str(q8), per_channel=True, weight_type=QuantType.QInt8)
        options = ort.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(q8), options, providers=["CPUExecutionProvider"])
        int8 = embed_onnx.OnnxQueryEncoder(session, fp32.tokenize, fp32.words)
        from kb.embed import SentenceTransformerEmbedder

        bf16 = SentenceTransformerEmbedder(full.model, full.name, Settings(embed_precision="bf16")).encode_raw
        backends = {
            "torch fp32": full.encode_raw,
            "ORT fp32": fp32,
            "ORT int8 dyn/ch": int8,
            "torch bf16 autocast": bf16,
        }
        for fn in backends.values():
            rate(fn, texts[:8], args.batch)  # warm-up (oneDNN and ORT pick their kernels)
        vecs: dict[str, np.ndarray] = {}
        rates: dict[str, list[float]] = {name: [] for name in backends}
        for _ in range(args.rounds):  # interleaved, so a busy moment hits every backend alike
            for name, fn in backends.items():
                vecs[name], r = rate(fn, texts, args.batch)
                rates[name].append(r)
    print(f"{len(texts)} passages, batch {args.batch}, median of {args.rounds} interleaved rounds")
    print(f"{'backend':<22} {'passages/s':>10} {'× torch':>8} {'cos mean':>9} {'cos min':>8}")
    ref, base = vecs["torch fp32"], float(np.median(rates["torch fp32"]))
    for name in backends:
        r = float(np.median(rates[name]))
        cos = np.sum(vecs[name] * ref, axis=1)
        print(f"{name:<22} {r:>10.1f} {r / base:>8.2f} {cos.mean():>9.4f} {cos.min():>8.4f}")


if __name__ == "__main__":
    main()
