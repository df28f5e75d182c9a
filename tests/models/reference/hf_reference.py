"""PyTorch reference of the Hugging Face encoders that lib/models runs in TensorFlow.js.

There is no `transformers` (nor `peft`, nor `safetensors`) package here, so this file re-states, module
for module and with the same parameter names, what transformers' modeling_bert.py, modeling_roberta.py,
modeling_electra.py and modeling_deberta_v2.py compute (v4.3x, eager attention), what PEFT's LoRA layer
computes, and reads/writes safetensors with its own few lines. The tests compare lib/models against it.

Usage (run with Debian's /usr/bin/python3 and python3-torch):
  hf_reference.py make    --config config.json --out DIR --seed S [--head seq:N|tok:N] [--shards K] [--extras]
      random weights for the architecture in config.json, written as DIR/model.safetensors (or K shards
      plus model.safetensors.index.json) with HF's tensor names
  hf_reference.py forward --model DIR --task seq|tok|base --inputs IN.json --out OUT.json
                          [--num-labels N] [--adapter DIR] [--grads]
      runs the model (eval mode: no dropout) on IN.json {"input_ids", "attention_mask",
      "token_type_ids"?, "labels"?} and writes {"hidden_states": [every layer], "logits", "loss",
      "grads": {name: flat values}} (grads: one backward pass of the mean cross-entropy)
  hf_reference.py buckets --size L --buckets B --max-position P
      DeBERTa's log-bucketed relative positions for an L×L sequence, as JSON
"""
import argparse
import json
import math
import os
import struct
import sys

import torch
from torch import nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------------
# safetensors, independent of lib/models/safetensors.ts


def save_safetensors(path, tensors, metadata=None):
    header = {'__metadata__': metadata or {'format': 'pt'}}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        dtype = {torch.float32: 'F32', torch.int64: 'I64'}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header).encode('utf8')
    raw += b' ' * ((8 - len(raw) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'F64': torch.float64, 'I64': torch.int64, 'I32': torch.int32}


def load_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        t = torch.frombuffer(bytearray(data[base + begin:base + end]), dtype=DTYPES[info['dtype']]).reshape(info['shape']) if end > begin else torch.zeros(info['shape'])
        out[name] = t.float() if t.is_floating_point() else t
    return out, header.get('__metadata__', {})


def load_folder_weights(folder):
    single = os.path.join(folder, 'model.safetensors')
    if os.path.exists(single):
        weights, metadata = load_safetensors(single)
        assert metadata.get('format') == 'pt', f'{single}: metadata format must be "pt" (transformers refuses others), got {metadata}'
        return weights
    index = json.load(open(os.path.join(folder, 'model.safetensors.index.json')))
    weights = {}
    for shard in sorted(set(index['weight_map'].values())):
        part, _ = load_safetensors(os.path.join(folder, shard))
        weights.update(part)
    return weights


# ----------------------------------------------------------------------------------------------------
# activations (transformers.activations)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACT2FN = {'gelu': F.gelu, 'relu': F.relu, 'gelu_new': gelu_new, 'gelu_pytorch_tanh': gelu_new, 'tanh': torch.tanh, 'silu': F.silu}


# ----------------------------------------------------------------------------------------------------
# BERT, RoBERTa, ELECTRA (modeling_bert.py; RoBERTa and ELECTRA copy its layers)


class BertEmbeddings(nn.Module):
    def __init__(self, c, kind):
        super().__init__()
        size = c.get('embedding_size', c['hidden_size']) if kind == 'electra' else c['hidden_size']
        self.kind = kind
        self.padding_idx = c.get('pad_token_id', 0)
        self.word_embeddings = nn.Embedding(c['vocab_size'], size, padding_idx=self.padding_idx)
        self.position_embeddings = nn.Embedding(c['max_position_embeddings'], size, padding_idx=self.padding_idx if kind == 'roberta' else None)
        self.token_type_embeddings = nn.Embedding(c['type_vocab_size'], size)
        self.LayerNorm = nn.LayerNorm(size, eps=c['layer_norm_eps'])
        self.dropout = nn.Dropout(c['hidden_dropout_prob'])

    def forward(self, input_ids, token_type_ids):
        if self.kind == 'roberta':
            # create_position_ids_from_input_ids: padding keeps padding_idx, real tokens count on from it
            mask = input_ids.ne(self.padding_idx).int()
            position_ids = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + self.padding_idx
        else:
            position_ids = torch.arange(input_ids.shape[1]).unsqueeze(0)
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c['num_attention_heads']
        self.head_size = c['hidden_size'] // self.heads
        all_head = self.heads * self.head_size
        self.query = nn.Linear(c['hidden_size'], all_head)
        self.key = nn.Linear(c['hidden_size'], all_head)
        self.value = nn.Linear(c['hidden_size'], all_head)
        self.dropout = nn.Dropout(c['attention_probs_dropout_prob'])

    def split(self, x):
        b, l, _ = x.shape
        return x.view(b, l, self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, hidden, extended_mask):
        q, k, v = self.split(self.query(hidden)), self.split(self.key(hidden)), self.split(self.value(hidden))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)
        scores = scores + extended_mask
        probs = self.dropout(F.softmax(scores, dim=-1))
        context = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return context.view(context.shape[0], context.shape[1], -1)


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['hidden_size'])
        self.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
        self.dropout = nn.Dropout(c['hidden_dropout_prob'])

    def forward(self, hidden, inputs):
        return self.LayerNorm(self.dropout(self.dense(hidden)) + inputs)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, hidden, mask):
        return self.output(self.self(hidden, mask), hidden)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['intermediate_size'])
        self.act = ACT2FN[c['hidden_act']]

    def forward(self, hidden):
        return self.act(self.dense(hidden))


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['intermediate_size'], c['hidden_size'])
        self.LayerNorm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
        self.dropout = nn.Dropout(c['hidden_dropout_prob'])

    def forward(self, hidden, inputs):
        return self.LayerNorm(self.dropout(self.dense(hidden)) + inputs)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, hidden, mask):
        attention = self.attention(hidden, mask)
        return self.output(self.intermediate(attention), attention)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c['num_hidden_layers'])])

    def forward(self, hidden, mask):
        states = [hidden]
        for layer in self.layer:
            hidden = layer(hidden, mask)
            states.append(hidden)
        return states


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['hidden_size'])

    def forward(self, hidden):
        return torch.tanh(self.dense(hidden[:, 0]))


