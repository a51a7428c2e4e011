// Hostile and broken specs: every input ends in a valid plan or a spec error with a position,
// never an unhandled exception; names that could escape the output directory are refused.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.ts';
import { SpecError } from '../../core/base/errors.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import { MINI_SPEC, REPO, miniSpec, planError, tempDir } from '../helpers/spec.ts';

/**
 * What loading a spec came to: a plan, or a spec error whose every error has a file and line.
 * Anything else (another exception, an error with no position) is reported as `broken`, with
 * what was wrong, so the property fails saying why.
 */
function outcome(manifest: string): 'plan' | 'spec-error' | `broken: ${string}` {
  try {
    loadPlan(manifest);
    return 'plan';
  } catch (e) {
    if (!(e instanceof SpecError)) return `broken: ${e instanceof Error ? e.stack : String(e)}`;
    const errors = e.diagnostics.filter((x) => x.severity === 'error');
    if (!errors.length) return 'broken: a SpecError without errors';
    const unplaced = errors.find((d) => !d.file || !d.line);
    if (unplaced) return `broken: no position for "${unplaced.message}"`;
    return 'spec-error';
  }
}

const base = parse(MINI_SPEC) as Record<string, unknown>;

/** Sets a value at a random path of the spec. */
function mutate(doc: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(doc)) {
    const copy = [...doc];
    const i = Math.abs(Number(head)) % Math.max(1, copy.length);
    copy[i] = mutate(copy[i], rest, value);
    return copy;
  }
  if (doc && typeof doc === 'object') {
    const keys = Object.keys(doc);
    const key = typeof head === 'number' && keys.length ? keys[Math.abs(head) % keys.length]! : String(head);
    return { ...(doc as object), [key]: mutate((doc as Record<string, unknown>)[key], rest, value) };
  }
  return mutate({}, path, value);
}

const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('..', '../../etc', '/abs/path', 'a/b', 'nul\u0000byte', '{version}', '{nope}', 'base', 'runtime', 'amd64'),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constantFrom('base', 'runtime', 'amd64', '3.10'))),
  fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
);
const pathSeg = fc.oneof(fc.nat(20), fc.constantFrom('releases', 'distros', 'tags', 'parent', 'python', 'architectures', 'deb', 'base', 'runtime', 'image', 'registries', 'when', 'files'));

describe('hostile specs', () => {
  it('mutated valid specs end in a plan or a positioned spec error', () => {
    const { manifest } = miniSpec();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(pathSeg, { minLength: 1, maxLength: 4 }), anyValue), { minLength: 1, maxLength: 3 }), (muts) => {
        let doc: unknown = base;
        for (const [p, v] of muts) doc = mutate(doc, p, v);
        writeFileSync(manifest, stringify(doc));
        expect(outcome(manifest)).toMatch(/^(plan|spec-error)$/);
      }),
      { numRuns: 300 },
    );
  });

  it('random text and random YAML never crash the loader', () => {
    const { manifest } = miniSpec();
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.jsonValue().map((v) => stringify(v))), (text) => {
        writeFileSync(manifest, text);
        expect(outcome(manifest)).toBe('spec-error');
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['a distro named ..', MINI_SPEC.replace('  deb:\n', '  "..":\n').replace(/\{distro\}/g, '{alias}')],
    ['a release with a slash', MINI_SPEC.replace('  runtime:\n', '  "run/time":\n')],
    ['an absolute extra file path', MINI_SPEC.replace('    parent: base\n', '    parent: base\n    files: [{ path: "/etc/passwd", template: x }]\n')],
    ['an extra file escaping the directory', MINI_SPEC.replace('    parent: base\n', '    parent: base\n    files: [{ path: "../../x", template: x }]\n')],
    ['a template outside the template root', MINI_SPEC.replace('    parent: base\n', '    parent: base\n    dockerfile: ../../../../etc/passwd\n')],
  ])('refuses %s', (_what, yaml) => {
    const { manifest } = miniSpec({ 'manifest.yaml': yaml });
    expect(outcome(manifest)).toBe('spec-error');
  });

  it('refuses a spec file over the size limit with a clear error', () => {
    const { manifest } = miniSpec();
    writeFileSync(manifest, MINI_SPEC + `vars:\n  big: "${'x'.repeat(4 * 1024 * 1024)}"\n`);
    expect(planError(manifest).diagnostics[0]!.message).toMatch(/spec file is \d+ bytes; the limit is 4194304/);
  });

  it('a symlinked template pointing outside the root is refused', async () => {
    const { dir, manifest } = miniSpec();
    const { symlinkSync, rmSync } = await import('node:fs');
    rmSync(join(dir, 'templates/partials/run.eta'));
    symlinkSync('/etc/hostname', join(dir, 'templates/partials/run.eta'));
    expect(outcome(manifest)).toBe('spec-error');
  });
});

/**
 * The CLI's `generate`, in this process (thousands of runs would not fit a process each):
 * exit code, everything printed, and whether anything was written.
 */
async function generateInProcess(manifest: string, out: string): Promise<{ code: number; text: string }> {
  const chunks: string[] = [];
  const take = (c: string | Uint8Array) => (chunks.push(String(c)), true);
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(take), vi.spyOn(process.stderr, 'write').mockImplementation(take)];
  try {
    const code = await main(['generate', manifest, '--output', out]);
    return { code, text: chunks.join('') };
  } finally {
    for (const s of spies) s.mockRestore();
    process.exitCode = undefined;
  }
}

