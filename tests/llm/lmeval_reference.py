"""Test helper: lm-eval's own code (the reference copy in ../shared/reference/lm-eval-kormedmcqa) and
Debian's jinja2, driven with JSON on stdin, for tests/llm/lmeval-*.test.ts.

lm-eval's modules import pieces of lm-eval that the reference copy does not hold (the Filter base
class, the metric registry, sacrebleu); small stand-ins are put in sys.modules first. The functions
under test (extract_choice, exact_match_hf_evaluate, mean, mean_stderr) are lm-eval's, unchanged.

    lmeval_reference.py pytest            run lm-eval's tests/test_kormedmcqa.py
    lmeval_reference.py cases             the (output, expected) cases of that test, as JSON
    lmeval_reference.py extract           stdin: [text, ...]             -> [extract_choice(text), ...]
    lmeval_reference.py exact_match       stdin: [{pred, ref, kwargs}]   -> [score, ...]
    lmeval_reference.py render            stdin: {templates, docs}       -> jinja2 renderings
    lmeval_reference.py prompts           stdin: {yaml, docs, fewshot_docs, num_fewshot} -> prompts
    lmeval_reference.py recompute FILE..  results and samples files      -> figures recomputed
    lmeval_reference.py recompute_mc FILE..  the same for multiple_choice (acc, acc_norm)
"""

import hashlib
import json
import os
import sys
import types

REFERENCE = os.environ.get("LMEVAL_REFERENCE") or os.path.join("..", "shared", "reference", "lm-eval-kormedmcqa")
sys.path.insert(0, os.path.abspath(REFERENCE))

filter_module = types.ModuleType("lm_eval.api.filter")


class Filter:
    def __init__(self, **kwargs):
        pass


filter_module.Filter = Filter
sys.modules["lm_eval.api.filter"] = filter_module
registry = types.ModuleType("lm_eval.api.registry")
registry.register_metric = lambda **kwargs: (lambda fn: fn)
registry.register_aggregation = lambda name: (lambda fn: fn)
sys.modules["lm_eval.api.registry"] = registry
sys.modules.setdefault("sacrebleu", types.ModuleType("sacrebleu"))

from lm_eval.api.metrics import exact_match_hf_evaluate, mean, mean_stderr  # noqa: E402
from lm_eval.tasks.kormedmcqa.utils import ExtractChoiceFilter, extract_choice  # noqa: E402


