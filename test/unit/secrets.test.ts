// What the redactor learns at startup (cli/secrets.ts): every credential in sight, before any
// program runs, and what happens to one too short to redact.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerSecrets, visibleSecrets } from '../../cli/secrets.ts';
import { MIN_SECRET_LENGTH, redactor } from '../../core/redact.ts';
import type { Registry } from '../../core/spec.ts';
import { DRIVERS } from '../../registries/index.ts';
import { tempDir } from '../helpers/spec.ts';

const registry: Registry = { name: 'r', kind: 'generic', host: 'r.example:5000', namespace: 'acme', repository: 'app', staging: 'r.example:5000/acme/app-staging', credentials: { usernameEnv: 'R_USER', passwordEnv: 'R_PASS' }, readme: false } as Registry;

describe('credentials in sight', () => {
  it('environment, .env and docker config.json, each with user:secret, before any login', () => {
    const root = tempDir();
    writeFileSync(join(root, '.env'), 'QUAY_USER=qu\nQUAY_PASSWORD=quay-secret-1\nOTHER_TOKEN=tok-from-dotenv\n');
    const cfg = join(root, 'docker');
    mkdirSync(cfg);
    writeFileSync(join(cfg, 'config.json'), JSON.stringify({ auths: { 'r.example': { auth: Buffer.from('cu:config-secret-2').toString('base64') }, x: { identitytoken: 'identity-tok-3' } } }));
    const values = visibleSecrets({ env: { DOCKER_USER: 'du', DOCKER_PASSWORD: 'hub-secret-0' }, root, dockerConfig: cfg }).map((s) => s.value);
    for (const v of ['hub-secret-0', 'du:hub-secret-0', 'quay-secret-1', 'qu:quay-secret-1', 'tok-from-dotenv', 'config-secret-2', 'cu:config-secret-2', 'identity-tok-3']) expect(values).toContain(v);
  });

  it('a registry the spec names with its own variables is covered too', () => {
    const spec = { registries: { r: registry } } as never;
    expect(visibleSecrets({ env: { R_USER: 'ru', R_PASS: 'spec-named-pass' }, spec }).map((s) => s.value)).toEqual(expect.arrayContaining(['spec-named-pass', 'ru:spec-named-pass']));
    registerSecrets({ env: { R_USER: 'ru', R_PASS: 'spec-named-pass' }, spec }, () => {});
    expect(redactor.redact('login ru:spec-named-pass ok')).toBe('login *** ok');
  });

  it(`a secret under ${MIN_SECRET_LENGTH} characters is named in a warning, never shown, and refused for a login`, () => {
    const warnings: string[] = [];
    registerSecrets({ env: { HARBOR_PASSWORD: 'pw1' } }, (l) => warnings.push(l));
    expect(warnings).toEqual([expect.stringMatching(/the secret in HARBOR_PASSWORD is shorter than \d+ characters/)]);
    expect(warnings.join()).not.toContain('pw1');
    expect(() => DRIVERS.generic.login(registry, { R_USER: 'ru', R_PASS: 'pw1' })).toThrow(/R_PASS is shorter than \d+ characters/);
  });
});
