/** The architecture implementation for each family (one file per architecture). */
import type { ArchitectureImpl } from './architecture.js';
import { bert } from './bert.js';
import type { Architecture } from './config.js';
import { debertaV2 } from './deberta-v2.js';
import { electra } from './electra.js';
import { roberta } from './roberta.js';

export const ARCHITECTURES: Readonly<Record<Architecture, ArchitectureImpl>> = { bert, roberta, electra, 'deberta-v2': debertaV2 };
