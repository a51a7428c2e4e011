// Helpers for unit tests: throwaway spec trees on disk (planning reads real files).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpecError } from '../../core/base/errors.ts';
import { loadPlan } from '../../core/plan/plan.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BENTO_MANIFEST = join(REPO, 'examples', 'bento-server', 'manifest.yaml');
export const PYTHON_BASE_MANIFEST = join(REPO, 'examples', 'python-base', 'manifest.yaml');

/** Every dir tempDir made in this test file, removed after the file (test/helpers/teardown.ts). */
const made = new Set<string>();

export function tempDir(prefix = 'manager-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Removes what tempDir made; returns how many it removed. Also called when tests failed. */
export function removeTempDirs(): number {
  const n = made.size;
  for (const dir of made) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  made.clear();
  return n;
}

/** Writes files (path → content) under a new temp dir and returns it. */
export function writeTree(files: Record<string, string>, dir = tempDir()): string {
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

/** A small valid spec: two releases, one distro, two arches, with templates. */
export const MINI_SPEC = `package: mini
version: 1.2.3
templates: ./templates
python: ["3.10", "3.11"]
architectures:
  amd64: linux/amd64
  arm64v8: linux/arm64
releases:
  base:
    tags: ["base-python{python}-{distro}"]
  runtime:
    parent: base
    tags: ["{version}-python{python}-{alias}-runtime"]
distros:
  deb:
    alias: d
    family: debian
    package_manager: apt
    image: example/python:{python}
    architectures: [amd64, arm64v8]
    releases: [base, runtime]
registries:
  hub:
    kind: dockerhub
    namespace: acme
    readme: true
`;

export const MINI_TEMPLATES: Record<string, string> = {
  'templates/debian/base.Dockerfile.eta': 'ARG PYTHON_VERSION\nFROM <%= it.distro.image %>\nRUN echo base\n',
  'templates/debian/runtime.Dockerfile.eta': 'ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\n<%~ include("../partials/run", it) -%>\n',
  'templates/partials/run.eta': 'RUN echo runtime\n',
};

export function miniSpec(overrides: Record<string, string> = {}): { dir: string; manifest: string } {
  const dir = writeTree({ 'manifest.yaml': MINI_SPEC, ...MINI_TEMPLATES, ...overrides });
  return { dir, manifest: join(dir, 'manifest.yaml') };
}

/** The SpecError planning a manifest throws; fails the test when it plans cleanly. */
export function planError(manifest: string): SpecError {
  try {
    loadPlan(manifest);
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error(`expected ${manifest} to be rejected`);
}

/** The 1-based line of the first line (at or after 0-based line `from`) containing `needle`: where a diagnostic should point. */
export function lineOf(text: string, needle: string, from = 0): number {
  const i = text.split('\n').findIndex((l, n) => n >= from && l.includes(needle));
  if (i < 0) throw new Error(`no line has ${needle}`);
  return i + 1;
}
