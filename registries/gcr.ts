// Google Container Registry / Artifact Registry: user `_json_key`, password the service
// account's JSON key, from GCR_JSON_KEY (the JSON itself) or GCR_JSON_KEY_FILE (a path).
import { readFileSync } from 'node:fs';
import { UsageError } from '../core/base/errors.ts';
import { redactor } from '../core/base/redact.ts';
import { pick } from './credentials.ts';
import type { RegistryDriver } from './types.ts';

export const gcr: RegistryDriver = {
  kind: 'gcr',
  defaultCredentials: { password: ['GCR_JSON_KEY', 'GCR_JSON_KEY_FILE'] },
  login(registry, env) {
    const inline = pick(env, [registry.credentials.passwordEnv, 'GCR_JSON_KEY']);
    const file = pick(env, ['GCR_JSON_KEY_FILE']);
    let key: string;
    let from: string;
    if (inline) {
      key = inline.value;
      from = inline.name;
    } else if (file) {
      try {
        key = readFileSync(file.value, 'utf8');
      } catch {
        throw new UsageError(`registry ${registry.name}: cannot read the JSON key file named by GCR_JSON_KEY_FILE (${file.value})`);
      }
      from = file.name;
    } else {
      throw new UsageError(`registry ${registry.name} (${registry.host}): no service account key; set GCR_JSON_KEY (the JSON) or GCR_JSON_KEY_FILE (its path)`);
    }
    try {
      JSON.parse(key);
    } catch {
      throw new UsageError(`registry ${registry.name}: the key in ${from} is not JSON`);
    }
    redactor.add(key);
    return { host: registry.host, username: '_json_key', password: key, from: [from] };
  },
};
