// Image references: where a package's images live in each registry.
import type { Registry, Spec } from './spec.ts';

export function repositoryRef(r: Registry): string {
  return `${r.host}/${r.namespace}/${r.repository}`;
}

export function publishRepositories(spec: Spec): { registry: Registry; repository: string }[] {
  return spec.publish.map((name) => {
    const registry = spec.registries[name]!;
    return { registry, repository: repositoryRef(registry) };
  });
}

export function publicRefs(spec: Spec, tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const { repository } of publishRepositories(spec)) for (const t of tags) out.push(`${repository}:${t}`);
  return out;
}

export function dockerPlatformParts(platform: string): { os: string; arch: string; variant?: string } {
  const [os, arch, variant] = platform.split('/');
  return { os: os!, arch: arch!, variant };
}