class BertModel(nn.Module):
    """BertModel / RobertaModel / ElectraModel (kind picks the embeddings' details)."""

    def __init__(self, c, kind, pooler):
        super().__init__()
        self.embeddings = BertEmbeddings(c, kind)
        if kind == 'electra' and c.get('embedding_size', c['hidden_size']) != c['hidden_size']:
            self.embeddings_project = nn.Linear(c['embedding_size'], c['hidden_size'])
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c) if pooler else None

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.embeddings(input_ids, token_type_ids)
        if hasattr(self, 'embeddings_project'):
            hidden = self.embeddings_project(hidden)
        # get_extended_attention_mask: (1 - mask) * finfo.min, broadcast over heads and queries
        extended = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        states = self.encoder(hidden, extended)
        return states, (self.pooler(states[-1]) if self.pooler is not None else None)


class RobertaClassificationHead(nn.Module):
    """RobertaClassificationHead (tanh) and ElectraClassificationHead (gelu)."""

    def __init__(self, c, activation):
        super().__init__()
        self.dense = nn.Linear(c['hidden_size'], c['hidden_size'])
        dropout = c.get('classifier_dropout')
        self.dropout = nn.Dropout(c['hidden_dropout_prob'] if dropout is None else dropout)
        self.out_proj = nn.Linear(c['hidden_size'], c['num_labels'])
        self.activation = activation

    def forward(self, features):
        x = self.dropout(features[:, 0, :])
        x = self.activation(self.dense(x))
        return self.out_proj(self.dropout(x))


# ----------------------------------------------------------------------------------------------------
# DeBERTa-v2 / v3 (modeling_deberta_v2.py)


