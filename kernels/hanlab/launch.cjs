#!/usr/bin/env node
'use strict';
// The `hanlab` kernel: tslab on the CPU (lib/backend picks tensorflow > wasm > cpu when a notebook calls initBackend()).
require('../launch-tslab.cjs').launch('hanlab');
