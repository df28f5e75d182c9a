"""PyTorch re-statement of the tiny llama / gemma2 models' forward pass (scripts/make-tiny-gguf.ts) as
llama.cpp computes it, with a PEFT LoRA adapter applied the way PEFT defines it:

    W' = W + scale * (alpha / r) * B @ A      (B = lora_B [out, r], A = lora_A [r, in])

It reads the base GGUF file and the PEFT adapter folder itself (not hanlab's converted GGUF), so it
checks the converter's tensor-name map, transposes and llama's q/k row order independently. For llama,
HF's q_proj / k_proj rows are reordered as llama.cpp's convert_hf_to_gguf.py does (LlamaModel.permute),
restated here with reshape/swapaxes.

    python3 tiny_lora_forward.py MODEL.gguf [--adapter DIR --scale S] --tokens 1,2,3

Prints one JSON object: {"logprobs": [[log-softmax over the vocabulary after each token], ...]}.
"""
import argparse
import json
import math
import struct

import numpy as np
import torch

SCALAR = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}


class Reader:
    def __init__(self, data):
        self.data = data
        self.at = 0

    def take(self, fmt):
        value = struct.unpack_from(fmt, self.data, self.at)[0]
        self.at += struct.calcsize(fmt)
        return value

    def string(self):
        n = self.take('<Q')
        value = self.data[self.at:self.at + n].decode('utf-8', errors='replace')
        self.at += n
        return value

    def value(self, kind):
        if kind == 8:
            return self.string()
        if kind == 9:
            item_kind = self.take('<I')
            return [self.value(item_kind) for _ in range(self.take('<Q'))]
        return self.take(SCALAR[kind])


