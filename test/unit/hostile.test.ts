// Hostile and broken specs: every input ends in a valid plan or a spec error with a position,
// never an unhandled exception; names that could escape the output directory are refused.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../core/errors.ts';
import { loadPlan } from '../../core/plan.ts';
import { MINI_SPEC, miniSpec, planError } from '../helpers/spec.ts';

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
