#!/usr/bin/env node
'use strict';
/**
 * The `hanlab-gpu` kernel host: tslab with TensorFlow.js on CUDA (@tensorflow/tfjs-node-gpu).
 *
 * tfjs-node-gpu quietly runs on the CPU when CUDA 11.2 / cuDNN 8.1 are missing. This kernel checks the
 * CUDA libraries, the native binding and that TensorFlow really runs on a CUDA device (lib/kernel/gpu-gate.ts).
 * Without a usable GPU it still starts, says why in its banner, and answers every cell with an error
 * naming what is missing, unless HANLAB_ALLOW_CPU_FALLBACK=1.
 */
require('../launch-tslab.cjs').launch('hanlab-gpu');