def jinja_env():
    # lm_eval/utils.py's environment
    from jinja2 import BaseLoader, Environment, StrictUndefined

    import re

    env = Environment(loader=BaseLoader, undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["regex_replace"] = lambda string, pattern, repl, count=0: re.sub(pattern, repl, string, count=count)
    return env


def render(request):
    env = jinja_env()
    out = []
    for item in request:
        out.append(env.from_string(item["template"]).render(**item["doc"]))
    return out


def load_task_yaml(path):
    """lm-eval's load_yaml: PyYAML with !function kept as its name, include merged under the file's keys."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: "!function " + loader.construct_scalar(node))
    with open(path, "rb") as fh:
        cfg = yaml.load(fh, Loader=Loader)
    if "include" not in cfg:
        return cfg
    includes = cfg.pop("include")
    merged = {}
    for inc in includes if isinstance(includes, list) else [includes]:
        merged.update(load_task_yaml(os.path.join(os.path.dirname(path), inc)))
    merged.update(cfg)
    return merged


def prompts(request):
    """Prompts of a few-shot generate_until task, from the YAML and jinja2 (examples drawn as lm-eval's
    first_n or default sampler draws them, Python's Random(1234)): each example is the
    few-shot doc_to_text, then (when its few-shot target is not empty) target_delimiter + target +
    fewshot_delimiter; the question's doc_to_text ends the prompt (lm-eval's build_qa_turn)."""
    cfg = load_task_yaml(request["yaml"])
    env = jinja_env()
    fewshot = cfg.get("fewshot_config") or {}
    text_t = fewshot.get("doc_to_text", cfg["doc_to_text"])
    target_t = fewshot.get("doc_to_target", cfg["doc_to_target"])
    import random

    rnd = random.Random(1234)  # lm-eval's fewshot_random_seed
    n = request["num_fewshot"]
    out = []
    for doc in request["docs"]:
        prompt = ""
        if fewshot.get("sampler", "default") == "first_n":
            examples = request["fewshot_docs"][:n]
        elif cfg.get("fewshot_split") == cfg.get("test_split"):
            examples = [x for x in rnd.sample(request["fewshot_docs"], n + 1) if x != doc][:n]
        else:
            examples = rnd.sample(request["fewshot_docs"], n)
        for example in examples:
            prompt += env.from_string(text_t).render(**example)
            target = env.from_string(target_t).render(**example)
            if target != "":
                prompt += cfg.get("target_delimiter", " ") + target + fewshot.get("fewshot_delimiter", cfg.get("fewshot_delimiter", "\n\n"))
        prompt += env.from_string(cfg["doc_to_text"]).render(**doc)
        out.append(prompt)
    return out


def recompute_multiple_choice(paths):
    """acc and acc_norm again from the logged log-likelihoods (numpy argmax, as process_results)."""
    import numpy as np

    results = json.load(open(paths[0], encoding="utf-8"))
    report = {}
    for path in paths[1:]:
        task = os.path.basename(path)[len("samples_"):].rsplit("_", 1)[0]
        delimiter = results["configs"][task].get("target_delimiter", " ")
        scores = {"acc": [], "acc_norm": []}
        mismatches = []
        for sample in (json.loads(line) for line in open(path, encoding="utf-8")):
            lls = np.array([float(r[0][0]) for r in sample["resps"]])
            choices = [arg["arg_1"][len(delimiter):] for arg in sample["arguments"].values()]
            lengths = np.array([float(len(c)) for c in choices])
            gold = int(sample["target"])
            acc = 1.0 if np.argmax(lls) == gold else 0.0
            acc_norm = 1.0 if np.argmax(lls / lengths) == gold else 0.0
            for name, value in (("acc", acc), ("acc_norm", acc_norm)):
                scores[name].append(value)
                if sample[name] != value:
                    mismatches.append({"doc_id": sample["doc_id"], "metric": name, "python": value, "hanlab": sample[name]})
        figures = {}
        for name, values in scores.items():
            figures[f"{name},none"] = mean(values)
            figures[f"{name}_stderr,none"] = mean_stderr(values)
        report[task] = {"figures": figures, "mismatches": mismatches}
    return report


def hash_string(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recompute(paths):
    """From lm-eval-format files: each sample's filtered answer and score again from its raw response
    (extract_choice, exact_match_hf_evaluate with the task config's options), the hashes again from
    the logged doc, prompt and target, and each task's mean and mean_stderr from those scores."""
    results = json.load(open(paths[0], encoding="utf-8"))
    report = {"tasks": {}}
    for path in paths[1:]:
        lines = [json.loads(line) for line in open(path, encoding="utf-8")]
        task = os.path.basename(path)[len("samples_"):].rsplit("_", 1)[0]
        config = results["configs"][task]
        filters = {f["name"]: f for f in config.get("filter_list", [])}
        metric_kwargs = {}
        for m in config.get("metric_list", [{"metric": "exact_match"}]):
            metric_kwargs[m["metric"]] = {k: v for k, v in m.items() if k not in ("metric", "aggregation", "higher_is_better", "hf_evaluate")}
        scores = {}
        mismatches = []
        for sample in lines:
            raw = sample["resps"][0][0]
            name = sample["filter"]
            steps = [s["function"] for s in filters[name]["filter"]] if name in filters else ["take_first"]
            answer = raw
            if any("ExtractChoiceFilter" in str(step) for step in steps):
                answer = ExtractChoiceFilter().apply([[raw]], [sample["doc"]])[0][0]
            if answer != sample["filtered_resps"][0]:
                mismatches.append({"doc_id": sample["doc_id"], "field": "filtered_resps", "python": answer, "hanlab": sample["filtered_resps"][0]})
            for metric, kwargs in metric_kwargs.items():
                score = float(exact_match_hf_evaluate(predictions=[answer], references=[sample["target"]], **kwargs)[metric])
                if score != sample[metric]:
                    mismatches.append({"doc_id": sample["doc_id"], "field": metric, "python": score, "hanlab": sample[metric]})
                scores.setdefault(f"{metric},{name}", []).append(score)
            doc_hash = hash_string(json.dumps(sample["doc"], indent=2, ensure_ascii=False))
            prompt_hash = hash_string(sample["arguments"]["gen_args_0"]["arg_0"])
            target_hash = hash_string(str(sample["target"]))
            for field, value in (("doc_hash", doc_hash), ("prompt_hash", prompt_hash), ("target_hash", target_hash)):
                if sample[field] != value:
                    mismatches.append({"doc_id": sample["doc_id"], "field": field, "python": value, "hanlab": sample[field]})
        figures = {}
        for key, values in scores.items():
            metric, name = key.split(",", 1)
            figures[key] = mean(values)
            figures[f"{metric}_stderr,{name}"] = mean_stderr(values) if len(values) > 1 else "N/A"
        task_hash = hash_string("".join(s["doc_hash"] + s["prompt_hash"] + s["target_hash"] for s in lines))
        report["tasks"][task] = {"figures": figures, "mismatches": mismatches, "task_hash": task_hash, "count": len(lines)}
    return report


def main():
    command = sys.argv[1]
    if command == "pytest":
        import pytest

        sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", os.path.join(REFERENCE, "tests", "test_kormedmcqa.py")]))
    if command == "cases":
        sys.path.insert(0, os.path.join(os.path.abspath(REFERENCE), "tests"))
        import test_kormedmcqa

        marks = test_kormedmcqa.test_kormedmcqa_extract_choice.pytestmark
        cases = [list(case) for mark in marks if mark.name == "parametrize" for case in mark.args[1]]
        print(json.dumps(cases, ensure_ascii=False))
        return
    request = json.load(sys.stdin) if not command.startswith("recompute") else None
    if command == "extract":
        result = [extract_choice(text) for text in request]
    elif command == "exact_match":
        result = [float(exact_match_hf_evaluate(predictions=[c["pred"]], references=[c["ref"]], **c["kwargs"])["exact_match"]) for c in request]
    elif command == "render":
        result = render(request)
    elif command == "prompts":
        result = prompts(request)
    elif command == "recompute":
        result = recompute(sys.argv[2:])
    elif command == "recompute_mc":
        result = recompute_multiple_choice(sys.argv[2:])
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
