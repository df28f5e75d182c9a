#!/usr/bin/env node
'use strict';
/**
 * The `hanlab-gpu` kernel host: tslab with TensorFlow.js on WebGPU (Dawn over the GPU's Vulkan driver;
 * @tensorflow/tfjs-node-gpu on CUDA remains an optional second choice where someone has libtensorflow).
 *
 * This kernel checks Dawn, the Vulkan loader and driver ICD, and that Dawn's adapter is a hardware one
 * (lib/kernel/gpu-gate.ts). Without a usable GPU it still starts, says why in its banner, and answers
 * every cell with an error naming what is missing, unless HANLAB_ALLOW_CPU_FALLBACK=1 (or, for a
 * software adapter in tests and CI, HANLAB_ALLOW_SOFTWARE_GPU=1).
 */
require('../launch-tslab.cjs').launch('hanlab-gpu');
