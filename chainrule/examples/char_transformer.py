"""A tiny GPT that learns to write like Python's own help pages, one character at a time.

The corpus is the text of Python's interactive help topics (``help("assignment")``, ``help("for")``, ...), which the
standard library keeps in ``pydoc_data.topics``: about 460,000 characters of English prose and Python code present
on every installation, so nothing is downloaded. (Should a trimmed-down Python lack ``pydoc_data``, the docstrings
of the built-in functions and types stand in.) The last 10% of the text is held out to measure the loss on text
the model never trained on.

The model is a decoder-only transformer written with the Tensor face: token and position embeddings
(``nn.Embedding``), pre-norm blocks of causal self-attention (``nn.functional.scaled_dot_product_attention``
with ``is_causal=True``) and a GELU MLP, each with a residual connection and ``nn.LayerNorm``, then a linear head
over the characters. It trains with ``chainrule.optim.AdamW``, a warm-up and a cosine decay, and gradient-norm
clipping; afterwards it writes a sample, drawing each next character from the softmax of its logits divided by a
temperature.

Run with ``python -m chainrule.examples.char_transformer`` (about a minute on two cores: the held-out loss falls
from 4.5, a uniform guess among 94 characters, to about 1.5 nats per character; the sample then reads like
garbled but recognisable Python documentation); ``--help`` lists the options.

>>> text = "hello world"
>>> vocab = Vocab.from_text(text)
>>> vocab.decode(vocab.encode("hello"))
'hello'
>>> model = GPT(vocab_size=len(vocab), block_size=8, d_model=16, n_head=2, n_layer=1)
>>> model(cr.tensor(vocab.encode("hello")[None])).shape     # (batch, time, vocabulary)
(1, 5, 8)
"""
import argparse
import functools
import math
import os
import time
import unicodedata

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

__all__ = ["load_corpus", "in_corpus", "Vocab", "CausalSelfAttention", "Block", "GPT", "get_batch", "evaluate",
           "train", "generate", "main"]

# Typographic characters of the help texts and their plain-ASCII stand-ins (keeps the vocabulary small).
_ASCII = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "--",
          "\u2026": "...", "\u00b0": " degrees", "\u00df": "ss"}


