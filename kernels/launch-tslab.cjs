'use strict';
/**
 * Starts a hanlab kernel (lib/kernel/main.ts: the Jupyter protocol over tslab's TypeScript engine)
 * with the project root as working directory: tslab compiles with its working directory as rootDir, so
 * notebooks in notebooks/ import `./lib/...` and only work when the kernel runs from the root.
 *
 * Runs the compiled kernel from dist/ when that build matches the sources (bin/build-state.mjs), else
 * the TypeScript sources through tsx: slower to start, never stale.
 * Used by kernels/<name>/launch.cjs; argv: <connection_file>.
 */
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

function fail(kernelName, message) {
  process.stderr.write(`[${kernelName}] ${message}\n`);
  process.exit(1);
}

/** The project root: HANLAB_PROJECT_ROOT (written by `hanlab kernels install`) or two folders up from here. */
function projectRoot() {
  return path.resolve(process.env.HANLAB_PROJECT_ROOT || path.join(__dirname, '..'));
}

function launch(kernelName) {
  const connectionFile = process.argv[2];
  if (!connectionFile) fail(kernelName, 'usage: launch.cjs <connection_file> (Jupyter passes {connection_file})');
  // Jupyter may pass a path relative to its own working directory: resolve it before changing ours.
  const configPath = path.resolve(connectionFile);
  if (!fs.existsSync(configPath)) fail(kernelName, `connection file not found: ${configPath}`);
  const root = projectRoot();
  if (!fs.existsSync(path.join(root, 'node_modules', 'tslab', 'package.json'))) {
    fail(kernelName, `tslab is not installed in ${root} (run \`npm ci\` there)`);
  }
  process.chdir(root);
  process.env.HANLAB_PROJECT_ROOT = root;
  process.env.HANLAB_KERNEL = kernelName;
  if (kernelName === 'hanlab-gpu') process.env.HANLAB_REQUIRE_GPU = '1';
  start(kernelName, configPath, root).catch((error) => {
    // hanlab's own errors (a bad connection file) say what is wrong in one line: exit 2, no stack.
    if (isHanlabError(error)) {
      process.stderr.write(`[${kernelName}] ${error.message}\n`);
      process.exit(2);
    }
    fail(kernelName, `could not start: ${error && error.stack ? error.stack : error}`);
  });
}

/** An instance of lib/errors.ts' HanlabError (a class this CommonJS file cannot import). */
function isHanlabError(error) {
  for (let proto = error && Object.getPrototypeOf(error); proto; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor && proto.constructor.name === 'HanlabError') return true;
  }
  return false;
}

async function start(kernelName, connectionFile, root) {
  const { freshBuild } = await import(pathToFileURL(path.join(root, 'bin', 'build-state.mjs')).href);
  const dist = freshBuild(root);
  let main;
  let backendModule;
  if (dist) {
    main = path.join(dist, 'lib', 'kernel', 'main.js');
    backendModule = { path: path.join(dist, 'lib', 'backend', 'index.js'), loaderArgs: [] };
  } else {
    // tsx's ESM entry (its CommonJS one cannot register the loader); resolved from this checkout.
    const { register } = await import('tsx/esm/api');
    register();
    main = path.join(root, 'lib', 'kernel', 'main.ts');
    backendModule = { path: path.join(root, 'lib', 'backend', 'index.ts'), loaderArgs: ['--import', 'tsx'] };
  }
  const { runKernelProcess } = await import(pathToFileURL(main).href);
  await runKernelProcess({ connectionFile, kernelName, root, backendModule });
}

module.exports = { launch, fail, projectRoot };
