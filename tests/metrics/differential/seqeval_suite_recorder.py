"""pytest plugin for hanlab's differential test: while seqeval's own test suite runs, unchanged, it
records every call that a test makes into seqeval's public functions and classes (arguments, then the
value or the exception), so that tests/metrics/reference-parity.test.ts can make the same calls on
hanlab and compare.

Usage (from seqeval/tests, so that its conlleval.pl is found):
  HANLAB_SEQEVAL_RECORD=out.jsonl PYTHONPATH=<seqeval>:<this folder> \\
    /usr/bin/python3 -B -m pytest -p seqeval_suite_recorder -p no:cacheprovider .

Only the outermost call is recorded (seqeval's functions call each other); the suite's own asserts
still run, and its pass/fail counts are printed as usual.
"""
import functools
import json
import os

import numpy as np

RECORDS = []
_state = {'depth': 0, 'test': None}


def encode(value):
    import seqeval.scheme as ss
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {'$tuple': [encode(v) for v in value]}
    if isinstance(value, np.ndarray):
        return {'$ndarray': encode(value.tolist())}
    if isinstance(value, dict):
        return {'$dict': [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, (set, frozenset)):
        return {'$set': sorted((encode(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))}
    if isinstance(value, ss.Entity):
        return {'$entity': [encode(value.sent_id), value.tag, value.start, value.end]}
    if isinstance(value, ss.Prefix):
        return {'$prefix': value.name}
    if isinstance(value, type) and issubclass(value, ss.Token):
        return {'$scheme': value.__name__}
    if isinstance(value, bytes):
        return {'$bytes': value.decode('latin-1')}
    return {'$object': type(value).__name__}


def record(name, call, args, kwargs, describe=None):
    """Runs `call`; when it is the outermost seqeval call, appends its record."""
    outer = _state['depth'] == 0
    _state['depth'] += 1
    try:
        value = call()
    except Exception as error:
        if outer:
            RECORDS.append({'test': _state['test'], 'fn': name, 'args': encode(list(args)), 'kwargs': {k: encode(v) for k, v in kwargs.items()},
                            'error': '%s: %s' % (type(error).__name__, error)})
        raise
    finally:
        _state['depth'] -= 1
    if outer:
        shown = describe(value) if describe else value
        RECORDS.append({'test': _state['test'], 'fn': name, 'args': encode(list(args)), 'kwargs': {k: encode(v) for k, v in kwargs.items()},
                        'value': encode(shown)})
    return value


def wrap_function(module, attr, name, aliases=()):
    original = getattr(module, attr)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        return record(name, lambda: original(*args, **kwargs), args, kwargs)

    setattr(module, attr, wrapper)
    for alias in aliases:
        setattr(alias, attr, wrapper)


def install():
    import seqeval.metrics as sm
    import seqeval.metrics.sequence_labeling as sl
    import seqeval.metrics.v1 as v1
    import seqeval.reporters as reporters
    import seqeval.scheme as ss

    for attr in ('f1_score', 'precision_score', 'recall_score', 'accuracy_score', 'performance_measure', 'classification_report'):
        wrap_function(sl, attr, 'sl.' + attr, aliases=(sm,))
    wrap_function(sl, 'get_entities', 'sl.get_entities')
    wrap_function(sl, 'precision_recall_fscore_support', 'sl.precision_recall_fscore_support')
    for attr in ('precision_recall_fscore_support', 'classification_report', 'unique_labels', 'check_consistent_length'):
        wrap_function(v1, attr, 'v1.' + attr)
    wrap_function(ss, 'auto_detect', 'ss.auto_detect')

    # Token(token, suffix): what it reads as prefix and tag.
    token_init = ss.Token.__init__

    def init(self, token, suffix=False, delimiter='-'):
        self._hanlab_suffix = suffix
        record('ss.Token', lambda: token_init(self, token, suffix=suffix, delimiter=delimiter),
               [type(self), token], {'suffix': suffix}, describe=lambda _: {'prefix': self.prefix.name, 'tag': self.tag})

    ss.Token.__init__ = init

    def token_method(method):
        original = getattr(ss.Token, method)

        def wrapper(self, *args):
            prev = [a.token for a in args]
            return record('ss.Token.' + method, lambda: original(self, *args),
                          [type(self), self.token] + prev, {'suffix': getattr(self, '_hanlab_suffix', False)})

        setattr(ss.Token, method, wrapper)

    for method in ('is_valid', 'is_start', 'is_inside', 'is_end'):
        token_method(method)

    tokens_init = ss.Tokens.__init__

    def tokens_new(self, tokens, scheme, suffix=False, delimiter='-', sent_id=None):
        self._hanlab_args = ([scheme, list(tokens)], {'suffix': suffix, 'sent_id': sent_id})
        _state['depth'] += 1
        try:
            tokens_init(self, tokens, scheme, suffix=suffix, delimiter=delimiter, sent_id=sent_id)
        finally:
            _state['depth'] -= 1

    ss.Tokens.__init__ = tokens_new
    entities_property = ss.Tokens.entities

    def tokens_entities(self):
        args, kwargs = self._hanlab_args
        return record('ss.Tokens.entities', lambda: entities_property.fget(self), args, kwargs)

    ss.Tokens.entities = property(tokens_entities)

    entities_init = ss.Entities.__init__

    def entities_new(self, sequences, scheme, suffix=False, delimiter='-'):
        self._hanlab_args = [scheme, sequences]
        self._hanlab_suffix = suffix
        record('ss.Entities', lambda: entities_init(self, sequences, scheme, suffix=suffix, delimiter=delimiter),
               [scheme, sequences], {'suffix': suffix}, describe=lambda _: None)

    ss.Entities.__init__ = entities_new
    entities_filter = ss.Entities.filter

    def entities_filter_recorded(self, tag_name):
        return record('ss.Entities.filter', lambda: entities_filter(self, tag_name),
                      self._hanlab_args + [tag_name], {'suffix': self._hanlab_suffix})

    ss.Entities.filter = entities_filter_recorded

    # Entity (a plain data class) and the reporters (the text layout's building blocks) have no
    # hanlab counterpart of the same shape; their calls are recorded so the test can count them.
    for cls, methods in ((ss.Entity, ('__init__', '__eq__', '__repr__')),
                         (reporters.DictReporter, ('write', 'report', 'write_blank')),
                         (reporters.StringReporter, ('write', 'report', 'write_blank', 'write_header'))):
        for method in methods:
            original = getattr(cls, method)

            def wrapper(self, *args, _original=original, _name='%s.%s' % (cls.__name__, method), **kwargs):
                return record(_name, lambda: _original(self, *args, **kwargs), args, kwargs, describe=lambda _: None)

            setattr(cls, method, wrapper)


def pytest_configure(config):
    install()


def pytest_runtest_setup(item):
    _state['test'] = item.nodeid


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ['HANLAB_SEQEVAL_RECORD'], 'w', encoding='utf-8') as out:
        for entry in RECORDS:
            out.write(json.dumps(entry, ensure_ascii=False))
            out.write('\n')
