/**
 * What lm-eval sends the model for one document: `doc_to_text` / `doc_to_target` / `doc_to_choice`
 * resolved as `ConfigurableTask` resolves them (a column name returns the column, anything else is a
 * template), the few-shot context built from `build_qa_turn` messages (description, then each example
 * with its target delimiter and few-shot delimiter, then the question), and the requests:
 * `(context, generation_kwargs)` for `generate_until`, `(context, target_delimiter + choice)` per
 * choice for `multiple_choice`.
 */
import { PythonRandom } from './python-random.js';
import { isPythonSpace, pythonIsAsciiDigits } from './python-text.js';
import type { DocField, LmevalTaskConfig } from './task-config.js';
import { applyTemplate, TemplateError } from './template.js';

export type LmevalDoc = Record<string, unknown>;

/** A document that lm-eval's logic cannot turn into a prompt (as lm-eval would fail on it too). */
export class PromptError extends Error {}

function isColumn(doc: LmevalDoc, field: string): boolean {
  return Object.hasOwn(doc, field);
}

function render(field: string, doc: LmevalDoc, what: string): string {
  try {
    return applyTemplate(field, doc);
  } catch (error) {
    if (error instanceof TemplateError) throw new PromptError(`${what}: ${error.message}`);
    throw error;
  }
}

/** `doc_to_text(doc, doc_to_text)`. */
export function docToText(task: LmevalTaskConfig, doc: LmevalDoc, field: DocField = task.docToText): string {
  if (typeof field === 'number') throw new PromptError('doc_to_text is a number (multiple inputs), which hanlab does not support');
  if (typeof field !== 'string') throw new PromptError('doc_to_text is not set');
  if (isColumn(doc, field)) {
    const value = doc[field];
    if (typeof value !== 'string') throw new PromptError(`doc_to_text names the column ${field}, which holds no text`);
    return value;
  }
  const text = render(field, doc, 'doc_to_text');
  if (pythonIsAsciiDigits(text) && task.docToChoice !== null) throw new PromptError('doc_to_text renders to a number (multiple inputs), which hanlab does not support');
  return text;
}

/** `doc_to_target(doc, doc_to_target)`: a string, or a choice index when the task has choices. */
export function docToTarget(task: LmevalTaskConfig, doc: LmevalDoc, field: DocField = task.docToTarget): string | number {
  if (typeof field === 'number') return field;
  if (Array.isArray(field) || field === null) throw new PromptError('doc_to_target is a list (multiple targets), which hanlab does not support');
  const template = field as string;
  if (isColumn(doc, template)) {
    const value = doc[template];
    if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return value;
    if (typeof value === 'bigint') return Number(value);
    throw new PromptError(`doc_to_target names the column ${template}, which holds neither text nor an integer`);
  }
  const text = render(template, doc, 'doc_to_target');
  if (pythonIsAsciiDigits(text) && task.docToChoice !== null) return Number(text);
  if (text.length >= 2 && text.startsWith('[') && text.endsWith(']')) {
    throw new PromptError('doc_to_target renders to a list (multiple targets), which hanlab does not support');
  }
  return text;
}

/** `ast.literal_eval` of a list of string literals, e.g. `['A', "B"]`. */
export function parsePythonStringList(text: string): string[] {
  const items: string[] = [];
  let i = 0;
  const skip = () => {
    while (i < text.length && isPythonSpace(text[i])) i++;
  };
  skip();
  if (text[i] !== '[') throw new PromptError(`doc_to_choice must render to a Python list of strings, got ${JSON.stringify(text.slice(0, 60))}`);
  i++;
  skip();
  while (text[i] !== ']') {
    const quote = text[i];
    if (quote !== "'" && quote !== '"') throw new PromptError(`doc_to_choice: only string items are supported, at ${JSON.stringify(text.slice(i, i + 20))}`);
    i++;
    let item = '';
    while (i < text.length && text[i] !== quote) {
      if (text[i] === '\n') throw new PromptError('doc_to_choice: a string literal spans a line');
      if (text[i] === '\\') {
        const next = text[i + 1];
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
        if (next !== undefined && Object.hasOwn(simple, next)) {
          item += simple[next];
          i += 2;
          continue;
        }
        throw new PromptError(`doc_to_choice: escape \\${next ?? ''} is not supported`);
      }
      item += text[i++];
    }
    if (i >= text.length) throw new PromptError('doc_to_choice: unterminated string');
    i++;
    items.push(item);
    skip();
    if (text[i] === ',') {
      i++;
      skip();
    } else if (text[i] !== ']') throw new PromptError(`doc_to_choice: expected , or ] at ${JSON.stringify(text.slice(i, i + 20))}`);
  }
  i++;
  skip();
  if (i !== text.length) throw new PromptError('doc_to_choice: text after the list');
  return items;
}

