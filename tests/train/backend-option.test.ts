/** `--backend` of hanlab train / predict: a name lib/backend's parseBackendChoice knows, or a usage error with the list. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { run as train } from '../../cli/commands/train.js';
import { run as predict } from '../../cli/commands/predict.js';
import { UsageError } from '../../lib/errors.js';

const saved = process.env.HANLAB_BACKEND;
after(() => {
  if (saved === undefined) delete process.env.HANLAB_BACKEND;
  else process.env.HANLAB_BACKEND = saved;
});

test('--backend names a backend lib/backend knows, or exits 2 (a UsageError) with the list', async () => {
  const unknown = (error: unknown) => error instanceof UsageError && /--backend="vulkan" is not a backend; use one of webgpu, /.test(error.message);
  await assert.rejects(train(['--config', 'data/nsmc/config.ini', '--backend', 'vulkan']), unknown);
  await assert.rejects(predict(['--model', 'missing.hanlab', '--text', '안녕', '--backend', 'vulkan']), unknown);
});
