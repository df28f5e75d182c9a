/**
 * `lib/models`: pretrained Hugging Face encoders (BERT, RoBERTa / XLM-R, ELECTRA, DeBERTa-v2/v3) loaded
 * from local folders into TensorFlow.js, with LoRA and the HF / PEFT file layouts. Fine-tuning itself
 * (data, trainer, saving) is `fineTuneEncoder` in lib/train.
 *
 *   const model = await PretrainedEncoder.load('models/klue-bert-base', { task: 'sequence-classification', labels: ['0', '1'], lora: null, seed: 42 });
 */
export { PretrainedEncoder, type EncoderSetup, type EncoderOutput, type CheckpointTensor } from './pretrained.js';
export type { EncoderInputs, EncoderTask } from './architecture.js';
export { readEncoderConfig, MODEL_TYPES, type Architecture, type EncoderConfig } from './config.js';
export { openModelFolder, downloadHint, type ModelFolder } from './folder.js';
export { EncoderTokenizer, type EncodedText } from './tokenizer.js';
export { DEFAULT_LORA, formatTrainableParameters, type LoraSettings } from './lora.js';
export { writeMergedModel, writeAdapter, loadFineTuned, HANLAB_MODEL_FILE, type FineTunedInfo } from './export.js';
export { SafetensorsArchive, writeSafetensors } from './safetensors.js';
