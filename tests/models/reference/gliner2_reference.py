"""PyTorch re-statement of GLiNER2's span model (fastino-ai/GLiNER2, Apache-2.0: gliner2/model.py,
gliner2/layers.py, and the markerV0 span representation it takes from GLiNER) over the DeBERTa-v2
encoder of hf_reference.py, with the checkpoint's own parameter names (`encoder.…`,
`span_rep.span_rep_layer.…`, `classifier.…`, `count_pred.…`, `count_embed.…`).

Written from reading GLiNER2's code, not copied; only the entity path is re-stated (the count head's
prediction, the count-aware field embeddings, the span scores and the entity loss). Preprocessing
(word splitting, the schema prompt, tokenisation) is hanlab's: the inputs name the token positions.

Usage (Debian's /usr/bin/python3 with python3-torch):
  gliner2_reference.py make    --out DIR --seed S     (DIR/config.json and DIR/encoder_config/config.json exist)
      random weights, written as DIR/model.safetensors with GLiNER2's tensor names
  gliner2_reference.py forward --model DIR --inputs IN.json --out OUT.json [--grads] [--adapter DIR]
      IN.json: {"input_ids", "attention_mask", "samples": [{"words": [first-token position per word],
      "prompt": position of [P], "fields": [positions of [E]], "gold": [[field, start, width], ...]}]}
      OUT.json: {"span_logits": per sample [field][word][width], "count_logits": per sample [20],
      "loss": entity loss summed over samples (no negative-span masking), "grads"}
  gliner2_reference.py train-bench --model DIR --inputs IN.json --adapter DIR --out OUT.json
      times LoRA training steps (dropout on) of the batches in IN.json ({"threads", "warmup", "steps",
      "batches"}); OUT.json {"samples_per_s", "seconds", "threads", "torch"}
  gliner2_reference.py train   --model DIR --inputs IN.json --adapter DIR --steps N --lr LR --out OUT.json
      N AdamW steps (weight decay 0.01, gradient norm clipped to 1, constant lr) on LoRA only, starting
      from the adapter's values (the same initial A and B as hanlab's); dropout off; OUT.json {"losses"}
"""
import argparse
import json
import math
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_reference import DebertaV2Model, LoraLinear, load_safetensors, randomise, save_safetensors  # noqa: E402

MAX_COUNT = 20


def mlp(inputs, hidden, outputs):
    # GLiNER2's create_mlp with one hidden layer, ReLU, no dropout: indices 0 and 2 are the Linears.
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, outputs))


def projection(inputs, outputs, dropout):
    # GLiNER's create_projection_layer: Linear to 4×, ReLU, Dropout, Linear (indices 0 and 3).
    return nn.Sequential(nn.Linear(inputs, outputs * 4), nn.ReLU(), nn.Dropout(dropout), nn.Linear(outputs * 4, outputs))


class SpanMarker(nn.Module):
    """markerV0: a span is out_project(relu([project_start(first word) ; project_end(last word)]))."""

    def __init__(self, hidden, dropout):
        super().__init__()
        self.project_start = projection(hidden, hidden, dropout)
        self.project_end = projection(hidden, hidden, dropout)
        self.out_project = projection(hidden * 2, hidden, dropout)

    def forward(self, words, starts, ends):
        joined = torch.cat([self.project_start(words)[starts], self.project_end(words)[ends]], dim=-1)
        return self.out_project(joined.relu())


class SpanRep(nn.Module):
    def __init__(self, hidden, dropout):
        super().__init__()
        self.span_rep_layer = SpanMarker(hidden, dropout)


class CountLSTM(nn.Module):
    """One GRU step per instance index, started from each field's embedding, then an MLP over [step ; field]."""

    def __init__(self, hidden):
        super().__init__()
        self.pos_embedding = nn.Embedding(MAX_COUNT, hidden)
        self.gru = nn.GRU(input_size=hidden, hidden_size=hidden)
        self.projector = mlp(hidden * 2, hidden * 4, hidden)

    def forward(self, fields, count):
        count = min(count, MAX_COUNT)
        steps = self.pos_embedding(torch.arange(count)).unsqueeze(1).expand(count, fields.shape[0], fields.shape[1])
        out, _ = self.gru(steps, fields.unsqueeze(0))
        return self.projector(torch.cat([out, fields.unsqueeze(0).expand_as(out)], dim=-1))


