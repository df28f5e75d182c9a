"""Rebuilds data/replay/*.jsonl from study 003's text (how the replay set was made; not run by tests).

Usage: python3 data/replay/build_replay.py <study 003 text> [data/klue-ner/klue-ner-v1.1_dev.tsv]

Study 003 prints model answers in three places:
  - its debug dump (the F1 = 0 run): "[Input]: <sentence>" / "[Model Output]: <answer>";
  - its wrong-case list: "입력: <sentence>" / "모델 생성(JSON): <answer>";
  - its "JSON Error: ```json ...```" dump, which prints answers without their sentences.
Each answer is matched to one KLUE dev sentence id:
  - by the sentence text: equal to the dev sentence's syllables joined, or else equal after NFKC,
    lower-casing and removing whitespace (the study's copy of KLUE writes 7.2㎞ where v1.1 writes
    7.2km), and only when exactly one dev sentence matches;
  - for the "JSON Error" dump: the only dev sentence that contains every listed entity (same
    normalisation). An answer that fits several sentences is left out, never guessed.
"""
import collections
import json
import os
import re
import sys
import unicodedata


def norm(text):
    return re.sub(r'\s+', '', unicodedata.normalize('NFKC', text)).lower()


def read_dev(path):
    sentences, current = [], None
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('## klue-ner'):
                current = {'id': line[3:].split('\t')[0], 'tokens': []}
                sentences.append(current)
            elif line and not line.startswith('##'):
                current['tokens'].append(line.split('\t')[0])
    for s in sentences:
        s['text'] = ''.join(s['tokens'])
    return sentences


def main(seed_path, dev_path):
    seed = open(seed_path, encoding='utf-8').read()
    sentences = read_dev(dev_path)
    by_text, by_norm = collections.defaultdict(list), collections.defaultdict(list)
    for s in sentences:
        by_text[s['text']].append(s['id'])
        by_norm[norm(s['text'])].append(s['id'])

    def by_sentence(text):
        if len(by_text.get(text, [])) == 1:
            return by_text[text][0], 'sentence text'
        if len(by_norm.get(norm(text), [])) == 1:
            return by_norm[norm(text)][0], 'sentence text (NFKC, case and whitespace ignored)'
        return None, None

    out = {}
    # The debug dump: after the "Output:" that precedes its first [Input] (the code above it also says [Input]).
    start = seed.index('[Input]:', seed.index('Output:\n[Input]:'))
    dump = seed[start:seed.index('...생략...', start)]
    rows = []
    for n, item in enumerate((x for x in dump.split('=' * 50) if '[Input]' in x), 1):
        m = re.search(r'\[Input\]: (.*?)\n\[Model Output\]: (.*?)\n\[True Tags\]:', item, re.S)
        rows.append((n, m.group(2), *by_sentence(m.group(1))))
    out['study003-debug-dump.jsonl'] = ('003 debug dump (F1 = 0 run), item', rows)

    start = seed.index('틀린 케이스:')
    cases = seed[start:seed.index('```', start)]
    rows = []
    for n, m in enumerate(re.finditer(r'입력: (.*?)\n\n모델 생성\(JSON\): (.*?)\n\n실제 정답', cases, re.S), 1):
        rows.append((n, m.group(2), *by_sentence(m.group(1))))
    out['study003-wrong-cases.jsonl'] = ('003 wrong-case list, case', rows)

    start = seed.index('JSON Error: ```json')
    errors = seed[start:seed.index('... 생략 ...', start)]
    rows = []
    for n, m in enumerate(re.finditer(r'JSON Error: (```json\n.*?\n```)', errors, re.S), 1):
        answer = m.group(1)
        listed = json.loads(answer.replace('```json', '').replace('```', ''))
        keys = [norm(v) for values in listed.values() for v in values]
        fits = [s['id'] for s in sentences if all(k in norm(s['text']) for k in keys)]
        if len(fits) == 1:
            rows.append((n, answer, fits[0], 'listed entities (the only dev sentence holding all of them)'))
        else:
            rows.append((n, answer, None, None))
            print(f'left out: "JSON Error" item {n} fits {len(fits)} dev sentences', file=sys.stderr)
    out['study003-fenced-answers.jsonl'] = ('003 "JSON Error" dump, item', rows)

    here = os.path.dirname(os.path.abspath(__file__))
    for name, (label, rows) in out.items():
        kept = [r for r in rows if r[2] is not None]
        with open(os.path.join(here, name), 'w', encoding='utf-8') as f:
            for n, answer, sid, how in kept:
                f.write(json.dumps({'id': sid, 'answer': answer, 'source': f'{label} {n}', 'matched_by': how}, ensure_ascii=False) + '\n')
        print(f'{name}: {len(kept)} of {len(rows)} answers matched')


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else 'data/klue-ner/klue-ner-v1.1_dev.tsv')
