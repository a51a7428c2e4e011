// The spec's JSON Schema as an editor uses it: every property described, enums and defaults
// where they exist, an $id to publish, and ajv (what editors' YAML servers run) accepts every
// example and finds a planted mistake.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/spec.ts';

const schema = JSON.parse(readFileSync(join(REPO, 'schema', 'manager.schema.json'), 'utf8')) as Record<string, unknown> & { $schema: string; $id: string };
const EXAMPLES = ['examples/bento-server/manifest.yaml', 'examples/python-base/manifest.yaml', 'examples/python-official/manifest.yaml', 'examples/nvidia-cuda/manifest.yaml', 'examples/lua/manifest.yaml', 'examples/specs.yaml'];

function properties(node: unknown, path = ''): { path: string; schema: Record<string, unknown> }[] {
  if (!node || typeof node !== 'object') return [];
  const n = node as Record<string, unknown>;
  const out: { path: string; schema: Record<string, unknown> }[] = [];
  for (const k of ['anyOf', 'oneOf', 'allOf']) if (Array.isArray(n[k])) for (const x of n[k] as unknown[]) out.push(...properties(x, path));
  if (n['items'] && typeof n['items'] === 'object') out.push(...properties(n['items'], `${path}[]`));
  if (n['additionalProperties'] && typeof n['additionalProperties'] === 'object') out.push(...properties(n['additionalProperties'], `${path}[*]`));
  for (const [k, v] of Object.entries((n['properties'] as Record<string, Record<string, unknown>>) ?? {})) {
    out.push({ path: `${path}.${k}`, schema: v }, ...properties(v, `${path}.${k}`));
  }
  return out;
}

function validator() {
  // The draft the schema says it is.
  const ajv = schema.$schema.includes('2020-12') ? new Ajv2020({ allErrors: true, strict: false }) : new Ajv({ allErrors: true, strict: false });
  // Formats (uri, …) checked as editors check them, not ignored.
  (addFormats as unknown as (a: typeof ajv) => void)(ajv);
  return ajv.compile(schema);
}

describe('the spec JSON Schema', () => {
  const all = properties(schema);
  it('describes every property, with an $id that can be published', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all.filter((p) => typeof p.schema['description'] !== 'string' || !p.schema['description']).map((p) => p.path)).toEqual([]);
    expect(schema.$id).toMatch(/^https:\/\/[^/]+\/manager\.schema\.json$/);
  });
  it('has enums and defaults where the spec has them', () => {
    const at = (p: string) => all.find((x) => x.path === p)!.schema;
    expect(JSON.stringify(at('.distros[*].package_manager'))).toMatch(/"enum":\["apt","dnf","microdnf","tdnf","yum","apk","zypper"\]/);
    expect(at('.build').properties).toBeDefined();
    // No fixed default: unset, the worker count is chosen from the builder.
    const maxWorkers = (at('.build') as { properties: Record<string, { default?: unknown; description?: string }> }).properties['max_workers']!;
    expect('default' in maxWorkers).toBe(false);
    expect(maxWorkers.description).toMatch(/chosen from the builder/);
    expect((at('.build') as { properties: Record<string, { default?: unknown }> }).properties['multi_platform']!.default).toBe('auto');
  });
  it('accepts every example, as an editor would check it', () => {
    const validate = validator();
    for (const f of EXAMPLES) {
      const doc = parse(readFileSync(join(REPO, f), 'utf8')) as unknown;
      expect(validate(doc), `${f}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
  it('finds a planted mistake: an unknown package manager and a misspelt key', () => {
    const validate = validator();
    const doc = parse(readFileSync(join(REPO, 'examples/lua/manifest.yaml'), 'utf8')) as { distros: Record<string, Record<string, unknown>> };
    const first = Object.values(doc.distros)[0]!;
    first['package_manager'] = 'pacman';
    first['architecturez'] = ['amd64'];
    expect(validate(doc)).toBe(false);
    const paths = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('\n');
    expect(paths).toMatch(/package_manager must be equal to one of the allowed values/);
    expect(paths).toMatch(/must NOT have additional properties/);
  });
});