class Extractor(nn.Module):
    def __init__(self, config, encoder_config):
        super().__init__()
        assert encoder_config['model_type'] == 'deberta-v2', 'the reference re-states GLiNER2 over DeBERTa-v2/v3 only'
        assert config.get('counting_layer', 'count_lstm') == 'count_lstm', config
        hidden = encoder_config['hidden_size']
        self.max_width = config.get('max_width', 8)
        self.encoder = DebertaV2Model(encoder_config)
        self.span_rep = SpanRep(hidden, 0.1)
        self.classifier = mlp(hidden, hidden * 2, 1)
        self.count_pred = mlp(hidden, hidden * 2, MAX_COUNT)
        self.count_embed = CountLSTM(hidden)

    def spans(self, length):
        # Every (start, width < max_width); spans running past the text point at word 0 and are masked.
        starts, ends, valid = [], [], []
        for i in range(length):
            for w in range(self.max_width):
                ok = i + w < length
                starts.append(i if ok else 0)
                ends.append(i + w if ok else 0)
                valid.append(ok)
        return torch.tensor(starts), torch.tensor(ends), torch.tensor(valid)

    def run(self, inputs):
        ids = torch.tensor(inputs['input_ids'], dtype=torch.long)
        mask = torch.tensor(inputs['attention_mask'], dtype=torch.long)
        states, _ = self.encoder(ids, mask, torch.zeros_like(ids))
        last = states[-1]
        results = []
        for b, sample in enumerate(inputs['samples']):
            words = last[b, sample['words']]
            fields = last[b, sample['fields']]
            prompt = last[b, sample['prompt']]
            length = words.shape[0]
            starts, ends, valid = self.spans(length)
            spans = self.span_rep.span_rep_layer(words, starts, ends).view(length, self.max_width, -1)
            fields_at_count = self.count_embed(fields, 1)  # [1, M, H]: the first instance, the one entities use
            logits = torch.einsum('lkd,bpd->bplk', spans, fields_at_count)[0]  # [M, L, W]
            count_logits = self.count_pred(prompt.unsqueeze(0))[0]
            gold = torch.zeros_like(logits)
            for field, start, width in sample.get('gold', []):
                gold[field, start, width] = 1
            loss = F.binary_cross_entropy_with_logits(logits, gold, reduction='none')
            loss = (loss * valid.view(length, self.max_width).float()).sum()
            results.append((logits, count_logits, loss))
        return results


def load_model(folder):
    config = json.load(open(os.path.join(folder, 'config.json')))
    encoder_config = json.load(open(os.path.join(folder, 'encoder_config', 'config.json')))
    model = Extractor(config, encoder_config)
    weights, metadata = load_safetensors(os.path.join(folder, 'model.safetensors'))
    state = model.state_dict()
    assert set(state) == set(weights), f'names differ: {sorted(set(state) ^ set(weights))}'
    with torch.no_grad():
        for name, p in state.items():
            assert weights[name].shape == p.shape, name
            p.copy_(weights[name])
    return model


def apply_lora(model, adapter_dir):
    """The adapter's target_modules are full module names; A and B come from the adapter file."""
    config = json.load(open(os.path.join(adapter_dir, 'adapter_config.json')))
    weights, _ = load_safetensors(os.path.join(adapter_dir, 'adapter_model.safetensors'))
    wrapped = {}
    for name in config['target_modules']:
        parent_name, _, child = name.rpartition('.')
        parent = model.get_submodule(parent_name)
        layer = LoraLinear(getattr(parent, child), config['r'], config['lora_alpha'])
        with torch.no_grad():
            layer.lora_A.weight.copy_(weights[f'base_model.model.{name}.lora_A.weight'])
            layer.lora_B.weight.copy_(weights[f'base_model.model.{name}.lora_B.weight'])
        setattr(parent, child, layer)
        wrapped[name] = layer
    assert len(weights) == 2 * len(wrapped), 'every adapter tensor is a LoRA matrix of a named module'
    return wrapped


