/**
 * lm-eval's response filters: each turns every document's list of responses into what the metric
 * reads. A task's `filter_list` names pipelines of these steps; hanlab has lm-eval's built-in
 * `take_first`, `lowercase`, `uppercase`, `remove_whitespace` and `regex`, and KorMedMCQA's
 * `utils.ExtractChoiceFilter` (the answer-extraction cascade of the paper's Appendix B) re-stated here.
 */
import { pythonRegExp, pythonStrip, translatePythonRegex } from './python-text.js';

export interface FilterStep {
  /** A built-in name (`take_first`) or a `!function module.Class` reference as written in the YAML. */
  function: string;
  options: Record<string, unknown>;
}

export interface FilterFunction {
  options: readonly string[];
  /** Throws a message when an option is unusable. */
  check?(options: Record<string, unknown>): void;
  /** One response list per document in, one filtered value per document out. */
  apply(responses: readonly unknown[], options: Record<string, unknown>): unknown[];
}

function eachString(responses: readonly unknown[], name: string, map: (text: string) => unknown): unknown[] {
  return responses.map((list) => {
    if (!Array.isArray(list)) throw new Error(`${name} needs a list of responses per document (put it before take_first)`);
    return list.map((response) => {
      if (typeof response !== 'string') throw new Error(`${name} works on generated text, not on ${typeof response} responses`);
      return map(response);
    });
  });
}

/**
 * KorMedMCQA's answer-extraction cascade (lm-eval `kormedmcqa/utils.py`): the first pattern that matches
 * anywhere gives the answer, its last match wins; no match gives "". Python's `\b` sees Hangul as word
 * characters, so `정답B` has no boundary before `B`.
 */
export const CHOICE_PATTERNS = ['정답[:\\s]*([ABCDE])', '정답은\\s*([ABCDE])\\s*입니다', '\\b([ABCDE])\\.', '\\b([ABCDE])\\b'] as const;

export function extractChoice(output: string): string {
  for (const pattern of CHOICE_PATTERNS) {
    const matches = [...output.matchAll(pythonRegExp(pattern, { ignoreCase: true }))];
    if (matches.length > 0) return matches[matches.length - 1][1].toUpperCase();
  }
  return '';
}

function regexFilterOptions(options: Record<string, unknown>) {
  const pattern = options.regex_pattern ?? '#### (\\-?[0-9\\.\\,]+)';
  const groupSelect = options.group_select ?? 0;
  const fallback = options.fallback ?? '[invalid]';
  return { pattern: pattern as string, groupSelect: groupSelect as number, fallback: fallback as string };
}

export const FILTER_FUNCTIONS: Record<string, FilterFunction> = {
  take_first: {
    options: [],
    apply: (responses) =>
      responses.map((list) => {
        if (!Array.isArray(list)) throw new Error('take_first needs a list of responses per document (it is already applied)');
        return list[0];
      }),
  },
  lowercase: { options: [], apply: (responses) => eachString(responses, 'lowercase', (text) => text.toLowerCase()) },
  uppercase: { options: [], apply: (responses) => eachString(responses, 'uppercase', (text) => text.toUpperCase()) },
  remove_whitespace: { options: [], apply: (responses) => eachString(responses, 'remove_whitespace', (text) => pythonStrip(text)) },
  regex: {
    options: ['regex_pattern', 'group_select', 'fallback'],
    check(options) {
      const { pattern, groupSelect, fallback } = regexFilterOptions(options);
      if (typeof pattern !== 'string') throw new Error('regex_pattern must be a string');
      if (typeof groupSelect !== 'number' || !Number.isInteger(groupSelect)) throw new Error('group_select must be an integer');
      if (typeof fallback !== 'string') throw new Error('fallback must be a string');
      translatePythonRegex(pattern);
      pythonRegExp(pattern);
    },
    apply(responses, options) {
      const { pattern, groupSelect, fallback } = regexFilterOptions(options);
      return eachString(responses, 'regex', (text) => {
        // re.findall: the whole match without groups, the group with one, a tuple of groups with more.
        const found = [...text.matchAll(pythonRegExp(pattern))].map((match) =>
          match.length === 1 ? match[0] : match.length === 2 ? (match[1] ?? '') : match.slice(1).map((group) => group ?? ''),
        );
        if (found.length === 0) return fallback;
        const index = groupSelect < 0 ? found.length + groupSelect : groupSelect;
        if (index < 0 || index >= found.length) throw new Error(`group_select ${groupSelect} is out of range: ${found.length} matches`);
        let match = found[index];
        if (Array.isArray(match)) {
          const nonEmpty = match.filter((group) => group !== '');
          match = nonEmpty.length > 0 ? nonEmpty[0] : fallback;
        }
        return pythonStrip(match as string);
      });
    },
  },
  '!function utils.ExtractChoiceFilter': { options: [], apply: (responses) => eachString(responses, 'ExtractChoiceFilter', extractChoice) },
};

/** Runs one pipeline's steps over every document's responses. */
export function applyFilterSteps(steps: readonly FilterStep[], responses: readonly unknown[][]): unknown[] {
  let current: unknown[] = [...responses];
  for (const step of steps) current = FILTER_FUNCTIONS[step.function].apply(current, step.options);
  return current;
}
