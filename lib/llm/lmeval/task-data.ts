/**
 * The documents of an lm-eval task, read from local files instead of the Hugging Face Hub. hanlab
 * reads KorMedMCQA (`dataset_path: sean0042/KorMedMCQA`) with lib/data/kormedmcqa.ts: `dataset_name`
 * picks the subset, `test_split` / `fewshot_split` the files by name (`doctor-test.csv`,
 * `doctor/fewshot-….parquet`); a file that names no split (`doctor.csv`) serves as the test split.
 * Each document is the record as read, typed as the Hub's features type it (`year`, `period`,
 * `q_number` and `answer` are integers; a letter answer becomes 1–5), so the templates and lm-eval's
 * `doc` field see what lm-eval sees.
 */
import { InputError } from '../../errors.js';
import { loadKorMedMcqa, MCQA_LETTERS, MCQA_SUBSETS, type McqaQuestion, type McqaSubset } from '../../data/kormedmcqa.js';
import type { LmevalDoc } from './prompts.js';
import type { LmevalTaskData } from './runner.js';
import type { LmevalTaskConfig } from './task-config.js';

export const KORMEDMCQA_DATASET = 'sean0042/KorMedMCQA';
const INTEGER_FEATURES = new Set(['year', 'period', 'q_number']);

/** A KorMedMCQA record as the Hub's `datasets` row: integer features as numbers, everything else as read. */
export function kormedmcqaDoc(question: McqaQuestion): LmevalDoc {
  const doc = Object.create(null) as LmevalDoc; // column names come from the file
  for (const [column, value] of Object.entries(question.cells)) {
    if (column === 'answer') doc.answer = MCQA_LETTERS.indexOf(question.answer) + 1;
    else if (INTEGER_FEATURES.has(column) && value !== null && value !== undefined && /^\s*-?\d+\s*$/.test(String(value))) doc[column] = Number(String(value).trim());
    else doc[column] = typeof value === 'bigint' ? Number(value) : value;
  }
  return doc;
}

/** Reads the task's documents from a KorMedMCQA file or folder. */
export async function loadLmevalTaskData(task: LmevalTaskConfig, dataPath: string, numFewshot: number): Promise<LmevalTaskData> {
  if (task.datasetPath !== KORMEDMCQA_DATASET) {
    throw new InputError(`${JSON.stringify(task.datasetPath)} is not a data set hanlab reads (it reads ${KORMEDMCQA_DATASET} files)`, { file: task.file, field: 'dataset_path' });
  }
  const subset = task.datasetName;
  if (subset === null || !(MCQA_SUBSETS as readonly string[]).includes(subset)) {
    throw new InputError(`must be one of ${MCQA_SUBSETS.join(', ')}, got ${JSON.stringify(subset)}`, { file: task.file, field: 'dataset_name' });
  }
  const data = await loadKorMedMcqa(dataPath, { subsets: [subset as McqaSubset], subset: subset as McqaSubset });
  const bySplit = (split: string | null) => data.questions.filter((question) => question.split === split);
  const evalSplit = task.testSplit ?? task.validationSplit;
  if (evalSplit === null) throw new InputError('the task names no test_split or validation_split to evaluate', { file: task.file, field: 'test_split' });
  let evalQuestions = bySplit(evalSplit);
  if (evalQuestions.length === 0) evalQuestions = bySplit(null);
  if (evalQuestions.length === 0) {
    throw new InputError(`has no ${subset} questions of the ${evalSplit} split (name the file ${subset}-${evalSplit}.csv or ${subset}.csv)`, { file: dataPath });
  }
  const fewshotSplit = task.fewshot.split ?? task.trainingSplit ?? task.validationSplit ?? evalSplit;
  const fewshotQuestions = fewshotSplit === evalSplit ? evalQuestions : bySplit(fewshotSplit);
  if (numFewshot > 0 && fewshotQuestions.length === 0) {
    throw new InputError(`has no ${subset} questions of the ${fewshotSplit} split for ${numFewshot}-shot prompts (name the file ${subset}-${fewshotSplit}.csv)`, { file: dataPath });
  }
  return {
    evalDocs: evalQuestions.map(kormedmcqaDoc),
    fewshotDocs: fewshotQuestions.length > 0 ? fewshotQuestions.map(kormedmcqaDoc) : null,
    // lm-eval leaves the question out of its own examples only when fewshot split == test_split
    fewshotFromTestSplit: task.fewshot.split === task.testSplit,
  };
}