def make_log_bucket_position(relative_pos, bucket_size, max_position):
    sign = torch.sign(relative_pos)
    mid = bucket_size // 2
    abs_pos = torch.where((relative_pos < mid) & (relative_pos > -mid), torch.tensor(mid - 1).type_as(relative_pos), torch.abs(relative_pos))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
    bucket_pos = torch.where(abs_pos <= mid, relative_pos.type_as(log_pos), log_pos * sign)
    return bucket_pos


def build_relative_position(query_size, key_size, bucket_size=-1, max_position=-1):
    q_ids = torch.arange(0, query_size)
    k_ids = torch.arange(0, key_size)
    rel_pos_ids = q_ids[:, None] - k_ids[None, :]
    if bucket_size > 0 and max_position > 0:
        rel_pos_ids = make_log_bucket_position(rel_pos_ids, bucket_size, max_position)
    rel_pos_ids = rel_pos_ids.to(torch.long)
    rel_pos_ids = rel_pos_ids[:query_size, :]
    return rel_pos_ids.unsqueeze(0)


def xsoftmax(scores, mask, dim):
    # XSoftmax: masked positions get finfo.min before and 0 after the softmax (its custom backward
    # equals autograd through these three steps)
    rmask = ~(mask.to(torch.bool))
    out = scores.masked_fill(rmask, torch.finfo(scores.dtype).min)
    out = torch.softmax(out, dim)
    return out.masked_fill(rmask, 0)


class DisentangledSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_attention_heads = c['num_attention_heads']
        self.attention_head_size = c.get('attention_head_size', c['hidden_size'] // self.num_attention_heads)
        all_head = self.num_attention_heads * self.attention_head_size
        self.query_proj = nn.Linear(c['hidden_size'], all_head, bias=True)
        self.key_proj = nn.Linear(c['hidden_size'], all_head, bias=True)
        self.value_proj = nn.Linear(c['hidden_size'], all_head, bias=True)
        self.share_att_key = c.get('share_att_key', False)
        self.pos_att_type = c.get('pos_att_type') or []
        if isinstance(self.pos_att_type, str):
            self.pos_att_type = [x.strip() for x in self.pos_att_type.lower().split('|')]
        self.relative_attention = c.get('relative_attention', False)
        if self.relative_attention:
            self.position_buckets = c.get('position_buckets', -1)
            self.max_relative_positions = c.get('max_relative_positions', -1)
            if self.max_relative_positions < 1:
                self.max_relative_positions = c['max_position_embeddings']
            self.pos_ebd_size = self.max_relative_positions
            if self.position_buckets > 0:
                self.pos_ebd_size = self.position_buckets
            self.pos_dropout = nn.Dropout(c['hidden_dropout_prob'])
            if not self.share_att_key:
                if 'c2p' in self.pos_att_type:
                    self.pos_key_proj = nn.Linear(c['hidden_size'], all_head, bias=True)
                if 'p2c' in self.pos_att_type:
                    self.pos_query_proj = nn.Linear(c['hidden_size'], all_head)
        self.dropout = nn.Dropout(c['attention_probs_dropout_prob'])

    def transpose_for_scores(self, x, attention_heads):
        new_x_shape = x.size()[:-1] + (attention_heads, -1)
        x = x.view(new_x_shape)
        return x.permute(0, 2, 1, 3).contiguous().view(-1, x.size(1), x.size(-1))

    def forward(self, hidden_states, attention_mask, relative_pos, rel_embeddings):
        query_layer = self.transpose_for_scores(self.query_proj(hidden_states), self.num_attention_heads)
        key_layer = self.transpose_for_scores(self.key_proj(hidden_states), self.num_attention_heads)
        value_layer = self.transpose_for_scores(self.value_proj(hidden_states), self.num_attention_heads)
        scale_factor = 1
        if 'c2p' in self.pos_att_type:
            scale_factor += 1
        if 'p2c' in self.pos_att_type:
            scale_factor += 1
        scale = torch.sqrt(torch.tensor(query_layer.size(-1), dtype=torch.float) * scale_factor)
        attention_scores = torch.bmm(query_layer, key_layer.transpose(-1, -2) / scale.to(dtype=query_layer.dtype))
        if self.relative_attention:
            rel_embeddings = self.pos_dropout(rel_embeddings)
            attention_scores = attention_scores + self.disentangled_attention_bias(query_layer, key_layer, relative_pos, rel_embeddings, scale_factor)
        attention_scores = attention_scores.view(-1, self.num_attention_heads, attention_scores.size(-2), attention_scores.size(-1))
        attention_probs = self.dropout(xsoftmax(attention_scores, attention_mask, -1))
        context_layer = torch.bmm(attention_probs.view(-1, attention_probs.size(-2), attention_probs.size(-1)), value_layer)
        context_layer = context_layer.view(-1, self.num_attention_heads, context_layer.size(-2), context_layer.size(-1)).permute(0, 2, 1, 3).contiguous()
        return context_layer.view(context_layer.size()[:-2] + (-1,))

    def disentangled_attention_bias(self, query_layer, key_layer, relative_pos, rel_embeddings, scale_factor):
        relative_pos = relative_pos.unsqueeze(1)  # [1, 1, q, k]
        att_span = self.pos_ebd_size
        rel_embeddings = rel_embeddings[0:att_span * 2, :].unsqueeze(0)
        repeat = query_layer.size(0) // self.num_attention_heads
        if self.share_att_key:
            pos_query_layer = self.transpose_for_scores(self.query_proj(rel_embeddings), self.num_attention_heads).repeat(repeat, 1, 1)
            pos_key_layer = self.transpose_for_scores(self.key_proj(rel_embeddings), self.num_attention_heads).repeat(repeat, 1, 1)
        else:
            if 'c2p' in self.pos_att_type:
                pos_key_layer = self.transpose_for_scores(self.pos_key_proj(rel_embeddings), self.num_attention_heads).repeat(repeat, 1, 1)
            if 'p2c' in self.pos_att_type:
                pos_query_layer = self.transpose_for_scores(self.pos_query_proj(rel_embeddings), self.num_attention_heads).repeat(repeat, 1, 1)
        score = 0
        if 'c2p' in self.pos_att_type:
            scale = torch.sqrt(torch.tensor(pos_key_layer.size(-1), dtype=torch.float) * scale_factor)
            c2p_att = torch.bmm(query_layer, pos_key_layer.transpose(-1, -2))
            c2p_pos = torch.clamp(relative_pos + att_span, 0, att_span * 2 - 1)
            c2p_att = torch.gather(c2p_att, dim=-1, index=c2p_pos.squeeze(0).expand([query_layer.size(0), query_layer.size(1), relative_pos.size(-1)]))
            score += c2p_att / scale.to(dtype=c2p_att.dtype)
        if 'p2c' in self.pos_att_type:
            scale = torch.sqrt(torch.tensor(pos_query_layer.size(-1), dtype=torch.float) * scale_factor)
            r_pos = relative_pos
            p2c_pos = torch.clamp(-r_pos + att_span, 0, att_span * 2 - 1)
            p2c_att = torch.bmm(key_layer, pos_query_layer.transpose(-1, -2))
            p2c_att = torch.gather(p2c_att, dim=-1, index=p2c_pos.squeeze(0).expand([query_layer.size(0), key_layer.size(-2), key_layer.size(-2)])).transpose(-1, -2)
            score += p2c_att / scale.to(dtype=p2c_att.dtype)
        return score


class DebertaV2SelfAttentionBlock(nn.Module):
    """DebertaV2Attention: `self` (disentangled attention) and `output` (dense, LayerNorm)."""

    def __init__(self, c):
        super().__init__()
        self.self = DisentangledSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, hidden, mask, relative_pos, rel_embeddings):
        return self.output(self.self(hidden, mask, relative_pos, rel_embeddings), hidden)


class DebertaV2Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = DebertaV2SelfAttentionBlock(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, hidden, mask, relative_pos, rel_embeddings):
        attention = self.attention(hidden, mask, relative_pos, rel_embeddings)
        return self.output(self.intermediate(attention), attention)


