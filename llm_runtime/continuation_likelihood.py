"""How likely a model finds one continuation after each of several contexts: log p(continuation |
context), averaged over the continuation's tokens.

The contexts are decoded together in one llama.cpp batch, one sequence each, on a scoring context
of its own over the loaded model's weights (the generation context and its cached prompt are left
alone). Only the positions that predict a continuation token ask for logits: with Gemma 3's
262,144-token vocabulary the output layer is most of the model, so the cost is the contexts'
tokens through the transformer plus one output row per continuation token.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

# One decode holds at most this many sequences and output rows: an output row is a vocabulary's
# worth of floats (1 MiB for Gemma 3), so the rows, not the tokens, bound the memory of a call.
MAX_SEQUENCES = 32
MAX_OUTPUT_ROWS = 160
# A context longer than this is cut from its start: what it ends with sits next to the continuation.
MAX_CONTEXT_TOKENS = 192
# Pairs asked again (a unit after the same fixed context, whatever the question) are answered from
# memory: up to this many of them.
CACHED_PAIRS = 8192


class ContinuationScorer:
    """Scores continuations with a loaded ``llama_cpp.Llama`` (its weights are shared, not copied)."""

    def __init__(self, llm: Any, *, n_ctx: int = 4096, n_threads: int | None = None) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self._llm = llm
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = n_ctx
        params.n_ubatch = min(512, n_ctx)
        params.n_seq_max = MAX_SEQUENCES
        # One cache for all sequences: each may take what it needs of n_ctx.
        params.kv_unified = True
        threads = n_threads or llm.context_params.n_threads
        params.n_threads = threads
        params.n_threads_batch = threads
        self._context = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self._batch = llama_cpp.llama_batch_init(n_ctx, 0, MAX_SEQUENCES)
        self._n_ctx = n_ctx
        self._n_vocab = llm.n_vocab()
        self._lock = threading.Lock()
        self._known: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()

    def close(self) -> None:
        import llama_cpp

        with self._lock:
            if self._batch is not None:
                llama_cpp.llama_batch_free(self._batch)
                self._batch = None
            self._context.close()

    def tokens(self, text: str, *, bos: bool) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=bos, special=False))

    def log_likelihoods(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[float, int]]:
        """For each (context, continuation), the summed log-probability of the continuation's tokens
        after the context, and how many tokens it has."""
        with self._lock:
            known = {pair: self._known[pair] for pair in pairs if pair in self._known}
        fresh = [pair for pair in dict.fromkeys(pairs) if pair not in known]
        if fresh:
            values = self._score(fresh)
            with self._lock:
                for pair, value in zip(fresh, values, strict=True):
                    known[pair] = self._known[pair] = value
                while len(self._known) > CACHED_PAIRS:
                    self._known.popitem(last=False)
        return [known[pair] for pair in pairs]

    def _score(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[float, int]]:
        sequences: list[tuple[list[int], int]] = []  # tokens, how many of them are the continuation's
        for context, continuation in pairs:
            target = self.tokens(continuation, bos=False)[:MAX_OUTPUT_ROWS]
            tokens = self.tokens(context, bos=True)
            if len(tokens) > MAX_CONTEXT_TOKENS:
                tokens = tokens[:1] + tokens[-(MAX_CONTEXT_TOKENS - 1) :]
            sequences.append((tokens + target, len(target)))
        totals = [0.0 for _ in pairs]
        with self._lock:
            group: list[int] = []
            for index, (tokens, rows) in enumerate(sequences):
                if group and (
                    len(group) == MAX_SEQUENCES
                    or sum(sequences[i][1] for i in group) + rows > MAX_OUTPUT_ROWS
                    or sum(len(sequences[i][0]) for i in group) + len(tokens) > self._n_ctx
                ):
                    self._decode(group, sequences, totals)
                    group = []
                if rows:
                    group.append(index)
            if group:
                self._decode(group, sequences, totals)
        return [(total, rows) for total, (_, rows) in zip(totals, sequences, strict=True)]

    def _decode(self, group: list[int], sequences: list[tuple[list[int], int]], totals: list[float]) -> None:
        import llama_cpp

        batch = self._batch
        rows: list[tuple[int, int, int]] = []  # (context index, batch position, token it predicts)
        n = 0
        for seq, index in enumerate(group):
            tokens, n_target = sequences[index]
            first = len(tokens) - n_target - 1  # the position that predicts the first continuation token
            for position, token in enumerate(tokens):
                batch.token[n] = token
                batch.pos[n] = position
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq
                wanted = first <= position < len(tokens) - 1
                batch.logits[n] = wanted
                if wanted:
                    rows.append((index, n, tokens[position + 1]))
                n += 1
        batch.n_tokens = n
        llama_cpp.llama_memory_clear(self._context.memory, True)
        code = llama_cpp.llama_decode(self._context.ctx, batch)
        if code != 0:
            raise RuntimeError(f"llama_decode returned {code} scoring {len(group)} contexts")
        for index, position, token in rows:
            logits = np.ctypeslib.as_array(
                llama_cpp.llama_get_logits_ith(self._context.ctx, position), shape=(self._n_vocab,)
            )
            peak = float(logits.max())
            totals[index] += float(logits[token]) - peak - float(np.log(np.exp(logits - peak).sum()))
        llama_cpp.llama_memory_clear(self._context.memory, True)
