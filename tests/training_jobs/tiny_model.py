"""A tiny random Gemma 3 GGUF built inside the tests: the default model's tokenizer (cut to its
first 4096 tokens) and two small layers, so the real pipeline runs in seconds on a CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np

VOCAB = 4096


def build_tiny_gemma3(
    source: Path,
    target: Path,
    *,
    hidden: int = 64,
    blocks: int = 2,
    heads: int = 2,
    kv_heads: int = 1,
    head_dim: int = 32,
    ff: int = 128,
    seed: int = 0,
) -> Path:
    import gguf
    from gguf import GGUFValueType

    reader = gguf.GGUFReader(str(source))
    writer = gguf.GGUFWriter(str(target), "gemma3")
    overrides = {
        "gemma3.embedding_length": hidden,
        "gemma3.block_count": blocks,
        "gemma3.feed_forward_length": ff,
        "gemma3.attention.head_count": heads,
        "gemma3.attention.head_count_kv": kv_heads,
        "gemma3.attention.key_length": head_dim,
        "gemma3.attention.value_length": head_dim,
        "gemma3.context_length": 1024,
        "general.name": "tiny gemma3 for tests",
        "general.file_type": 0,
    }
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = overrides.get(key, field.contents())
        if key in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
            value = value[:VOCAB]
        if field.types[0] == GGUFValueType.ARRAY:
            writer.add_key_value(key, value, GGUFValueType.ARRAY, sub_type=field.types[-1])
        else:
            writer.add_key_value(key, value, field.types[0])
    rng = np.random.default_rng(seed)

    def random(name: str, shape: tuple[int, ...]) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.05).astype(np.float32))

    random("token_embd.weight", (VOCAB, hidden))
    writer.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    for block in range(blocks):
        p = f"blk.{block}."
        random(p + "attn_q.weight", (heads * head_dim, hidden))
        random(p + "attn_k.weight", (kv_heads * head_dim, hidden))
        random(p + "attn_v.weight", (kv_heads * head_dim, hidden))
        random(p + "attn_output.weight", (hidden, heads * head_dim))
        random(p + "ffn_gate.weight", (ff, hidden))
        random(p + "ffn_up.weight", (ff, hidden))
        random(p + "ffn_down.weight", (hidden, ff))
        for norm, size in (
            ("attn_norm", hidden),
            ("ffn_norm", hidden),
            ("post_attention_norm", hidden),
            ("post_ffw_norm", hidden),
            ("attn_q_norm", head_dim),
            ("attn_k_norm", head_dim),
        ):
            writer.add_tensor(p + norm + ".weight", np.ones(size, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target
