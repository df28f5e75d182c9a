"""PyTorch CPU reference for bench/train.bench.ts: the same taggers trained on the same batches.

Usage: /usr/bin/python3 bench/train_reference.py BATCHES.json
BATCHES.json (written by the bench): {"vocab_size", "tags", "models": [{name, encoder, embedding_dim,
hidden_dim, conv_width, dilations, dropout}], "batches": [{"size", "time", "ids", "lengths", "tags"}],
"threads"}. Then it serves: each stdin line {"model", "warmup", "steps", "threads"} trains that model
(kept between requests) with that many threads on `warmup` untimed then `steps` timed updates over the
first batches, and answers one JSON line {"model", "tokens", "seconds", "cpu_seconds", "threads"}. The
bench alternates these rounds with its own, so both sides are measured under the same machine load.

The models mirror lib/train: embeddings (padding zeroed), then either dilated 'same' convolutions
(ReLU, residual from the second layer, padding zeroed after each layer) or a BiLSTM over packed
sequences, a linear layer to tag scores, and a linear-chain CRF with IOB2 constraints (forward
algorithm loss). AdamW (weight decay 0.01), gradient clipping at global norm 5.
"""
import json
import sys
import time

import torch
from torch import nn


def iob2_mask(tags):
    size = len(tags)
    allowed = torch.ones(size, size, dtype=torch.bool)
    start = torch.ones(size, dtype=torch.bool)
    for j, tag in enumerate(tags):
        if tag.startswith('I-'):
            kind = tag[2:]
            start[j] = False
            for i, prev in enumerate(tags):
                allowed[i, j] = prev in (f'B-{kind}', f'I-{kind}')
    return allowed, start


class Tagger(nn.Module):
    def __init__(self, spec, vocab_size, tags):
        super().__init__()
        k = len(tags)
        self.spec = spec
        self.embedding = nn.Embedding(vocab_size, spec['embedding_dim'])
        self.dropout = nn.Dropout(spec['dropout'])
        if spec['encoder'] == 'conv':
            layers = []
            channels = spec['embedding_dim']
            for dilation in spec['dilations']:
                pad = (spec['conv_width'] - 1) // 2 * dilation
                layers.append(nn.Conv1d(channels, spec['hidden_dim'], spec['conv_width'], dilation=dilation, padding=pad))
                channels = spec['hidden_dim']
            self.convs = nn.ModuleList(layers)
            out_dim = spec['hidden_dim']
        else:
            self.lstm = nn.LSTM(spec['embedding_dim'], spec['hidden_dim'], batch_first=True, bidirectional=True)
            out_dim = 2 * spec['hidden_dim']
        self.output = nn.Linear(out_dim, k)
        self.transitions = nn.Parameter(torch.zeros(k, k))
        self.start = nn.Parameter(torch.zeros(k))
        self.end = nn.Parameter(torch.zeros(k))
        allowed, start_ok = iob2_mask(tags)
        self.register_buffer('forbidden', (~allowed).float() * -1e4)
        self.register_buffer('forbidden_start', (~start_ok).float() * -1e4)

    def emissions(self, ids, lengths, mask):
        x = self.embedding(ids) * mask.unsqueeze(-1)
        x = self.dropout(x)
        if self.spec['encoder'] == 'conv':
            h = x.transpose(1, 2)
            m = mask.unsqueeze(1)
            for i, conv in enumerate(self.convs):
                y = torch.relu(conv(h))
                h = y if i == 0 else h + y
                h = self.dropout(h * m)
            h = h.transpose(1, 2)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            h, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
            h = self.dropout(h)
        return self.output(h)

    def loss(self, ids, lengths, tags, mask):
        e = self.emissions(ids, lengths, mask)
        batch, time_steps, k = e.shape
        trans = self.transitions + self.forbidden
        # Forward algorithm (log space), masked past each sentence's end.
        alpha = self.start + self.forbidden_start + e[:, 0]
        for t in range(1, time_steps):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans.unsqueeze(0), dim=1) + e[:, t]
            m = mask[:, t].unsqueeze(1)
            alpha = torch.where(m > 0, nxt, alpha)
        log_z = torch.logsumexp(alpha + self.end, dim=1)
        # Gold path score.
        rows = torch.arange(batch)
        gold = self.start[tags[:, 0]] + e[rows, 0, tags[:, 0]]
        for t in range(1, time_steps):
            step = trans[tags[:, t - 1], tags[:, t]] + e[rows, t, tags[:, t]]
            gold = gold + step * mask[:, t]
        last = tags[rows, torch.tensor(lengths) - 1]
        gold = gold + self.end[last]
        return (log_z - gold).sum() / batch


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec.get('threads', 2))
    torch.manual_seed(0)
    batches = []
    for b in spec['batches']:
        size, t = b['size'], b['time']
        ids = torch.tensor(b['ids'], dtype=torch.long).view(size, t)
        tags = torch.tensor(b['tags'], dtype=torch.long).view(size, t)
        lengths = b['lengths']
        mask = (torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)).float()
        batches.append((ids, lengths, tags, mask, sum(lengths)))
    specs = {m['name']: m for m in spec['models']}
    trainers = {}

    def trainer(name):
        if name not in trainers:
            model = Tagger(specs[name], spec['vocab_size'], spec['tags'])
            model.train()
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

            def step(batch):
                ids, lengths, tags, mask, _ = batch
                optimizer.zero_grad()
                loss = model.loss(ids, lengths, tags, mask)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
                return loss.item()

            trainers[name] = step
        return trainers[name]

    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        torch.set_num_threads(request.get('threads', spec.get('threads', 2)))
        step = trainer(request['model'])
        warmup, steps = request['warmup'], request['steps']
        for i in range(warmup):
            step(batches[i % len(batches)])
        tokens = 0
        started = time.perf_counter()
        cpu_started = time.process_time()
        for i in range(steps):
            batch = batches[(warmup + i) % len(batches)]
            step(batch)
            tokens += batch[4]
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        print(json.dumps({'model': request['model'], 'tokens': tokens, 'seconds': seconds, 'cpu_seconds': cpu_seconds, 'threads': torch.get_num_threads()}), flush=True)


if __name__ == '__main__':
    main()