/** `doc_to_choice(doc, doc_to_choice)`: the list of choices. */
export function docToChoice(task: LmevalTaskConfig, doc: LmevalDoc, field: DocField = task.docToChoice): string[] {
  if (field === null) throw new PromptError('doc_to_choice is not set');
  if (Array.isArray(field)) return [...field];
  if (typeof field !== 'string') throw new PromptError('doc_to_choice must be a template, a column or a list');
  if (isColumn(doc, field)) {
    const value = doc[field];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new PromptError(`doc_to_choice names the column ${field}, which is not a list of strings`);
    return [...value];
  }
  return parsePythonStringList(render(field, doc, 'doc_to_choice'));
}

interface Message {
  content: string;
  delimiter: string;
}

/** `build_qa_turn` rendered as text (no gen_prefix: hanlab refuses tasks that set one). */
function qaTurn(question: string, choices: string[] | null, answer: string | number | null, targetDelimiter: string, fewshotDelimiter: string): Message[] {
  const hasAnswer = answer !== null && answer !== '';
  const messages: Message[] = [{ content: question, delimiter: hasAnswer ? targetDelimiter : '' }];
  if (hasAnswer) {
    let answerText: unknown = answer;
    if (choices && choices.length > 0 && typeof answer === 'number') {
      const index = answer < 0 ? choices.length + answer : answer;
      if (index < 0 || index >= choices.length) throw new PromptError(`few-shot target ${answer} is not a choice index (${choices.length} choices)`);
      answerText = choices[index];
    }
    if (typeof answerText !== 'string') throw new PromptError(`few-shot answer is not a string: ${String(answer)}`);
    messages.push({ content: answerText, delimiter: fewshotDelimiter });
  }
  return messages;
}

function resolveDescription(task: LmevalTaskConfig, doc: LmevalDoc): string {
  if (!task.description) return '';
  return isColumn(doc, task.description) ? String(doc[task.description] ?? '') : render(task.description, doc, 'description');
}

/** Python's `dict ==` for two documents (the sampler leaves the evaluated document out of its own context). */
function sameDoc(a: LmevalDoc, b: LmevalDoc): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && JSON.stringify(a[key]) === JSON.stringify(b[key]));
}

/** The few-shot sampler of one task run: `first_n`, or `default` drawing with Python's Random(seed). */
export class FewshotSampler {
  private readonly random: PythonRandom;

  constructor(
    private readonly task: LmevalTaskConfig,
    private readonly pool: readonly LmevalDoc[],
    seed = 1234,
  ) {
    this.random = new PythonRandom(seed);
  }

  /** `sampler.sample(n, eval_doc)`: eval_doc is passed when few-shot examples come from the test split. */
  sample(n: number, evalDoc: LmevalDoc | null): LmevalDoc[] {
    if (n === 0) return [];
    if (this.task.fewshot.sampler === 'first_n') {
      const pool = evalDoc ? this.pool.filter((doc) => !sameDoc(doc, evalDoc)) : this.pool;
      if (n > pool.length) throw new PromptError(`${n} few-shot examples asked for, but the few-shot split has ${pool.length}`);
      return pool.slice(0, n);
    }
    if (this.pool.length === 0) throw new PromptError('no few-shot documents to sample from');
    if (!evalDoc) {
      if (n > this.pool.length) throw new PromptError(`${n} few-shot examples asked for, but the few-shot split has ${this.pool.length}`);
      return this.random.sample(this.pool, n);
    }
    if (n + 1 > this.pool.length) throw new PromptError(`${n} few-shot examples asked for, but the few-shot split has ${this.pool.length} (one of them the question itself)`);
    const drawn = this.random.sample(this.pool, n + 1).filter((doc) => !sameDoc(doc, evalDoc)).slice(0, n);
    if (drawn.length !== n) throw new PromptError('the few-shot sample came out short');
    return drawn;
  }
}

/** `fewshot_context(doc, num_fewshot)` without a chat template: the prompt as one string. */
export function fewshotContext(task: LmevalTaskConfig, doc: LmevalDoc, numFewshot: number, sampler: FewshotSampler | null, fewshotFromTestSplit: boolean): string {
  const messages: Message[] = [];
  const description = resolveDescription(task, doc);
  if (description) messages.push({ content: description, delimiter: '' });
  if (numFewshot > 0) {
    if (!sampler) throw new PromptError(`num_fewshot is ${numFewshot} but there are no few-shot documents`);
    for (const example of sampler.sample(numFewshot, fewshotFromTestSplit ? doc : null)) {
      const fewshot = task.fewshot;
      const question = docToText(task, example, fewshot.docToText);
      const choices = fewshot.docToChoice !== null ? docToChoice(task, example, fewshot.docToChoice) : null;
      const answer = docToTarget(task, example, fewshot.docToTarget);
      messages.push(...qaTurn(question, choices, answer, fewshot.targetDelimiter, fewshot.fewshotDelimiter));
    }
  }
  messages.push(...qaTurn(docToText(task, doc), null, null, task.targetDelimiter, ''));
  return messages.map((message) => message.content + message.delimiter).join('');
}
