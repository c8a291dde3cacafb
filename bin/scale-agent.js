#!/usr/bin/env node
// Entry point of the `scale-agent` CLI. The sources are TypeScript; tsx compiles them on load so that a
// checkout runs without a separate build step. A container image may run `node dist/cli/main.js` instead.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
