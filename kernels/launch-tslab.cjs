'use strict';
/**
 * Starts the project's own pinned tslab as a Jupyter kernel, with the project root as working
 * directory: tslab compiles with its working directory as rootDir, so notebooks in notebooks/ import
 * `./lib/...` and only work when the kernel runs from the root.
 *
 * Plain CommonJS (no TypeScript, no tsx) so the kernel starts as fast as tslab itself.
 * Used by kernels/<name>/launch.cjs; argv: <connection_file>.
 */
const fs = require('node:fs');
const path = require('node:path');

function fail(kernelName, message) {
  process.stderr.write(`[${kernelName}] ${message}\n`);
  process.exit(1);
}

/** The project root: HANLAB_PROJECT_ROOT (written by `hanlab kernels install`) or two folders up from here. */
function projectRoot() {
  return path.resolve(process.env.HANLAB_PROJECT_ROOT || path.join(__dirname, '..'));
}

function launch(kernelName, beforeStart) {
  const connectionFile = process.argv[2];
  if (!connectionFile) fail(kernelName, 'usage: launch.cjs <connection_file> (Jupyter passes {connection_file})');
  // Jupyter may pass a path relative to its own working directory: resolve it before changing ours.
  const configPath = path.resolve(connectionFile);
  if (!fs.existsSync(configPath)) fail(kernelName, `connection file not found: ${configPath}`);
  const root = projectRoot();
  const tslabMain = path.join(root, 'node_modules', 'tslab', 'dist', 'main.js');
  if (!fs.existsSync(tslabMain)) {
    fail(kernelName, `tslab is not installed in ${root} (run \`npm ci\` there); looked for ${tslabMain}`);
  }
  process.chdir(root);
  process.env.HANLAB_PROJECT_ROOT = root;
  process.env.HANLAB_KERNEL = kernelName;
  if (beforeStart) beforeStart(root);
  if (process.env.HANLAB_EXIT_WITH_PARENT === '1') exitWithParent(kernelName);
  const tslabVersion = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'tslab', 'package.json'), 'utf8')).version;
  // enableFindLocal: false — we already chose the project's tslab; do not search from another folder.
  require(tslabMain).startKernel({ configPath, enableFindLocal: false, jsKernel: false, globalVersion: tslabVersion });
}

/**
 * `hanlab run` sets HANLAB_EXIT_WITH_PARENT=1: if the runner dies without stopping us (SIGKILL, OOM),
 * we are re-parented, and then we exit instead of running on with open ports.
 */
function exitWithParent(kernelName) {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      process.stderr.write(`[${kernelName}] the process that started this kernel is gone; exiting\n`);
      process.exit(0);
    }
  }, 1000);
  timer.unref();
}

module.exports = { launch, fail, projectRoot };