def cmd_make(args):
    config = json.load(open(os.path.join(args.out, 'config.json')))
    encoder_config = json.load(open(os.path.join(args.out, 'encoder_config', 'config.json')))
    model = Extractor(config, encoder_config)
    randomise(model, args.seed)
    save_safetensors(os.path.join(args.out, 'model.safetensors'), dict(model.state_dict()))


def cmd_forward(args):
    model = load_model(args.model)
    if args.adapter:
        apply_lora(model, args.adapter)
    model.eval()
    inputs = json.load(open(args.inputs))
    results = model.run(inputs)
    loss = torch.stack([r[2] for r in results]).sum()
    out = {'span_logits': [r[0].tolist() for r in results], 'count_logits': [r[1].tolist() for r in results], 'loss': loss.item()}
    if args.grads:
        loss.backward()
        out['grads'] = {n: p.grad.flatten().tolist() for n, p in model.named_parameters() if p.grad is not None}
    json.dump(out, open(args.out, 'w'))


def lora_training(model, adapter):
    for p in model.parameters():
        p.requires_grad_(False)
    wrapped = apply_lora(model, adapter)
    params = []
    for name in sorted(wrapped):
        for part in (wrapped[name].lora_A, wrapped[name].lora_B):
            part.weight.requires_grad_(True)
            params.append(part.weight)
    return params


def cmd_train_bench(args):
    """Times LoRA training steps (dropout on) on the batches in --inputs: {"threads", "warmup", "steps", "batches"}."""
    import time
    spec = json.load(open(args.inputs))
    torch.set_num_threads(spec['threads'])
    model = load_model(args.model)
    params = lora_training(model, args.adapter)
    model.train()
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    batches = spec['batches']

    def step(inputs):
        optimizer.zero_grad()
        loss = torch.stack([r[2] for r in model.run(inputs)]).sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()

    for i in range(spec['warmup']):
        step(batches[i % len(batches)])
    samples = 0
    started = time.perf_counter()
    for i in range(spec['steps']):
        inputs = batches[(spec['warmup'] + i) % len(batches)]
        step(inputs)
        samples += len(inputs['samples'])
    seconds = time.perf_counter() - started
    json.dump({'samples_per_s': samples / seconds, 'seconds': seconds, 'threads': torch.get_num_threads(), 'torch': torch.__version__}, open(args.out, 'w'))


def cmd_train(args):
    model = load_model(args.model)
    params = lora_training(model, args.adapter)
    model.eval()  # dropout off, as hanlab's side of the comparison
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01, eps=1e-8)
    batches = json.load(open(args.inputs))['batches']
    losses = []
    for step in range(args.steps):
        inputs = batches[step % len(batches)]
        optimizer.zero_grad()
        loss = torch.stack([r[2] for r in model.run(inputs)]).sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        losses.append(loss.item())
    json.dump({'losses': losses}, open(args.out, 'w'))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest='command', required=True)
    make = sub.add_parser('make')
    make.add_argument('--out', required=True)
    make.add_argument('--seed', type=int, default=0)
    forward = sub.add_parser('forward')
    train = sub.add_parser('train')
    bench = sub.add_parser('train-bench')
    for p in (forward, train, bench):
        p.add_argument('--model', required=True)
        p.add_argument('--inputs', required=True)
        p.add_argument('--out', required=True)
        p.add_argument('--adapter')
    forward.add_argument('--grads', action='store_true')
    train.add_argument('--steps', type=int, default=3)
    train.add_argument('--lr', type=float, default=5e-4)
    bench.add_argument('--lr', type=float, default=5e-4)
    args = parser.parse_args()
    torch.manual_seed(0)
    {'make': cmd_make, 'forward': cmd_forward, 'train': cmd_train, 'train-bench': cmd_train_bench}[args.command](args)


if __name__ == '__main__':
    main()
