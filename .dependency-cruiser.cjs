/**
 * The house rules (ARCHITECTURE.md draws them): which room of lib/ may import which, checked on every
 * `npm test` by tests/architecture/rules.test.ts (and by hand: `npx depcruise lib cli`).
 *
 * Each room lists the rooms it may import; anything else in lib/ is an upward import and fails. The
 * list is the picture of the floors: a room names only rooms on lower floors (or beside it, where no
 * arrow goes back). The files directly in lib/ (errors, random, processes, text-columns) are the
 * ground floor: every room may import them, and they import no room.
 */

/** room -> the rooms it may import (besides the ground floor). */
const MAY_IMPORT = {
  // The tensor floor: ops, parameters, rng, forward context, the backend-internals adapter.
  tensor: [],
  // Loads and names the TensorFlow.js backend (the device manifest); installs the tensor floor's products.
  backend: ['tensor'],
  // data reads and splits data sets; its seeded splits draw from the tensor floor's generator (lib/tensor/rng.ts).
  data: ['tensor'],
  // LLM code (extraction, generation, engines) sits with data -> model -> predictions.
  llm: ['data', 'tensor', 'backend', 'models'],
  ner: ['data', 'llm'],
  metrics: ['data', 'llm', 'ner'],
  // Why an LLM's good answers score F1 = 0: alignment (ner) read against the scores (metrics).
  diagnosis: ['data', 'llm', 'ner', 'metrics'],
  models: ['data', 'tensor', 'backend'],
  train: ['data', 'tensor', 'backend', 'models', 'metrics', 'ner', 'llm'],
  // The result contract and its renderers: below everything that shows results.
  results: [],
  // The notebook document: nbformat, parameters, the display API.
  notebook: ['data', 'results'],
  // A Jupyter client: protocol, kernelspecs, connections, local and remote kernels, iopub, runner.
  jupyter: ['data', 'backend', 'results', 'notebook'],
  // The hanlab kernel (the server side of the protocol).
  kernel: ['backend', 'results', 'notebook', 'jupyter'],
  // The report names the model that produced a notebook's answers (lib/llm/answer-provenance.ts).
  report: ['data', 'llm', 'results', 'notebook', 'jupyter'],
};

const rooms = Object.keys(MAY_IMPORT);
const alternatives = (names) => names.join('|');

/** One rule per room: it imports only the rooms it lists, the ground floor and itself. */
const floorRules = rooms.map((room) => ({
  name: `floor-${room}`,
  severity: 'error',
  comment: `lib/${room} may import only ${MAY_IMPORT[room].length ? MAY_IMPORT[room].map((r) => `lib/${r}`).join(', ') + ' and ' : ''}the files directly in lib/ (ARCHITECTURE.md)`,
  from: { path: `^lib/${room}/` },
  to: { path: '^lib/[^/]+/', pathNot: `^lib/(${alternatives([room, ...MAY_IMPORT[room]])})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-file-cycle',
      severity: 'error',
      comment: 'A file must not import itself through other files: untangle the cycle (move the shared part down).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment: 'A folder must not import itself through other folders: one of the arrows runs upward.',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'lib-not-above',
      severity: 'error',
      comment: 'lib/ is the library: it never imports the command (cli/), the notebooks or the templates.',
      from: { path: '^lib/' },
      to: { path: '^(cli|notebooks|templates)/' },
    },
    {
      name: 'ground-floor',
      severity: 'error',
      comment: 'The files directly in lib/ are the ground floor: they import no room.',
      from: { path: '^lib/[^/]+$' },
      to: { path: '^lib/[^/]+/' },
    },
    {
      name: 'unknown-room',
      severity: 'error',
      comment: 'Every folder of lib/ is a room of ARCHITECTURE.md: add a new one to MAY_IMPORT in .dependency-cruiser.cjs.',
      from: { path: `^lib/(?!(${alternatives(rooms)})/)[^/]+/` },
      to: {},
    },
    {
      name: 'backend-internals',
      severity: 'error',
      comment:
        "Only the tensor floor reads a backend's private members: go through lib/tensor (its ops and " +
        'memory), never lib/tensor/backend-internals.ts or a backend package\'s dist files.',
      from: { path: '^', pathNot: '^lib/(tensor|backend)/' },
      to: { path: ['^lib/tensor/backend-internals\\.ts$', '@tensorflow/tfjs-backend-[^/]+/(dist|src|wasm-out)/'] },
    },
    ...floorRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a type is a dependency of the design as much as a value.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    // Strings that hold code for another process (the remote host probe) are not imports.
    exclude: { path: '\\.d\\.ts$' },
  },
};
