#!/usr/bin/env -S npx tsx
// CLI entry: `tsx orchestrate.ts <command> ...`; with no command it builds
// (`tsx orchestrate.ts --target bento-server:cudnn`).
import { main } from './cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
