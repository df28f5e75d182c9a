"""PyTorch re-statement of llama.cpp's `llama` and `gemma2` forward passes, reading the weights from the
GGUF file itself (a small GGUF reader below, independent of hanlab's TypeScript one).

    python3 tiny_forward.py MODEL.gguf [--lora ADAPTER.gguf:SCALE ...] [--peft ADAPTER_DIR:SCALE ...] < {"sequences": [[token ids], ...]}

prints {"logprobs": [[log P(token | sequence) for every vocabulary token], ...]}: the next-token
log-softmax after each sequence, computed in float64.

Semantics as llama.cpp computes them (not as Hugging Face's modules are written): weights are stored
[out, in] row-major (ggml's dims [in, out]); `llama` rotates adjacent pairs (llama.cpp's "normal"
RoPE, the converter permutes Hugging Face's q/k for it), `gemma2` rotates halves ("neox"), scales the
embeddings by sqrt(n_embd), caps attention and final logits with tanh, and has post-attention and
post-FFN norms whose weights already hold Gemma's +1, and its GELU reads ggml's half-precision table
(`gelu_as_ggml`). Keys and values are not rounded to F16: compare against an engine context with an
F32 cache and no flash attention. Every projection goes through `linear()`, which
adds a LoRA delta when adapters are given: scale * alpha / rank * B(A x), llama.cpp's
`llm_build_lora_mm`, with `blk.N.<name>.weight.lora_a` [rank, in] and `.lora_b` [out, rank].

`--peft` applies a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) as PEFT
defines it, W + scale * alpha / r * B @ A, read from the folder itself (not from hanlab's converted
GGUF): Hugging Face module names go to GGUF tensors by gguf-py's map, and for `llama` the rows of
q_proj / k_proj are reordered as llama.cpp's converter reorders the base weights (LlamaModel.permute).
"""
import json
import math
import struct
import sys

import numpy as np
import torch

