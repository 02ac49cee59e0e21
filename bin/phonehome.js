#!/usr/bin/env node
// The phonehome command. The harness is TypeScript run through tsx, so there is no build step
// between editing a scenario and running it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