class DebertaV2Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([DebertaV2Layer(c) for _ in range(c['num_hidden_layers'])])
        self.relative_attention = c.get('relative_attention', False)
        if self.relative_attention:
            self.max_relative_positions = c.get('max_relative_positions', -1)
            if self.max_relative_positions < 1:
                self.max_relative_positions = c['max_position_embeddings']
            self.position_buckets = c.get('position_buckets', -1)
            pos_ebd_size = self.max_relative_positions * 2
            if self.position_buckets > 0:
                pos_ebd_size = self.position_buckets * 2
            self.rel_embeddings = nn.Embedding(pos_ebd_size, c['hidden_size'])
        self.norm_rel_ebd = [x.strip() for x in c.get('norm_rel_ebd', 'none').lower().split('|')]
        if 'layer_norm' in self.norm_rel_ebd:
            self.LayerNorm = nn.LayerNorm(c['hidden_size'], c['layer_norm_eps'], elementwise_affine=True)
        assert c.get('conv_kernel_size', 0) == 0, 'the reference has no ConvLayer'

    def get_rel_embedding(self):
        rel_embeddings = self.rel_embeddings.weight if self.relative_attention else None
        if rel_embeddings is not None and 'layer_norm' in self.norm_rel_ebd:
            rel_embeddings = self.LayerNorm(rel_embeddings)
        return rel_embeddings

    def forward(self, hidden, input_mask):
        extended = input_mask.unsqueeze(1).unsqueeze(2)
        attention_mask = extended * extended.squeeze(-2).unsqueeze(-1)  # [B, 1, L, L]
        length = hidden.size(-2)
        relative_pos = build_relative_position(length, length, self.position_buckets, self.max_relative_positions) if self.relative_attention else None
        rel_embeddings = self.get_rel_embedding()
        states = [hidden]
        for layer in self.layer:
            hidden = layer(hidden, attention_mask, relative_pos, rel_embeddings)
            states.append(hidden)
        return states


class DebertaV2Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        pad_token_id = c.get('pad_token_id', 0)
        self.embedding_size = c.get('embedding_size', c['hidden_size'])
        self.word_embeddings = nn.Embedding(c['vocab_size'], self.embedding_size, padding_idx=pad_token_id)
        self.position_biased_input = c.get('position_biased_input', True)
        self.position_embeddings = nn.Embedding(c['max_position_embeddings'], self.embedding_size) if self.position_biased_input else None
        self.type_vocab_size = c.get('type_vocab_size', 0)
        if self.type_vocab_size > 0:
            self.token_type_embeddings = nn.Embedding(self.type_vocab_size, self.embedding_size)
        if self.embedding_size != c['hidden_size']:
            self.embed_proj = nn.Linear(self.embedding_size, c['hidden_size'], bias=False)
        self.LayerNorm = nn.LayerNorm(c['hidden_size'], c['layer_norm_eps'])
        self.dropout = nn.Dropout(c['hidden_dropout_prob'])
        self.hidden_size = c['hidden_size']

    def forward(self, input_ids, token_type_ids, mask):
        embeddings = self.word_embeddings(input_ids)
        if self.position_biased_input:
            embeddings = embeddings + self.position_embeddings(torch.arange(input_ids.shape[1]).unsqueeze(0))
        if self.type_vocab_size > 0:
            embeddings = embeddings + self.token_type_embeddings(token_type_ids)
        if self.embedding_size != self.hidden_size:
            embeddings = self.embed_proj(embeddings)
        embeddings = self.LayerNorm(embeddings)
        embeddings = embeddings * mask.unsqueeze(2).to(embeddings.dtype)
        return self.dropout(embeddings)


class DebertaV2Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = DebertaV2Embeddings(c)
        self.encoder = DebertaV2Encoder(c)

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.embeddings(input_ids, token_type_ids, attention_mask)
        return self.encoder(hidden, attention_mask), None


class ContextPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        size = c.get('pooler_hidden_size', c['hidden_size'])
        self.dense = nn.Linear(size, size)
        self.dropout = nn.Dropout(c.get('pooler_dropout', 0))
        self.act = ACT2FN[c.get('pooler_hidden_act', 'gelu')]

    def forward(self, hidden):
        return self.act(self.dense(self.dropout(hidden[:, 0])))


