"""Runs the live references for hanlab's differential test (tests/metrics/reference-parity.test.ts).

Usage: /usr/bin/python3 oracle.py REFERENCE_DIR < cases.jsonl > outcomes.jsonl

REFERENCE_DIR holds seqeval/ and klue-baseline-metrics/ unchanged (../shared/reference from a
checkout); scikit-learn and NumPy are Debian's. Nothing of the references is copied: they are imported
from where they are.

One JSON case per input line: {"gold": ..., "pred": ..., "calls": [{"fn": NAME, "kw": {...}}, ...]}.
One JSON line per case out: a list with one outcome per call, {"value": V, "warnings": [...]} or
{"error": "TypeName: message", "warnings": [...]}. Dicts are written as lists of [key, value] pairs so
that their order survives JavaScript; NaN is written as Python's json writes it (the bare token NaN),
which hanlab's parseMetricsJson reads back.
"""
import importlib
import json
import os
import sys
import types
import warnings

import numpy as np

REFERENCE_DIR = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(REFERENCE_DIR, 'seqeval'))
sys.dont_write_bytecode = True

import sklearn.metrics as skm  # noqa: E402
from sklearn.exceptions import UndefinedMetricWarning  # noqa: E402

import seqeval.metrics as sm  # noqa: E402
import seqeval.metrics.sequence_labeling as sl  # noqa: E402
import seqeval.metrics.v1 as v1  # noqa: E402
import seqeval.scheme as ss  # noqa: E402


def load_klue_functional():
    """Imports KLUE-baseline's metrics/functional.py as it is: its imports of the rest of KLUE-baseline
    (MRC and DP types, MRC/WoS helpers), which the NER functions never touch, get empty stand-ins."""
    def module(name, **attrs):
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        sys.modules[name] = mod
        return mod

    package = module('klue_baseline')
    package.__path__ = []
    module('klue_baseline.data').__path__ = []
    module('klue_baseline.data.klue_mrc', KlueMRCExample=object)
    module('klue_baseline.models').__path__ = []
    module('klue_baseline.models.dependency_parsing', DPResult=object)
    metrics = module('klue_baseline.metrics')
    metrics.__path__ = [os.path.join(REFERENCE_DIR, 'klue-baseline-metrics')]
    module('klue_baseline.metrics.utils', KLUE_MRC_NUM_QUESTION_TYPE=3,
           compute_em_and_rouge_w_score_for_klue_mrc=None, compute_prf_for_wos=None,
           normalize_answer_for_klue_mrc=None)
    return importlib.import_module('klue_baseline.metrics.functional')


klue = load_klue_functional()

SCHEMES = {name: getattr(ss, name) for name in ('IOB1', 'IOB2', 'IOE1', 'IOE2', 'IOBES', 'BILOU')}
KLUE_LABELS = ["B-PS", "I-PS", "B-LC", "I-LC", "B-OG", "I-OG", "B-DT", "I-DT", "B-TI", "I-TI", "B-QT", "I-QT", "O"]


def encode(value):
    if isinstance(value, dict):
        return [[str(k), encode(v)] for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, np.ndarray):
        return [encode(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, type) and issubclass(value, ss.Token):
        return value.__name__
    return value


def seqeval_kwargs(kw):
    kw = dict(kw)
    if kw.get('scheme') is not None:
        kw['scheme'] = SCHEMES[kw['scheme']]
    return kw


def run_call(gold, pred, fn, kw):
    if fn == 'sl.classification_report':
        return sm.classification_report(gold, pred, **seqeval_kwargs(kw))
    if fn in ('sl.f1_score', 'sl.precision_score', 'sl.recall_score'):
        return getattr(sm, fn[3:])(gold, pred, **seqeval_kwargs(kw))
    if fn == 'sl.precision_recall_fscore_support':
        return sl.precision_recall_fscore_support(gold, pred, **seqeval_kwargs(kw))
    if fn == 'v1.precision_recall_fscore_support':
        return v1.precision_recall_fscore_support(gold, pred, **seqeval_kwargs(kw))
    if fn == 'sl.accuracy_score':
        return sm.accuracy_score(gold, pred)
    if fn == 'sl.performance_measure':
        return sm.performance_measure(gold, pred)
    if fn == 'sl.get_entities':
        return sl.get_entities(gold, **kw)
    if fn == 'ss.auto_detect':
        return ss.auto_detect(gold, **kw)
    if fn == 'sk.classification_report':
        return skm.classification_report(gold, pred, **kw)
    if fn == 'sk.precision_recall_fscore_support':
        return skm.precision_recall_fscore_support(gold, pred, **kw)
    if fn == 'sk.accuracy_score':
        return skm.accuracy_score(gold, pred)
    if fn == 'sk.confusion_matrix':
        return skm.confusion_matrix(gold, pred, **kw)
    if fn == 'klue.entity_macro_f1':
        return klue.klue_ner_entity_macro_f1(pred, gold, KLUE_LABELS)
    if fn == 'klue.char_macro_f1':
        return klue.klue_ner_char_macro_f1(pred, gold, KLUE_LABELS)
    raise KeyError('unknown call ' + fn)


def kept_warning(w):
    # The warnings hanlab reports too: undefined metrics, and seqeval's "seems not to be NE tag".
    return issubclass(w.category, UndefinedMetricWarning) or (
        issubclass(w.category, UserWarning) and 'seems not to be NE tag' in str(w.message))


def outcome(gold, pred, call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            result = {'value': encode(run_call(gold, pred, call['fn'], call.get('kw', {})))}
        except Exception as error:  # the reference's own exception, reported by type and message
            result = {'error': '%s: %s' % (type(error).__name__, error)}
    seen = []
    for w in caught:
        text = str(w.message)
        if kept_warning(w) and text not in seen:
            seen.append(text)
    result['warnings'] = seen
    return result


def main():
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        outcomes = [outcome(case['gold'], case['pred'], call) for call in case['calls']]
        out.write(json.dumps(outcomes, ensure_ascii=False))
        out.write('\n')
    out.flush()


if __name__ == '__main__':
    main()
