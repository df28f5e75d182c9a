/**
 * The chat JSONL an LLM is fine-tuned on (study 003's `create_chat_dataset`): one record per
 * sentence with a system prompt, the sentence as the user turn and the JSON answer as the assistant
 * turn. The file is written the way study 003 writes it (`json.dump(entry, ensure_ascii=False)` per
 * line), so the two are byte-identical.
 */
import { writeFileSync } from 'node:fs';
import { HanlabError } from '../errors.js';
import { bioToJsonText } from './bio-to-json.js';

/** Study 003's system prompt. */
export const DEFAULT_NER_SYSTEM_PROMPT =
  '당신은 유능한 개체명 인식기(NER)입니다. ' +
  '입력된 문장에서 개체명을 추출하여 JSON 형식으로 출력하세요. ' +
  '개체명 태그는 다음과 같습니다: PS(사람), LC(장소), OG(기관), DT(날짜), TI(시간), QT(수량). ' +
  "해당하는 개체명이 없으면 빈 JSON '{}'을 출력하세요.";

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRecord {
  messages: ChatMessage[];
}

/** What a sentence needs to become a chat record (a KlueSentence fits). */
export interface TaggedSentence {
  tokens: readonly string[];
  tags: readonly string[];
  id?: string;
}

export interface ChatDatasetOptions {
  /** The system prompt; study 003's Korean prompt by default. */
  systemPrompt?: string;
}

/** One chat record: system prompt, user = `tokens.join('')`, assistant = the JSON answer text. */
export function buildChatRecord(sentence: TaggedSentence, opts: ChatDatasetOptions = {}): ChatRecord {
  if (sentence.tokens.length !== sentence.tags.length) {
    const name = sentence.id !== undefined ? `sentence ${sentence.id}` : 'a sentence';
    throw new HanlabError(`${name} has ${sentence.tokens.length} tokens but ${sentence.tags.length} tags`);
  }
  return {
    messages: [
      { role: 'system', content: opts.systemPrompt ?? DEFAULT_NER_SYSTEM_PROMPT },
      { role: 'user', content: sentence.tokens.join('') },
      { role: 'assistant', content: bioToJsonText(sentence.tokens, sentence.tags) },
    ],
  };
}

/** Chat records for many sentences, in order. */
export function buildChatDataset(sentences: Iterable<TaggedSentence>, opts: ChatDatasetOptions = {}): ChatRecord[] {
  const records: ChatRecord[] = [];
  for (const sentence of sentences) records.push(buildChatRecord(sentence, opts));
  return records;
}

/** Python's `json.dumps(value, ensure_ascii=False)` for JSON data (separators `, ` and `: `). */
export function pythonJsonDumps(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** The JSONL text: one record per line, each line ending in `\n`. */
export function chatJsonl(records: Iterable<ChatRecord>): string {
  let out = '';
  for (const record of records) out += pythonJsonDumps(record) + '\n';
  return out;
}

/** Writes the chat JSONL file (UTF-8). */
export function writeChatJsonl(path: string, records: Iterable<ChatRecord>): void {
  writeFileSync(path, chatJsonl(records), 'utf8');
}