VALUE_TYPES = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class Gguf:
    def __init__(self, path):
        self.data = open(path, "rb").read()
        self.pos = 0
        magic, version = self.unpack("<II")
        assert magic == 0x46554747 and version in (2, 3), "not a GGUF v2/v3 file"
        tensor_count, kv_count = self.unpack("<QQ")
        self.metadata = {}
        for _ in range(kv_count):
            key = self.string()
            (kind,) = self.unpack("<I")
            self.metadata[key] = self.value(kind)
        infos = []
        for _ in range(tensor_count):
            name = self.string()
            (n_dims,) = self.unpack("<I")
            dims = self.unpack("<" + "Q" * n_dims)
            kind, offset = self.unpack("<IQ")
            infos.append((name, dims, kind, offset))
        alignment = self.metadata.get("general.alignment", 32)
        start = (self.pos + alignment - 1) // alignment * alignment
        self.tensors = {}
        for name, dims, kind, offset in infos:
            count = int(np.prod(dims))
            dtype = {0: np.float32, 1: np.float16}[kind]
            array = np.frombuffer(self.data, dtype=dtype, count=count, offset=start + offset)
            # ggml dims are innermost first: [in, out] is a row-major [out, in] matrix.
            self.tensors[name] = torch.from_numpy(array.astype(np.float64).reshape(tuple(reversed(dims))))

    def unpack(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def string(self):
        (length,) = self.unpack("<Q")
        text = self.data[self.pos:self.pos + length].decode("utf-8", errors="replace")
        self.pos += length
        return text

    def value(self, kind):
        if kind == 8:
            return self.string()
        if kind == 9:
            item_kind, count = self.unpack("<IQ")
            return [self.value(item_kind) for _ in range(count)]
        return self.unpack(VALUE_TYPES[kind])[0]


def rms_norm(x, weight, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * weight


def rope(x, base, neox):
    """x: [tokens, heads, head_dim]; positions 0..tokens-1."""
    tokens, _, dim = x.shape
    inv = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    angles = torch.arange(tokens, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = torch.cos(angles)[:, None, :], torch.sin(angles)[:, None, :]
    if neox:
        a, b = x[..., : dim // 2], x[..., dim // 2:]
        return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out


def gelu_as_ggml(x):
    """ggml's CPU GELU (tanh form) reads a half-precision table: fp16(gelu(fp16(x))) inside (-10, 10)."""
    table = torch.nn.functional.gelu(x.half().double(), approximate="tanh").half().double()
    return torch.where(x <= -10, torch.zeros_like(x), torch.where(x >= 10, x, table))


class Model:
    def __init__(self, path, loras):
        self.gguf = Gguf(path)
        m = self.gguf.metadata
        self.arch = m["general.architecture"]
        a = self.arch
        self.n_embd = m[f"{a}.embedding_length"]
        self.n_layer = m[f"{a}.block_count"]
        self.n_head = m[f"{a}.attention.head_count"]
        self.n_head_kv = m[f"{a}.attention.head_count_kv"]
        self.head_dim = m.get(f"{a}.attention.key_length", self.n_embd // self.n_head)
        self.eps = m[f"{a}.attention.layer_norm_rms_epsilon"]
        self.rope_base = m.get(f"{a}.rope.freq_base", 10000.0)
        self.loras = []
        for file, scale in loras:
            adapter = Gguf(file)
            alpha = adapter.metadata.get("adapter.lora.alpha", 0.0)
            self.loras.append((adapter.tensors, scale, alpha))

    def w(self, name):
        return self.gguf.tensors[name]

    def linear(self, x, name):
        out = x @ self.w(name).T
        for tensors, scale, alpha in self.loras:
            a, b = tensors.get(name + ".lora_a"), tensors.get(name + ".lora_b")
            if a is None:
                continue
            rank = a.shape[0]
            factor = scale * alpha / rank if alpha else scale
            out = out + factor * ((x @ a.T) @ b.T)
        return out

    def attention(self, h, blk, gemma2):
        tokens = h.shape[0]
        q = self.linear(h, blk + "attn_q.weight").view(tokens, self.n_head, self.head_dim)
        k = self.linear(h, blk + "attn_k.weight").view(tokens, self.n_head_kv, self.head_dim)
        v = self.linear(h, blk + "attn_v.weight").view(tokens, self.n_head_kv, self.head_dim)
        q, k = rope(q, self.rope_base, gemma2), rope(k, self.rope_base, gemma2)
        group = self.n_head // self.n_head_kv
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(self.head_dim)
        if gemma2:
            cap = self.gguf.metadata["gemma2.attn_logit_softcapping"]
            scores = torch.tanh(scores / cap) * cap
        mask = torch.triu(torch.ones(tokens, tokens, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(mask, float("-inf"))
        out = torch.einsum("hqk,khd->qhd", torch.softmax(scores, dim=-1), v).reshape(tokens, -1)
        return self.linear(out, blk + "attn_output.weight")

    def forward(self, tokens):
        gemma2 = self.arch == "gemma2"
        x = self.w("token_embd.weight")[torch.tensor(tokens)]
        if gemma2:
            x = x * math.sqrt(self.n_embd)
        for layer in range(self.n_layer):
            blk = f"blk.{layer}."
            attn = self.attention(rms_norm(x, self.w(blk + "attn_norm.weight"), self.eps), blk, gemma2)
            if gemma2:
                attn = rms_norm(attn, self.w(blk + "post_attention_norm.weight"), self.eps)
            x = x + attn
            h = rms_norm(x, self.w(blk + "ffn_norm.weight"), self.eps)
            gate = self.linear(h, blk + "ffn_gate.weight")
            gate = gelu_as_ggml(gate) if gemma2 else torch.nn.functional.silu(gate)
            ffn = self.linear(gate * self.linear(h, blk + "ffn_up.weight"), blk + "ffn_down.weight")
            if gemma2:
                ffn = rms_norm(ffn, self.w(blk + "post_ffw_norm.weight"), self.eps)
            x = x + ffn
        x = rms_norm(x[-1], self.w("output_norm.weight"), self.eps)
        output = self.gguf.tensors.get("output.weight", self.w("token_embd.weight"))
        logits = x @ output.T
        if gemma2:
            cap = self.gguf.metadata["gemma2.final_logit_softcapping"]
            logits = torch.tanh(logits / cap) * cap
        return torch.log_softmax(logits, dim=-1)


HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack_from("<Q", data, 0)[0]
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info["dtype"]
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=np.float32).astype(np.float64)
        tensors[name] = torch.from_numpy(array.reshape(info["shape"]))
    return tensors


def llama_permute(weights, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute: Hugging Face's half-split rotary rows to llama.cpp's pairs."""
    return weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def apply_peft(model, folder, scale):
    with open(f"{folder}/adapter_config.json") as f:
        config = json.load(f)
    weights = read_safetensors(f"{folder}/adapter_model.safetensors")
    factor = scale * config["lora_alpha"] / config["r"]
    prefix, suffix = "base_model.model.", ".lora_A.weight"
    for name, a in weights.items():
        if not name.endswith(suffix):
            continue
        module = name[len(prefix):-len(suffix)]
        b = weights[f"{prefix}{module}.lora_B.weight"]
        if module == "lm_head":
            target = "output.weight"
        else:
            parts = module.split(".")
            assert parts[:2] == ["model", "layers"], module
            target = f"blk.{int(parts[2])}.{HF_TO_GGUF['.'.join(parts[3:])]}.weight"
        delta = factor * (b @ a)
        if model.arch == "llama" and target.endswith(".attn_q.weight"):
            delta = llama_permute(delta, model.n_head)
        if model.arch == "llama" and target.endswith(".attn_k.weight"):
            delta = llama_permute(delta, model.n_head_kv)
        model.gguf.tensors[target] = model.gguf.tensors[target] + delta


def main():
    path = sys.argv[1]
    loras = []
    args = sys.argv[2:]
    peft = []
    while args:
        flag, spec = args[0], args[1]
        assert flag in ("--lora", "--peft")
        file, _, scale = spec.rpartition(":")
        (loras if flag == "--lora" else peft).append((file, float(scale)))
        args = args[2:]
    model = Model(path, loras)
    for folder, scale in peft:
        apply_peft(model, folder, scale)
    request = json.load(sys.stdin)
    with torch.no_grad():
        logprobs = [model.forward(sequence).tolist() for sequence in request["sequences"]]
    json.dump({"logprobs": logprobs}, sys.stdout)


if __name__ == "__main__":
    main()
