// The registry client a run uses: the user's docker credentials (config.json, credential
// helpers run through the one runner), one pooled connection set per host.
import { RegistryClient, type ClientOptions } from '../registries/distribution.ts';
import { DockerCredentials } from '../registries/docker-config.ts';
import { run } from './runner.ts';

async function credentialHelper(helper: string, server: string): Promise<{ Username?: string; Secret?: string } | undefined> {
  const r = await run([`docker-credential-${helper}`, 'get'], { input: server, timeoutMs: 30_000, raw: true });
  if (r.exitCode !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as { Username?: string; Secret?: string };
  } catch {
    return undefined;
  }
}

export function registryClient(o: Omit<ClientOptions, 'credentials'> = {}): RegistryClient {
  const creds = new DockerCredentials(credentialHelper);
  return new RegistryClient({ ...o, credentials: (host) => creds.get(host) });
}
