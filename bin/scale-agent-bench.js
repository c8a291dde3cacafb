#!/usr/bin/env node
// Entry point of `npm run bench -- <name>`: benchmarks live in bench/ and are never part of `npm test`.
import { register } from 'tsx/esm/api';

register();
await import('../bench/main.ts');