const PROTO_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'prototype', 'isPrototypeOf'];
const NASTY = fc.constantFrom('\u0000', '\n', '\r', '\u001b[31m', '\u0007', '\u202e', '\u2066', '\t', '\u007f', '\u0085');

/** One edit of a spec document: delete, retype, rename to a prototype name, inject control characters, deepen. */
const edit = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), path: fc.array(fc.nat(30), { minLength: 1, maxLength: 4 }) }),
  fc.record({ op: fc.constant('retype' as const), path: fc.array(fc.nat(30), { minLength: 1, maxLength: 4 }), value: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}), fc.string({ maxLength: 8 })) }),
  fc.record({ op: fc.constant('proto' as const), path: fc.array(fc.nat(30), { minLength: 1, maxLength: 4 }), name: fc.constantFrom(...PROTO_NAMES), key: fc.boolean() }),
  fc.record({ op: fc.constant('inject' as const), path: fc.array(fc.nat(30), { minLength: 1, maxLength: 4 }), bad: NASTY, key: fc.boolean() }),
  fc.record({ op: fc.constant('deepen' as const), path: fc.array(fc.nat(30), { minLength: 1, maxLength: 3 }), depth: fc.integer({ min: 1, max: 120 }) }),
);
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

/** Applies an edit at the node a path of indices picks (each index chooses among a node's keys or items). */
function apply(doc: unknown, e: Edit): unknown {
  const walk = (node: unknown, path: number[]): unknown => {
    if (!node || typeof node !== 'object') return node;
    const entries = Array.isArray(node) ? node.map((v, i) => [i, v] as const) : Object.entries(node);
    if (!entries.length) return node;
    const [k, v] = entries[path[0]! % entries.length]!;
    const rest = path.slice(1);
    const set = (nv: unknown, nk: string | number = k): unknown => {
      if (Array.isArray(node)) return node.map((x, i) => (i === k ? nv : x));
      const o: Record<string, unknown> = {};
      for (const [kk, vv] of Object.entries(node)) Object.defineProperty(o, kk === k ? String(nk) : kk, { value: kk === k ? nv : vv, enumerable: true, writable: true, configurable: true });
      return o;
    };
    if (rest.length && v && typeof v === 'object') return set(walk(v, rest));
    switch (e.op) {
      case 'delete':
        return Array.isArray(node) ? node.filter((_, i) => i !== k) : Object.fromEntries(Object.entries(node).filter(([kk]) => kk !== k));
      case 'retype':
        return set(e.value);
      case 'proto':
        return e.key && !Array.isArray(node) ? set(v, e.name) : set(e.name);
      case 'inject':
        return e.key && !Array.isArray(node) ? set(v, `${k}${e.bad}x`) : set(typeof v === 'string' ? `${v.slice(0, 3)}${e.bad}${v.slice(3)}` : `x${e.bad}`);
      case 'deepen': {
        let nv: unknown = v;
        for (let i = 0; i < e.depth; i++) nv = [nv];
        return set(nv);
      }
    }
  };
  return walk(doc, e.path);
}

describe('mutated examples through the CLI (property)', () => {
  const check = async (manifest: string, out: string) => {
    const r = await generateInProcess(manifest, out);
    // Never a bug exit, never a stack trace; a refusal writes nothing.
    expect([0, 2], r.text.slice(-2000)).toContain(r.code);
    expect(r.text).not.toMatch(/internal error|^\s+at .*:\d+:\d+\)?$/m);
    expect(r.text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/);
    if (r.code === 2) {
      expect(r.text).toMatch(/\d+ errors?; nothing was written/);
      expect(existsSync(out)).toBe(false);
    }
    rmSync(out, { recursive: true, force: true });
  };

  it('the mini spec: every edit ends in a plan or positioned errors, nothing written on error', async () => {
    const { dir, manifest } = miniSpec();
    mkdirSync(join(dir, '.git'));
    const out = join(dir, 'gen');
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
        let doc: unknown = parse(MINI_SPEC);
        for (const e of edits) doc = apply(doc, e);
        writeFileSync(manifest, stringify(doc));
        await check(manifest, out);
      }),
      { numRuns: 1500 },
    );
  }, 240_000);

  it('the layered bento-server example: edits to either layer', async () => {
    const root = tempDir();
    cpSync(join(REPO, 'examples'), join(root, 'examples'), { recursive: true });
    cpSync(join(REPO, 'templates'), join(root, 'templates'), { recursive: true });
    mkdirSync(join(root, '.git'));
    const layers = [join(root, 'examples', 'specs.yaml'), join(root, 'examples', 'bento-server', 'manifest.yaml')];
    const originals = layers.map((f) => readFileSync(f, 'utf8'));
    const out = join(root, 'gen');
    await fc.assert(
      fc.asyncProperty(fc.nat(1), fc.array(edit, { minLength: 1, maxLength: 2 }), async (which, edits) => {
        layers.forEach((f, i) => writeFileSync(f, originals[i]!));
        let doc: unknown = parse(originals[which]!);
        for (const e of edits) doc = apply(doc, e);
        writeFileSync(layers[which]!, stringify(doc));
        await check(layers[1]!, out);
      }),
      { numRuns: 150 },
    );
  }, 240_000);
});