# ----------------------------------------------------------------------------------------------------
# the task models: <Arch>Model, <Arch>ForSequenceClassification, <Arch>ForTokenClassification


PREFIX = {'bert': 'bert', 'roberta': 'roberta', 'electra': 'electra', 'deberta-v2': 'deberta'}


class EncoderForTask(nn.Module):
    def __init__(self, c, task):
        super().__init__()
        kind = c['model_type']
        self.kind = kind
        self.task = task
        prefix = PREFIX[kind]
        if kind == 'deberta-v2':
            base = DebertaV2Model(c)
        else:
            base = BertModel(c, kind, pooler=(kind == 'bert' and task != 'tok'))
        setattr(self, prefix, base)
        self.base = prefix
        dropout = c.get('classifier_dropout')
        dropout = c['hidden_dropout_prob'] if dropout is None else dropout
        if task == 'seq':
            if kind == 'bert':
                self.dropout = nn.Dropout(dropout)
                self.classifier = nn.Linear(c['hidden_size'], c['num_labels'])
            elif kind == 'roberta':
                self.classifier = RobertaClassificationHead(c, torch.tanh)
            elif kind == 'electra':
                self.classifier = RobertaClassificationHead(c, F.gelu)
            else:
                self.pooler = ContextPooler(c)
                cls_dropout = c.get('cls_dropout')
                self.dropout = nn.Dropout(c['hidden_dropout_prob'] if cls_dropout is None else cls_dropout)
                self.classifier = nn.Linear(c.get('pooler_hidden_size', c['hidden_size']), c['num_labels'])
        elif task == 'tok':
            self.dropout = nn.Dropout(dropout)
            self.classifier = nn.Linear(c['hidden_size'], c['num_labels'])

    def forward(self, input_ids, attention_mask, token_type_ids):
        states, pooled = getattr(self, self.base)(input_ids, attention_mask, token_type_ids)
        last = states[-1]
        if self.task == 'seq':
            if self.kind == 'bert':
                logits = self.classifier(self.dropout(pooled))
            elif self.kind in ('roberta', 'electra'):
                logits = self.classifier(last)
            else:
                logits = self.classifier(self.dropout(self.pooler(last)))
        elif self.task == 'tok':
            logits = self.classifier(self.dropout(last))
        else:
            logits = None
        return states, logits


# ----------------------------------------------------------------------------------------------------
# PEFT's LoRA (peft/tuners/lora/layer.py: Linear), injected by target_modules suffix match


class LoraLinear(nn.Module):
    def __init__(self, base, r, alpha, use_rslora=False):
        super().__init__()
        self.base_layer = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r

    def forward(self, x):
        return self.base_layer(x) + self.lora_B(self.lora_A(x)) * self.scaling


def apply_adapter(model, adapter_dir):
    config = json.load(open(os.path.join(adapter_dir, 'adapter_config.json')))
    assert config['peft_type'] == 'LORA', config
    weights, metadata = load_safetensors(os.path.join(adapter_dir, 'adapter_model.safetensors'))
    assert metadata.get('format') == 'pt', metadata
    targets = config['target_modules']
    targets = [targets] if isinstance(targets, str) else targets
    save = config.get('modules_to_save') or []
    injected = {}
    for name, module in list(model.named_modules()):
        if not isinstance(module, nn.Linear) or any(name == s or name.startswith(s + '.') for s in save):
            continue
        if any(name == t or name.endswith('.' + t) for t in targets):
            parent_name, _, child = name.rpartition('.')
            parent = model.get_submodule(parent_name) if parent_name else model
            wrapped = LoraLinear(module, config['r'], config['lora_alpha'], config.get('use_rslora', False))
            setattr(parent, child, wrapped)
            injected[name] = wrapped
    assert injected, f'target_modules {targets} matched no Linear layer'
    used = set()
    with torch.no_grad():
        for name, wrapped in injected.items():
            for part in ('lora_A', 'lora_B'):
                key = f'base_model.model.{name}.{part}.weight'
                assert key in weights, f'adapter lacks {key}'
                getattr(wrapped, part).weight.copy_(weights[key])
                used.add(key)
        state = model.state_dict()
        for key, value in weights.items():
            if key in used:
                continue
            assert key.startswith('base_model.model.'), key
            name = key[len('base_model.model.'):]
            assert any(name.startswith(s + '.') for s in save), f'unexpected adapter tensor {key} (not LoRA, not in modules_to_save {save})'
            assert name in state and state[name].shape == value.shape, f'{key}: no such parameter or wrong shape'
            state[name].copy_(value)
            used.add(key)
    return config


