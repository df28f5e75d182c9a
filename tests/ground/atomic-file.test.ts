/** lib/atomic-file.ts: a file is written whole or not at all. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFileAtomically } from '../../lib/atomic-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-atomic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the bytes replace the file; only the file is left', () => {
  const file = path.join(dir, 'whole.bin');
  writeFileSync(file, 'old');
  writeFileAtomically(file, (fd) => {
    writeSync(fd, '새 ');
    writeSync(fd, 'bytes');
  });
  assert.equal(readFileSync(file, 'utf8'), '새 bytes');
  assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('whole.bin')), ['whole.bin']);
});

test('a writer that fails leaves the file as it was and no temporary file', () => {
  const file = path.join(dir, 'kept.bin');
  writeFileSync(file, 'old');
  let replaced = false;
  assert.throws(
    () =>
      writeFileAtomically(
        file,
        (fd) => {
          writeSync(fd, 'half');
          throw new Error('disk full');
        },
        { beforeReplace: () => (replaced = true) },
      ),
    /disk full/,
  );
  assert.equal(readFileSync(file, 'utf8'), 'old');
  assert.equal(replaced, false);
  assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('kept.bin')), ['kept.bin']);
});

test('the named temporary file holds the bytes when beforeReplace runs, and is renamed after it', () => {
  const file = path.join(dir, 'named.bin');
  const temporary = `${file}.tmp-mine`;
  const seen: string[] = [];
  writeFileAtomically(file, (fd) => writeSync(fd, 'done'), {
    temporary,
    beforeReplace: () => seen.push(readFileSync(temporary, 'utf8'), String(existsSync(file))),
  });
  assert.deepEqual(seen, ['done', 'false']);
  assert.equal(readFileSync(file, 'utf8'), 'done');
  assert.equal(existsSync(temporary), false);
});

test('a failed replace (beforeReplace throws) leaves the file as it was and no temporary file', () => {
  const file = path.join(dir, 'unreplaced.bin');
  writeFileSync(file, 'old');
  assert.throws(() => writeFileAtomically(file, (fd) => writeSync(fd, 'new'), { beforeReplace: () => { throw new Error('keep the old one'); } }), /keep the old one/);
  assert.equal(readFileSync(file, 'utf8'), 'old');
  assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('unreplaced.bin')), ['unreplaced.bin']);
});

test('private: the file is 0600, and the temporary file is never written through an existing one', () => {
  const file = path.join(dir, 'private.bin');
  writeFileAtomically(file, (fd) => writeSync(fd, 'mine'), { private: true });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const temporary = `${file}.planted`;
  writeFileSync(temporary, 'planted');
  assert.throws(() => writeFileAtomically(file, (fd) => writeSync(fd, 'again'), { temporary, private: true }), /EEXIST/);
  assert.equal(readFileSync(file, 'utf8'), 'mine');
  assert.equal(readFileSync(temporary, 'utf8'), 'planted');
});
