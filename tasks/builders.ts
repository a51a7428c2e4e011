// Builders and emulators. Nothing the tool needs to skip work lives in a builder: state is
// the state file plus the registry, so any fresh builder (or machine) can continue.
import { existsSync } from 'node:fs';
import { UsageError, WorkError } from '../core/base/errors.ts';
import { builderCreateArgv, dockerInfoArgv, inspectBuilderArgv, isEngineDown, parseBuilderInspect, parseDockerInfo, type BuilderInfo, type BuilderNode } from '../core/buildx/argv.ts';
import { describeFailure, onPath, run } from './runner.ts';

export const QEMU_HANDLERS: Record<string, string> = { arm64: 'qemu-aarch64', arm: 'qemu-arm', ppc64le: 'qemu-ppc64le', s390x: 'qemu-s390x', riscv64: 'qemu-riscv64' };

export function parseNode(text: string): BuilderNode {
  const m = /^([a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?)=(.+)$/.exec(text);
  if (!m) throw new UsageError(`bad --node "${text}": expected PLATFORM=ENDPOINT, e.g. linux/arm64=ssh://user@arm-host`);
  return { platform: m[1], endpoint: m[2]! };
}

export interface CreateBuilderOptions {
  name: string;
  driver: 'docker-container' | 'remote' | 'kubernetes';
  nodes: BuilderNode[];
  driverOpts: string[];
  use: boolean;
}

export function createBuilderArgvs(o: CreateBuilderOptions): string[][] {
  if (o.driver === 'remote' && o.nodes.length === 0) throw new UsageError('the remote driver needs at least one --node PLATFORM=tcp://buildkitd:1234');
  const nodes: (BuilderNode | undefined)[] = o.nodes.length ? o.nodes : [undefined];
  const argvs = nodes.map((n, i) => builderCreateArgv(o.name, o.driver, n, i > 0, o.driverOpts));
  argvs.push(['docker', 'buildx', 'inspect', '--bootstrap', o.name]);
  if (o.use) argvs.push(['docker', 'buildx', 'use', o.name]);
  return argvs;
}

export async function inspectBuilder(builder?: string): Promise<BuilderInfo> {
  const r = await run(inspectBuilderArgv(builder));
  // buildx reports an unreachable engine in an `Error:` field and still exits 0.
  const fieldError = /^Error:\s*(.+)$/m.exec(r.stdout)?.[1];
  if (r.exitCode !== 0 || fieldError) {
    if (isEngineDown(`${r.stderr}\n${fieldError ?? ''}`)) {
      throw new WorkError(`cannot reach the Docker engine${process.env['DOCKER_HOST'] ? ` at ${process.env['DOCKER_HOST']}` : ''}: is dockerd running?`, (fieldError ?? r.stderr).trim());
    }
    throw new WorkError(`cannot inspect buildx builder${builder ? ` "${builder}"` : ''}`, fieldError ?? describeFailure(r));
  }
  const info = parseBuilderInspect(r.stdout);
  if (info.driver === 'docker') {
    // buildx does not say which image store a docker-driver engine uses, nor (for distribution
    // builds) which BuildKit it embeds; the engine does.
    const d = await run(dockerInfoArgv(info.name));
    if (d.exitCode === 0) Object.assign(info, parseDockerInfo(d.stdout));
  }
  return info;
}

export async function createBuilder(o: CreateBuilderOptions, log: (line: string) => void): Promise<{ name: string; nodes: number; driver: string }> {
  for (const argv of createBuilderArgvs(o)) {
    log(`$ ${argv.join(' ')}`);
    const r = await run(argv);
    if (r.exitCode !== 0) throw new WorkError(`could not create builder ${o.name}`, describeFailure(r));
  }
  return { name: o.name, nodes: Math.max(1, o.nodes.length), driver: o.driver };
}

/**
 * Registers binfmt handlers: with the host's binfmt-support (update-binfmts) when present,
 * otherwise with the tonistiigi/binfmt image, which needs a privileged container.
 */
export async function setupQemu(platforms: string[] | undefined, log: (line: string) => void): Promise<{ enabled: string[]; failed: string[] }> {
  const wanted = platforms ?? Object.keys(QEMU_HANDLERS).filter((p) => p !== 'riscv64');
  for (const p of wanted) if (!QEMU_HANDLERS[p]) throw new UsageError(`unknown emulator platform "${p}" (known: ${Object.keys(QEMU_HANDLERS).join(', ')})`);
  const enabled: string[] = [];
  const failed: string[] = [];
  const hasUpdateBinfmts = onPath('update-binfmts') || onPath('update-binfmts', '/usr/sbin:/sbin');
  if (hasUpdateBinfmts) {
    if (!existsSync('/proc/sys/fs/binfmt_misc/register')) {
      const m = await run(['mount', '-t', 'binfmt_misc', 'binfmt_misc', '/proc/sys/fs/binfmt_misc']);
      if (m.exitCode !== 0) log(`could not mount binfmt_misc: ${m.stderr.trim()}`);
    }
    for (const p of wanted) {
      const h = QEMU_HANDLERS[p]!;
      if (existsSync(`/proc/sys/fs/binfmt_misc/${h}`)) {
        enabled.push(p);
        continue;
      }
      const r = await run(['update-binfmts', '--enable', h]);
      if (r.exitCode === 0) enabled.push(p);
      else {
        failed.push(p);
        log(`update-binfmts --enable ${h} failed (is qemu-user-static installed?): ${r.stderr.trim()}`);
      }
    }
    return { enabled, failed };
  }
  log('update-binfmts not found; using the tonistiigi/binfmt image (privileged)');
  const r = await run(['docker', 'run', '--privileged', '--rm', 'tonistiigi/binfmt', '--install', wanted.join(',')]);
  if (r.exitCode !== 0) throw new WorkError('could not register QEMU emulators', describeFailure(r));
  return { enabled: wanted, failed };
}