# ----------------------------------------------------------------------------------------------------
# commands


def randomise(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('LayerNorm.weight'):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            elif name.endswith('bias'):
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            elif 'embeddings' in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(torch.randn(p.shape, generator=generator) / math.sqrt(p.shape[-1]))


def cmd_make(args):
    c = json.load(open(args.config))
    task = 'base'
    if args.head:
        kind, _, n = args.head.partition(':')
        task = {'seq': 'seq', 'tok': 'tok'}[kind]
        c['num_labels'] = int(n)
    model = EncoderForTask(c, task)
    randomise(model, args.seed)
    tensors = dict(model.state_dict())
    if args.extras:
        # What real pre-training checkpoints carry besides the encoder: an LM head the fine-tuning
        # model does not use, and (older BERTs) the int64 position_ids buffer.
        prefix = PREFIX[c['model_type']]
        extra = {'bert': 'cls.predictions.bias', 'roberta': 'lm_head.bias', 'electra': 'discriminator_predictions.dense_prediction.bias', 'deberta-v2': 'lm_predictions.lm_head.bias'}
        tensors[extra[c['model_type']]] = torch.zeros(c['vocab_size'] if c['model_type'] != 'electra' else 1)
        if c['model_type'] == 'bert':
            tensors[f'{prefix}.embeddings.position_ids'] = torch.arange(c['max_position_embeddings']).unsqueeze(0)
    os.makedirs(args.out, exist_ok=True)
    if args.shards <= 1:
        save_safetensors(os.path.join(args.out, 'model.safetensors'), tensors)
        return
    names = sorted(tensors)
    per = math.ceil(len(names) / args.shards)
    weight_map = {}
    total = 0
    for i in range(args.shards):
        shard = f'model-{i + 1:05d}-of-{args.shards:05d}.safetensors'
        part = {n: tensors[n] for n in names[i * per:(i + 1) * per]}
        save_safetensors(os.path.join(args.out, shard), part)
        for n, t in part.items():
            weight_map[n] = shard
            total += t.numel() * t.element_size()
    json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, open(os.path.join(args.out, 'model.safetensors.index.json'), 'w'), indent=2)


def cmd_forward(args):
    c = json.load(open(os.path.join(args.model, 'config.json')))
    if args.num_labels:
        c['num_labels'] = args.num_labels
    elif 'id2label' in c:
        c['num_labels'] = len(c['id2label'])
    model = EncoderForTask(c, args.task)
    weights = load_folder_weights(args.model)
    state = model.state_dict()
    prefix = PREFIX[c['model_type']]
    missing = []
    with torch.no_grad():
        for name, p in state.items():
            key = name if name in weights else name[len(prefix) + 1:] if name.startswith(prefix + '.') and name[len(prefix) + 1:] in weights else None
            if key is None:
                missing.append(name)
                continue
            assert weights[key].shape == p.shape, f'{key}: checkpoint {tuple(weights[key].shape)} vs model {tuple(p.shape)}'
            p.copy_(weights[key])
    if args.adapter:
        apply_adapter(model, args.adapter)
        head = {n for n in missing if not n.startswith(prefix + '.')}
        missing = [n for n in missing if n not in head]
    assert not missing, f'checkpoint lacks {missing}'
    model.eval()
    inputs = json.load(open(args.inputs))
    ids = torch.tensor(inputs['input_ids'], dtype=torch.long)
    mask = torch.tensor(inputs['attention_mask'], dtype=torch.long)
    types = torch.tensor(inputs.get('token_type_ids') or [[0] * ids.shape[1]] * ids.shape[0], dtype=torch.long)
    states, logits = model(ids, mask, types)
    out = {'hidden_states': [s.tolist() for s in states]}
    if logits is not None:
        out['logits'] = logits.tolist()
        labels = torch.tensor(inputs['labels'], dtype=torch.long)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)
        out['loss'] = loss.item() if math.isfinite(loss.item()) else None
        if args.grads:
            loss.backward()
            out['grads'] = {n: p.grad.flatten().tolist() for n, p in model.named_parameters() if p.grad is not None}
    json.dump(out, open(args.out, 'w'))


