// What a reviewer checks in a generated Dockerfile, as code: it parses; what FROM uses is
// declared before it; build args are declared where they are read; no package upgrades;
// package indexes removed in the layer that fetched them; the init process kept by images
// built on a base that has one; no retired repositories. Run on every generated Dockerfile
// of every example (test/unit/dockerfiles.test.ts).
import { DockerfileParser } from 'dockerfile-ast';

export interface Finding {
  line: number;
  check: string;
  message: string;
}

const KEYWORDS = new Set(['FROM', 'ARG', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);
/** Build args every builder predefines; still only visible after an ARG declares them. */
const PREDEFINED = ['TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT', 'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT'];

const variablesIn = (text: string) => [...text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);

/** The exec-form ENTRYPOINT of a Dockerfile's last stage, if it sets one. */
export function entrypointOf(text: string): string[] | undefined {
  const df = DockerfileParser.parse(text);
  const eps = df.getENTRYPOINTs();
  const last = eps[eps.length - 1];
  if (!last) return undefined;
  try {
    return JSON.parse(last.getRawArgumentsContent() ?? '') as string[];
  } catch {
    return [last.getRawArgumentsContent() ?? ''];
  }
}

/**
 * `buildArgs`: the names the tool passes to this build (the spec's and the axes'), which a
 * RUN or LABEL can only read once an ARG declares them. `parentEntrypoint`: what the image
 * it builds FROM runs as PID 1.
 */
export function checkDockerfile(text: string, ctx: { buildArgs: string[]; parentEntrypoint?: string[] }): Finding[] {
  const out: Finding[] = [];
  const add = (line: number, check: string, message: string) => out.push({ line: line + 1, check, message });
  const df = DockerfileParser.parse(text);
  const instructions = df.getInstructions();
  if (!df.getFROMs().length) add(0, 'parses', 'no FROM instruction');
  for (const i of instructions) {
    if (!KEYWORDS.has(i.getKeyword())) add(i.getRange().start.line, 'parses', `unknown instruction ${i.getKeyword()}`);
  }
  // Before the first FROM only ARG may appear, and FROM may use only those ARGs.
  const initial = new Set(df.getInitialARGs().map((a) => a.getProperty()?.getName()).filter((n): n is string => Boolean(n)));
  for (const from of df.getFROMs()) {
    for (const v of variablesIn(from.getRawArgumentsContent() ?? '')) {
      // BuildKit defines the platform args in the global scope: FROM may use them undeclared
      // (declaring one there without a value empties it on BuildKit 0.8).
      if (!initial.has(v) && !PREDEFINED.includes(v)) add(from.getRange().start.line, 'from-args', `FROM uses \${${v}}, which no ARG before the first FROM declares`);
    }
  }
  const watched = new Set([...ctx.buildArgs, ...PREDEFINED]);
  const declared = new Set<string>();
  let inStage = false;
  for (const i of instructions) {
    const kw = i.getKeyword();
    const line = i.getRange().start.line;
    const args = i.getRawArgumentsContent() ?? '';
    if (kw === 'FROM') {
      inStage = true;
      declared.clear();
      continue;
    }
    if (!inStage) continue;
    if (kw === 'ARG') {
      const name = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(args)?.[1];
      if (name) declared.add(name);
      continue;
    }
    if (kw === 'ENV') for (const m of args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)[=\s]/g)) declared.add(m[1]!);
    // A build arg read before an ARG declares it is empty: the classic silent bug.
    for (const v of variablesIn(args)) {
      if (watched.has(v) && !declared.has(v)) add(line, 'args-declared', `${kw} reads \${${v}}, a build arg no ARG in this stage declares`);
    }
    if (kw === 'RUN') {
      const run = args.replace(/\\\n/g, ' ');
      if (/\b(apt-get|apt)\s+(-\S+\s+)*(upgrade|dist-upgrade)\b|\bapk\s+upgrade\b|\b(dnf|yum|microdnf)\s+(-\S+\s+)*(upgrade|update)\s*(;|&&|$|\\)/.test(run)) {
        add(line, 'no-upgrade', 'upgrades every package: pin the base image instead, so builds are reproducible');
      }
      if (/\bapt-get\s+update\b/.test(run) && !/rm -rf \/var\/lib\/apt\/lists|apt-get dist-clean/.test(run)) {
        add(line, 'clean-layer', 'apt-get update without removing /var/lib/apt/lists in the same RUN: the index stays in the layer');
      }
      if (/\b(dnf|yum|microdnf)\s+(-\S+\s+)*install\b/.test(run) && !/\b(dnf|yum|microdnf) clean all\b/.test(run)) {
        add(line, 'clean-layer', 'installs with dnf/yum without `clean all` in the same RUN: the metadata cache stays in the layer');
      }
      if (/\bapk\s+add\b/.test(run) && !/--no-cache/.test(run)) add(line, 'clean-layer', 'apk add without --no-cache: the index stays in the layer');
    }
    if (/developer\.download\.nvidia\.com\/compute\/machine-learning|\bnvidia-ml\b/.test(args)) {
      add(line, 'no-retired-repo', 'NVIDIA\'s machine-learning (nvidia-ml) repository is retired; cuDNN and TensorRT are in the CUDA repository');
    }
  }
  // An image built on one whose PID 1 is an init process keeps it.
  const init = ctx.parentEntrypoint?.find((a) => /(^|\/)(tini|dumb-init)$/.test(a));
  const own = entrypointOf(text);
  if (init && own && !own.some((a) => /(^|\/)(tini|dumb-init)$/.test(a))) {
    const ep = df.getENTRYPOINTs().at(-1)!;
    add(ep.getRange().start.line, 'keeps-init', `ENTRYPOINT ${JSON.stringify(own)} replaces ${init}, the parent image's init process`);
  }
  return out;
}
