import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CHILD = ['--import', 'tsx', 'tests/train/resume-child.ts'];

interface Final {
  losses: number[];
  epochLosses: number[];
  events: string[];
}

function runToEnd(dir: string): Final {
  const result = spawnSync(process.execPath, [...CHILD, dir, '0'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

/** Starts a run and SIGKILLs it once it has reported `afterStep` updates. */
function killAfter(dir: string, afterStep: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CHILD, dir, '200'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = 0;
    let buffer = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const parsed = JSON.parse(line) as { step?: number };
        if (parsed.step !== undefined) seen = parsed.step;
        if (seen >= afterStep && child.exitCode === null) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(seen) : reject(new Error(`child ended without being killed (${signal})`))));
  });
}

test('a training process killed mid-epoch resumes from its checkpoint with the same loss curve', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'hanlab-resume-'));
  try {
    const uninterrupted = runToEnd(path.join(root, 'a'));
    assert.equal(uninterrupted.losses.length, 12);
    const killedDir = path.join(root, 'b');
    const reached = await killAfter(killedDir, 4);
    assert.ok(reached >= 4 && reached < 12, `killed after ${reached} updates`);
    assert.ok(existsSync(path.join(killedDir, 'checkpoint.hanlab')));
    assert.ok(
      readdirSync(killedDir).every((name) => name === 'checkpoint.hanlab' || name === 'checkpoint.hanlab.prev' || name.includes('.tmp-')),
      'only the checkpoint, the previous one (and maybe a torn temp file)',
    );
    const resumed = runToEnd(killedDir);
    assert.ok(resumed.events.includes('resume'));
    // A checkpoint torn by the kill does not stay behind: the resumed run removed it.
    assert.deepEqual(readdirSync(killedDir).filter((name) => name.includes('.tmp-')), []);
    assert.deepEqual(resumed.losses, uninterrupted.losses);
    assert.deepEqual(resumed.epochLosses, uninterrupted.epochLosses);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