def _to_ascii(text):
    text = "".join(_ASCII.get(c, c) for c in text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.replace("\t", "    ")


@functools.lru_cache(maxsize=1)
def load_corpus():
    """The training text: every help topic of ``pydoc_data.topics`` in name order, separated by blank lines,
    reduced to printable ASCII and newlines.

    >>> text = load_corpus()
    >>> len(text) > 100_000, text.isascii()
    (True, True)
    """
    try:
        from pydoc_data.topics import topics
        parts = [topics[name] for name in sorted(topics)]
    except ImportError:  # a Python without pydoc_data: fall back on the built-ins' docstrings
        import builtins
        parts = [getattr(builtins, name).__doc__ or "" for name in sorted(dir(builtins)) if not name.startswith("_")]
    return _to_ascii("\n\n".join(p.strip() for p in parts if p.strip())) + "\n"


class Vocab:
    """The characters of a text and the maps between them and integer ids (sorted, so the ids are stable).

    >>> v = Vocab.from_text("banana")
    >>> len(v), v.encode("nab").tolist(), v.decode([2, 0, 1])
    (3, [2, 0, 1], 'nab')
    """

    def __init__(self, chars):
        self.chars = "".join(chars)
        self._ids = {c: i for i, c in enumerate(self.chars)}
        self._table = np.array(list(self.chars))

    @classmethod
    def from_text(cls, text):
        """The vocabulary of the distinct characters of ``text``."""
        return cls(sorted(set(text)))

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        """int64 ids of the characters of ``text``; a character outside the vocabulary raises ``ValueError``."""
        try:
            return np.array([self._ids[c] for c in text], dtype=np.int64)
        except KeyError as e:
            raise ValueError(f"Vocab.encode: character {e.args[0]!r} is not in the vocabulary of "
                             f"{len(self)} characters") from None

    def decode(self, ids):
        """The string spelled by the ids ``ids``."""
        return "".join(self._table[np.asarray(ids, dtype=np.int64)])


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position ``t`` sees only positions ``<= t``.

    One linear layer makes queries, keys and values for all heads at once; the heads run in parallel in
    ``scaled_dot_product_attention(..., is_causal=True)`` and are joined and projected back to ``d_model``.
    """

    def __init__(self, d_model, n_head):
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"CausalSelfAttention: d_model ({d_model}) must be divisible by n_head ({n_head})")
        self.n_head = n_head
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        b, t, c = x.shape
        # (B, T, 3C) -> (3, B, heads, T, head size)
        qkv = self.qkv(x).reshape(b, t, 3, self.n_head, c // self.n_head).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)    # (B, heads, T, head size)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    """A pre-norm transformer block: ``x + attention(norm(x))``, then ``x + mlp(norm(x))``."""

    def __init__(self, d_model, n_head):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_head)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * d_model, d_model))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token + position embeddings, ``n_layer`` :class:`Block` s, a final LayerNorm and a linear head giving
    logits over the vocabulary at every position. Input: int ids ``(B, T)`` with ``T <= block_size``."""

    def __init__(self, vocab_size, block_size=64, d_model=64, n_head=4, n_layer=2):
        super().__init__()
        self.config = {"vocab_size": vocab_size, "block_size": block_size, "d_model": d_model, "n_head": n_head,
                       "n_layer": n_layer}
        self.block_size = block_size
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(block_size, d_model)
        self.blocks = nn.Sequential(*[Block(d_model, n_head) for _ in range(n_layer)])
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        # Small initial weights (GPT-2's N(0, 0.02)) and zero biases, so the first logits are nearly uniform.
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward(self, idx):
        t = idx.shape[1]
        if t > self.block_size:
            raise ValueError(f"GPT: input of length {t} is longer than block_size {self.block_size}")
        x = self.tok(idx) + self.pos(cr.arange(t))
        return self.head(self.ln(self.blocks(x)))


def get_batch(data, batch_size, block_size, rng):
    """``batch_size`` random windows of ``data`` (int ids): inputs ``(B, T)`` and the targets, shifted by one.

    >>> x, y = get_batch(np.arange(100), batch_size=2, block_size=4, rng=np.random.default_rng(0))
    >>> x.shape, bool((y == x + 1).all())
    ((2, 4), True)
    """
    start = rng.integers(0, len(data) - block_size - 1, size=batch_size)
    idx = start[:, None] + np.arange(block_size)
    return data[idx], data[idx + 1]


def _loss(model, x, y):
    logits = model(cr.tensor(x))
    b, t, v = logits.shape
    return F.cross_entropy(logits.reshape(b * t, v), cr.tensor(y.reshape(-1)))


def evaluate(model, data, batch_size, block_size, n_batches=4, seed=1234):
    """Mean loss on ``n_batches`` fixed random batches of ``data`` (the same windows on every call).

    >>> model = GPT(vocab_size=5, block_size=4, d_model=8, n_head=2, n_layer=1)
    >>> round(evaluate(model, np.arange(50) % 5, batch_size=2, block_size=4), 1)    # untrained: about log(5)
    1.6
    """
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    with cr.no_grad():
        losses = [float(_loss(model, *get_batch(data, batch_size, block_size, rng)).item())
                  for _ in range(n_batches)]
    model.train(was_training)
    return float(np.mean(losses))


def train(steps=700, seed=0, batch_size=32, block_size=64, d_model=64, n_head=4, n_layer=2, lr=6e-3,
          eval_every=100, log=print):
    """Train a :class:`GPT` on :func:`load_corpus`; returns ``(model, optimizer, vocab, history)``.

    ``history`` has ``step`` (the steps at which the loss was reported), ``train_loss`` (the mean training loss
    of the steps since the previous report) and ``val_loss`` (the loss on held-out text at that step).
    ``log`` receives one line per report (``None`` prints nothing).
    """
    if steps < 1:
        raise ValueError(f"char_transformer.train: steps must be a positive integer, got {steps}")
    text = load_corpus()
    vocab = Vocab.from_text(text)
    data = vocab.encode(text)
    split = int(0.9 * len(data))
    train_data, val_data = data[:split], data[split:]

    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = GPT(len(vocab), block_size, d_model, n_head, n_layer)
    decay = [p for n, p in model.named_parameters() if p.ndim == 2]         # matrices and embeddings
    no_decay = [p for n, p in model.named_parameters() if p.ndim != 2]      # biases and LayerNorm gains
    optimizer = cr.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                               lr=lr, betas=(0.9, 0.99))
    warmup = max(1, min(50, steps // 10))
    scheduler = cr.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    n_params = sum(p.numel() for p in model.parameters())
    if log is not None:
        log(f"corpus: {len(text):,} characters of Python help topics, {len(vocab)} distinct; "
            f"model: {n_params:,} parameters")

    history = {"step": [], "train_loss": [], "val_loss": []}
    t0, recent = time.perf_counter(), []
    model.train()
    for step in range(1, steps + 1):
        loss = _loss(model, *get_batch(train_data, batch_size, block_size, rng))
        optimizer.zero_grad()
        loss.backward()
        cr.optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        recent.append(float(loss.item()))
        if step == 1 or step % eval_every == 0 or step == steps:
            val = evaluate(model, val_data, batch_size, block_size)
            history["step"].append(step)
            history["train_loss"].append(float(np.mean(recent)))
            history["val_loss"].append(val)
            if log is not None:
                log(f"step {step:5d}/{steps}: train loss {np.mean(recent):.3f}, held-out loss {val:.3f} "
                    f"({time.perf_counter() - t0:.1f} s)")
            recent = []
    return model, optimizer, vocab, history


def generate(model, vocab, prompt="\n", length=300, temperature=0.8, seed=0):
    """``prompt`` followed by ``length`` new characters, each drawn from ``softmax(logits / temperature)``
    given the previous ``block_size`` characters (temperature near 0: the likeliest character every time;
    1: the model's own distribution; above 1: wilder).

    >>> vocab = Vocab("ab")
    >>> text = generate(GPT(len(vocab), block_size=4, d_model=8, n_head=2, n_layer=1), vocab, "ab", length=6)
    >>> len(text), set(text) <= {"a", "b"}
    (8, True)
    """
    if not temperature > 0:
        raise ValueError(f"generate: temperature must be positive, got {temperature}")
    rng = np.random.default_rng(seed)
    ids = list(vocab.encode(prompt)) if prompt else [0]
    start = len(ids) if prompt else 1
    was_training = model.training
    model.eval()
    with cr.no_grad():
        for _ in range(length):
            context = np.array(ids[-model.block_size:], dtype=np.int64)[None]
            logits = np.asarray(model(cr.tensor(context))[0, -1].numpy(), dtype=np.float64) / temperature
            p = np.exp(logits - logits.max())
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    model.train(was_training)
    return (prompt or "") + vocab.decode(ids[start:])


def in_corpus(prompt):
    """Whether every character of ``prompt`` occurs in the corpus (so the model can read it).

    >>> in_corpus("def f(x):"), in_corpus("caf\u00e9")
    (True, False)
    """
    return set(prompt) <= set(load_corpus())


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m chainrule.examples.char_transformer",
        description="Train a small character-level GPT on Python's help texts (pydoc_data) with chainrule.nn, "
                    "then sample from it.")
    p.add_argument("--steps", type=int, default=700, help="training steps (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, batches and sampling "
                                                        "(default: %(default)s)")
    p.add_argument("--out", default=None,
                   help="directory to save a checkpoint (char_gpt.ckpt: the model's and optimizer's state, the "
                        "vocabulary and the configuration) into; no checkpoint unless given")
    p.add_argument("--batch-size", type=int, default=32, help="windows per step (default: %(default)s)")
    p.add_argument("--lr", type=float, default=6e-3, help="AdamW's peak learning rate (default: %(default)s)")
    p.add_argument("--temperature", type=float, default=0.8,
                   help="sampling temperature: lower is safer, higher is wilder (default: %(default)s)")
    p.add_argument("--sample-length", type=int, default=400,
                   help="characters to generate after training (default: %(default)s)")
    p.add_argument("--prompt", default="The ", help="text the sample starts from (default: %(default)r)")
    return p


def main(argv=None):
    """Run the example with command-line arguments ``argv``; returns ``{"history", "sample"}``."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch_size < 1 or args.sample_length < 0 or not args.lr > 0 \
            or not args.temperature > 0:
        parser.error("--steps and --batch-size must be positive, --sample-length non-negative, --lr and "
                     "--temperature positive")
    if not in_corpus(args.prompt):
        parser.error(f"--prompt {args.prompt!r} has characters that are not in the corpus (use plain ASCII)")
    t0 = time.perf_counter()
    model, optimizer, vocab, history = train(args.steps, args.seed, args.batch_size, lr=args.lr)
    print(f"loss: {history['train_loss'][0]:.3f} -> {history['train_loss'][-1]:.3f} (training), "
          f"{history['val_loss'][0]:.3f} -> {history['val_loss'][-1]:.3f} (held out) "
          f"in {time.perf_counter() - t0:.1f} s")
    sample = generate(model, vocab, args.prompt, args.sample_length, args.temperature, args.seed)
    print(f"--- sample (temperature {args.temperature}) ---")
    print(sample)
    print("---")
    if args.out is not None:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "char_gpt.ckpt")
        cr.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "vocab": vocab.chars,
                 "config": model.config,
                 "history": history}, path)
        print(f"checkpoint: {path}")
    return {"history": history, "sample": sample}


if __name__ == "__main__":
    main()
