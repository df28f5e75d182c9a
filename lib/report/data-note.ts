/**
 * The data note every study report opens with (issue 25): what its figures were computed from. The
 * wording lives in one template macro (`dataNote` in templates/_study.njk); a notebook only says which
 * of four kinds of source it read, and names the files.
 *
 * - `shipped`: a real data set shipped in `data/` (KLUE NER dev, NSMC);
 * - `replay`: model answers the study printed (debug dumps, wrong-case lists): real answers, but a
 *   biased sample, never an estimate of the model's score;
 * - `reconstructed`: records rebuilt from the study's published tables (`provenance.json` beside them
 *   says so): wherever they agree with the study, they agree by construction;
 * - `user`: any other file of the same format: agreement with the study is then independent;
 * - `generated`: answers a local model generated in this run (`-p model_file=...`); `generatedBy`
 *   names the model, quantization, LoRA and sampling.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AnswerProvenance } from '../llm/answer-provenance.js';

export type DataSource = 'shipped' | 'replay' | 'reconstructed' | 'user' | 'generated';

export interface DataNote {
  source: DataSource;
  /** The files or folders read, as the notebook names them (project-relative). */
  files: string[];
  /** The notebook's own sentence about this data (may be empty). */
  text: string;
  /**
   * For `reconstructed` records: false when only part of the data was rebuilt (a gold file) and the
   * figures compared with the study come from this run (a model trained here); default true.
   */
  byConstruction?: boolean;
  /** For `generated` answers: what generated them. */
  generatedBy?: AnswerProvenance;
}

export interface Provenance {
  reconstruction?: boolean;
  study?: string;
  note_ko?: string;
}

/** `provenance.json` in `dir`, or null when there is none or it is not a JSON object. */
export function readProvenance(dir: string): Provenance | null {
  const file = path.join(dir, 'provenance.json');
  if (!existsSync(file)) return null;
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Provenance) : null;
  } catch {
    return null;
  }
}

/**
 * The note of a notebook that reads a study's records from `dir`: `reconstructed` when a
 * `provenance.json` there says the records were rebuilt from this study's tables, else `user`.
 */
export function studyRecordsNote(dir: string, study: string, files: string[], userText = ''): DataNote {
  const provenance = readProvenance(dir);
  const rebuilt = provenance?.reconstruction === true && provenance.study === study;
  return rebuilt ? { source: 'reconstructed', files, text: provenance?.note_ko ?? '' } : { source: 'user', files, text: userText };
}
