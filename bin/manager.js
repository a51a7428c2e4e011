#!/usr/bin/env node
// The installed `manager` command. Runs the bundled build (dist/manager.mjs, made by
// `npm run build`, which `npm ci` runs) when it is newer than every source file; otherwise
// loads the TypeScript sources through tsx, so a stale bundle is never used.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'manager.mjs');

function newestSource() {
  let newest = statSync(join(root, 'orchestrate.ts')).mtimeMs;
  for (const dir of ['cli', 'core', 'tasks', 'registries']) {
    if (!existsSync(join(root, dir))) continue;
    for (const f of readdirSync(join(root, dir))) newest = Math.max(newest, statSync(join(root, dir, f)).mtimeMs);
  }
  return newest;
}

if (existsSync(bundle) && (!existsSync(join(root, 'orchestrate.ts')) || statSync(bundle).mtimeMs >= newestSource())) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'orchestrate.ts')).href);
}
