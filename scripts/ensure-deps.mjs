// Runs before `npm start` / `npm test`: installs the locked dependencies on a fresh clone,
// so the README's quick start is two commands. Does nothing when node_modules is current.
import { existsSync, statSync } from 'node:fs';
import { execSync } from 'node:child_process';

const installed = 'node_modules/.package-lock.json';
const stale = !existsSync(installed) || statSync('package-lock.json').mtimeMs > statSync(installed).mtimeMs + 1000;
if (stale) {
  console.error('hanlab: installing dependencies (npm ci) ...');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}
