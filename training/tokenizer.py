"""Learn a small CLIP-format BPE tokenizer (vocab.json + merges.txt) from captions.

Classic BPE (Sennrich et al.) over the captions' words, with CLIP's ``</w>`` end-of-word marker and
CLIP's byte-level alphabet in the vocabulary, so any word outside the moodboard vocabulary still
tokenizes (into pieces the model learned little about) instead of failing. Words are split exactly as
the CLIP tokenizer splits them at run time (NFC, lower case, letters of any script, then UTF-8 bytes
as CLIP's byte alphabet), so "cálido" and "otoño" are learned as the single tokens they are served as.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tokenizers import Regex, normalizers, pre_tokenizers

from aura_reflect.testing import bytes_to_unicode

SPECIALS = ["<|startoftext|>", "<|endoftext|>"]
# CLIP's own normalizer and pre-tokenizer (as transformers' CLIPTokenizer builds them).
NORMALIZER = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
PRE_TOKENIZER = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""),
                         behavior="removed", invert=True),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
])


def words_of(text: str) -> list[str]:
    """The pre-tokens of ``text`` in CLIP's byte alphabet, as the served tokenizer splits them."""
    return [word for word, _ in PRE_TOKENIZER.pre_tokenize_str(NORMALIZER.normalize_str(text))]


def learn_merges(captions: list[str]) -> list[tuple[str, str]]:
    """Merge the most frequent adjacent pair until every word is one token."""
    words = Counter(word for text in set(captions) for word in words_of(text))
    # Each word as a tuple of symbols, the last one carrying </w>.
    segmented = {word: tuple(word[:-1]) + (word[-1] + "</w>",) for word in words}
    merges: list[tuple[str, str]] = []
    while True:
        pairs: Counter = Counter()
        for word, symbols in segmented.items():
            for a, b in zip(symbols, symbols[1:]):
                pairs[(a, b)] += words[word]
        if not pairs:
            return merges
        # Most frequent first; ties broken by the pair itself so the result is deterministic.
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merges.append(best)
        joined = best[0] + best[1]
        for word, symbols in segmented.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            segmented[word] = tuple(out)


def save_tokenizer(folder: Path, captions: list[str], model_max_length: int) -> int:
    """Write the tokenizer files; returns the vocabulary size."""
    folder.mkdir(parents=True, exist_ok=True)
    merges = learn_merges(captions)
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars]
    seen = set(tokens)
    for a, b in merges:
        if a + b not in seen:
            tokens.append(a + b)
            seen.add(a + b)
    tokens += SPECIALS
    vocab = {token: i for i, token in enumerate(tokens)}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in merges]
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "CLIPTokenizer",
                "model_max_length": model_max_length,
                "bos_token": SPECIALS[0],
                "eos_token": SPECIALS[1],
                "unk_token": SPECIALS[1],
                "pad_token": SPECIALS[1],
                "do_lower_case": True,
            }
        ),
        encoding="utf-8",
    )
    return len(vocab)
