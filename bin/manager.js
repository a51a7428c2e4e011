#!/usr/bin/env node
// The installed `manager` command: loads the TypeScript entry through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
