// Synthetic specs of a chosen size for the planning benchmark: distros × pythons × a release
// chain × architectures, one build task per combination.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `registry`: publish to this host (a loopback one nothing answers, for runs that must never ask
 * it) instead of Docker Hub.
 */
export function syntheticSpec(dir: string, o: { distros: number; pythons: number; releases: number; arches: number; registry?: string }): { manifest: string; builds: number } {
  const arches = Array.from({ length: o.arches }, (_, i) => `arch${i}`);
  const releases = Array.from({ length: o.releases }, (_, i) => `r${i}`);
  const lines = [
    'package: synth',
    'version: "1.0"',
    'templates: ./templates',
    `python: [${Array.from({ length: o.pythons }, (_, i) => `"3.${i}"`).join(', ')}]`,
    'architectures:',
    ...arches.map((a, i) => `  ${a}: linux/a${i}`),
    'releases:',
    ...releases.flatMap((r, i) => [`  ${r}:`, ...(i ? [`    parent: r${i - 1}`] : []), `    tags: ["{version}-python{python}-{distro}-${r}"]`]),
    'distros:',
    ...Array.from({ length: o.distros }, (_, d) => [
      `  d${d}:`,
      '    family: debian',
      '    package_manager: apt',
      '    image: example/python:{python}',
      `    architectures: [${arches.join(', ')}]`,
      `    releases: [${releases.join(', ')}]`,
    ]).flat(),
    'registries:',
    o.registry ? `  local: { kind: generic, host: "${o.registry}", namespace: synth }` : '  hub: { kind: dockerhub, namespace: synth, readme: true }',
    '',
  ];
  mkdirSync(join(dir, 'templates', 'debian'), { recursive: true });
  writeFileSync(join(dir, 'manifest.yaml'), lines.join('\n'));
  for (const [i, r] of releases.entries()) {
    writeFileSync(
      join(dir, 'templates', 'debian', `${r}.Dockerfile.eta`),
      i === 0 ? 'ARG PYTHON_VERSION\nFROM <%= it.distro.image %>\nRUN echo root\n' : 'ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nARG PYTHON_VERSION\nRUN echo <%= it.release.name %>\n',
    );
  }
  return { manifest: join(dir, 'manifest.yaml'), builds: o.distros * o.pythons * o.releases * o.arches };
}