def cmd_train_bench(args):
    """Times training steps (forward, backward, AdamW) of the model in --model on the batches in --inputs."""
    import time
    spec = json.load(open(args.inputs))
    torch.set_num_threads(spec['threads'])
    c = json.load(open(os.path.join(args.model, 'config.json')))
    c['num_labels'] = spec['num_labels']
    model = EncoderForTask(c, 'seq')
    weights = load_folder_weights(args.model)
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if name in weights:
                p.copy_(weights[name])
    model.train()
    no_decay = [p for n, p in model.named_parameters() if n.endswith('bias') or 'LayerNorm' in n]
    decay = [p for n, p in model.named_parameters() if not (n.endswith('bias') or 'LayerNorm' in n)]
    optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': no_decay, 'weight_decay': 0.0}], lr=spec['learning_rate'])
    batches = []
    for b in spec['batches']:
        ids = torch.tensor(b['input_ids'], dtype=torch.long)
        mask = torch.tensor(b['attention_mask'], dtype=torch.long)
        batches.append((ids, mask, torch.zeros_like(ids), torch.tensor(b['labels'], dtype=torch.long), int(mask.sum())))

    def step(batch):
        ids, mask, types, labels, _ = batch
        optimizer.zero_grad()
        _, logits = model(ids, mask, types)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    for i in range(spec['warmup']):
        step(batches[i % len(batches)])
    tokens = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    for i in range(spec['steps']):
        batch = batches[(spec['warmup'] + i) % len(batches)]
        step(batch)
        tokens += batch[4]
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    print(json.dumps({'tokens_per_s': tokens / seconds, 'tokens_per_cpu_s': tokens / cpu_seconds, 'seconds': seconds, 'steps': spec['steps'], 'threads': torch.get_num_threads(), 'torch': torch.__version__}))


def cmd_buckets(args):
    rel = build_relative_position(args.size, args.size, args.buckets, args.max_position)[0]
    print(json.dumps(rel.tolist()))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest='command', required=True)
    make = sub.add_parser('make')
    make.add_argument('--config', required=True)
    make.add_argument('--out', required=True)
    make.add_argument('--seed', type=int, default=0)
    make.add_argument('--head')
    make.add_argument('--shards', type=int, default=1)
    make.add_argument('--extras', action='store_true')
    forward = sub.add_parser('forward')
    forward.add_argument('--model', required=True)
    forward.add_argument('--task', choices=['seq', 'tok', 'base'], required=True)
    forward.add_argument('--inputs', required=True)
    forward.add_argument('--out', required=True)
    forward.add_argument('--num-labels', type=int)
    forward.add_argument('--adapter')
    forward.add_argument('--grads', action='store_true')
    bench = sub.add_parser('train-bench')
    bench.add_argument('--model', required=True)
    bench.add_argument('--inputs', required=True)
    buckets = sub.add_parser('buckets')
    buckets.add_argument('--size', type=int, required=True)
    buckets.add_argument('--buckets', type=int, required=True)
    buckets.add_argument('--max-position', type=int, required=True)
    args = parser.parse_args()
    if args.command != 'train-bench':
        torch.set_num_threads(1)
    {'make': cmd_make, 'forward': cmd_forward, 'buckets': cmd_buckets, 'train-bench': cmd_train_bench}[args.command](args)


if __name__ == '__main__':
    main()