def read_gguf(path):
    with open(path, 'rb') as f:
        data = f.read()
    r = Reader(data)
    assert r.take('<I') == 0x46554747, 'not GGUF'
    r.take('<I')
    n_tensors, n_kv = r.take('<Q'), r.take('<Q')
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.take('<I'))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.take('<Q') for _ in range(r.take('<I'))]
        infos.append((name, dims, r.take('<I'), r.take('<Q')))
    alignment = meta.get('general.alignment', 32)
    start = (r.at + alignment - 1) // alignment * alignment
    tensors = {}
    for name, dims, kind, offset in infos:
        count = int(np.prod(dims))
        dtype = {0: np.float32, 1: np.float16}[kind]
        values = np.frombuffer(data, dtype=dtype, count=count, offset=start + offset).astype(np.float32)
        # ggml dims [in, out] are PyTorch's [out, in] with the same bytes.
        tensors[name] = torch.from_numpy(values.reshape(list(reversed(dims))).copy())
    return meta, tensors


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack_from('<Q', data, 0)[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        assert info['dtype'] == 'F32'
        begin, end = info['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data[8 + n + begin:8 + n + end], dtype=np.float32).reshape(info['shape']).copy())
    return out


def hf_to_gguf_name(module):
    """gguf-py's tensor map for the modules of these two architectures."""
    if module == 'lm_head':
        return 'output.weight'
    parts = module.split('.')
    assert parts[0] == 'model' and parts[1] == 'layers', module
    kind = {
        'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output',
        'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
    }['.'.join(parts[3:])]
    return f'blk.{int(parts[2])}.{kind}.weight'


def llama_permute(weights, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute: HF's half-split rotary rows to llama.cpp's pairs."""
    return weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def apply_adapter(arch, meta, tensors, adapter_dir, scale):
    with open(f'{adapter_dir}/adapter_config.json') as f:
        config = json.load(f)
    weights = read_safetensors(f'{adapter_dir}/adapter_model.safetensors')
    factor = scale * config['lora_alpha'] / config['r']
    prefix = 'base_model.model.'
    for name, a in weights.items():
        if not name.endswith('.lora_A.weight'):
            continue
        module = name[len(prefix):-len('.lora_A.weight')]
        b = weights[f'{prefix}{module}.lora_B.weight']
        delta = (b.double() @ a.double()) * factor
        target = hf_to_gguf_name(module)
        if arch == 'llama' and target.endswith('attn_q.weight'):
            delta = llama_permute(delta, meta['llama.attention.head_count'])
        if arch == 'llama' and target.endswith('attn_k.weight'):
            delta = llama_permute(delta, meta['llama.attention.head_count_kv'])
        tensors[target] = (tensors[target].double() + delta).float()


def rms_norm(x, weight, eps):
    x64 = x.double()
    return (x64 / torch.sqrt((x64 * x64).mean(-1, keepdim=True) + eps)).float() * weight


def rope(x, base, neox):
    """x: [tokens, heads, head_dim]; llama.cpp's normal (adjacent pairs) or neox (halves) rotation,
    in float32 as ggml computes it (theta = position · theta_scale^i by repeated multiplication)."""
    t, _, d = x.shape
    theta_scale = np.float32(base) ** np.float32(-2.0 / d)
    theta = np.empty((t, d // 2), dtype=np.float32)
    for p in range(t):
        value = np.float32(p)
        for i in range(d // 2):
            theta[p, i] = value
            value = np.float32(value * theta_scale)
    cos = torch.from_numpy(np.cos(theta))[:, None, :]
    sin = torch.from_numpy(np.sin(theta))[:, None, :]
    if neox:
        a, b = x[..., : d // 2], x[..., d // 2:]
        return torch.cat([a * cos - b * sin, a * sin + b * cos], -1)
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out


def gelu_ggml(x):
    """ggml's CPU GELU: the tanh form, looked up in a float16 table at the float16-rounded input."""
    table = torch.nn.functional.gelu(x.half().float(), approximate='tanh').half().float()
    return torch.where(x <= -10, torch.zeros_like(x), torch.where(x >= 10, x, table))


def f16(x):
    return x.half().float()


def forward(arch, meta, tensors, tokens, kv_f16):
    p = arch + '.'
    n_embd, n_head, n_kv = meta[p + 'embedding_length'], meta[p + 'attention.head_count'], meta[p + 'attention.head_count_kv']
    eps, base = meta[p + 'attention.layer_norm_rms_epsilon'], meta[p + 'rope.freq_base']
    head_dim = n_embd // n_head
    t = len(tokens)
    x = tensors['token_embd.weight'][tokens]
    if arch == 'gemma2':
        x = x * math.sqrt(n_embd)
    mask = torch.triu(torch.full((t, t), float('-inf')), 1)
    for layer in range(meta[p + 'block_count']):
        w = lambda name: tensors[f'blk.{layer}.{name}.weight']
        h = rms_norm(x, w('attn_norm'), eps)
        q = (h @ w('attn_q').T).reshape(t, n_head, head_dim)
        k = (h @ w('attn_k').T).reshape(t, n_kv, head_dim)
        v = (h @ w('attn_v').T).reshape(t, n_kv, head_dim)
        q, k = rope(q, base, arch == 'gemma2'), rope(k, base, arch == 'gemma2')
        group = n_head // n_kv
        k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
        # gemma2 scales Q before the product, llama the product (as llama.cpp's graphs do).
        if arch == 'gemma2':
            q = q / math.sqrt(head_dim)
        if kv_f16:
            # A float16 KV cache: ggml multiplies float16 K and V with float16 copies of Q and of the
            # attention weights.
            q, k, v = f16(q), f16(k), f16(v)
        scores = torch.einsum('qhd,khd->hqk', q, k)
        if arch != 'gemma2':
            scores = scores / math.sqrt(head_dim)
        else:
            cap = meta[p + 'attn_logit_softcapping']
            scores = torch.tanh(scores / cap) * cap
        attention = torch.softmax(scores + mask, -1)
        if kv_f16:
            attention = f16(attention)
        out = torch.einsum('hqk,khd->qhd', attention, v).reshape(t, n_head * head_dim) @ w('attn_output').T
        if arch == 'gemma2':
            out = rms_norm(out, w('post_attention_norm'), eps)
        x = x + out
        h = rms_norm(x, w('ffn_norm'), eps)
        gate = h @ w('ffn_gate').T
        activated = gelu_ggml(gate) if arch == 'gemma2' else torch.nn.functional.silu(gate)
        out = (activated * (h @ w('ffn_up').T)) @ w('ffn_down').T
        if arch == 'gemma2':
            out = rms_norm(out, w('post_ffw_norm'), eps)
        x = x + out
    x = rms_norm(x, tensors['output_norm.weight'], eps)
    logits = x @ tensors.get('output.weight', tensors['token_embd.weight']).T
    if arch == 'gemma2':
        cap = meta[p + 'final_logit_softcapping']
        logits = torch.tanh(logits / cap) * cap
    return torch.log_softmax(logits.double(), -1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('model')
    parser.add_argument('--adapter')
    parser.add_argument('--scale', type=float, default=1.0)
    parser.add_argument('--tokens', required=True)
    parser.add_argument('--kv-f32', action='store_true', help='the KV cache is float32 (default: float16, llama.cpp\'s default)')
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    meta, tensors = read_gguf(args.model)
    arch = meta['general.architecture']
    if args.adapter:
        apply_adapter(arch, meta, tensors, args.adapter, args.scale)
    logprobs = forward(arch, meta, tensors, [int(t) for t in args.tokens.split(',')], not args.kv_f32)
    print(json.dumps({'logprobs': logprobs.tolist()}))


if __name__ == '__main__':
    main()
