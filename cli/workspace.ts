// Where things are: the spec root, a package's manifest, its generated directory.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Diagnostic } from '../core/base/diagnostics.ts';
import { SpecError, UsageError } from '../core/base/errors.ts';
import { planSpec, type Plan, type PlanOptions } from '../core/plan/plan.ts';
import type { Spec } from '../core/load/spec.ts';
import { packageDirectory } from '../core/load/layout.ts';
import { loadSpec } from '../core/load/validate.ts';
import { parseTarget } from '../core/plan/select.ts';
import { runVariables } from '../core/load/placeholders.ts';
import { applySets, onlyRegistries, parseSets } from '../core/load/overrides.ts';
import { acquireLock, DEFAULT_WAIT_SECONDS, type Lock } from '../tasks/lock.ts';
import { Option } from 'commander';
import type { Output } from './output.ts';
import { registerSecrets } from './secrets.ts';

/** The enclosing git repository's root, if there is one. */
export function gitRoot(from: string): string | undefined {
  for (let d = resolve(from); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * The checked-out commit, read from the repository's files (HEAD, its ref, packed-refs; a
 * worktree's `.git` file), so planning stays synchronous and starts no process. Bounded reads.
 */
export function headCommit(from: string): string | undefined {
  const root = gitRoot(from);
  if (!root) return undefined;
  const read = (p: string) => {
    try {
      return statSync(p).isFile() && statSync(p).size < 1 << 20 ? readFileSync(p, 'utf8') : undefined;
    } catch {
      return undefined;
    }
  };
  let gitDir = join(root, '.git');
  const pointer = read(gitDir);
  if (pointer !== undefined) gitDir = resolve(root, /^gitdir: (.+)$/m.exec(pointer)?.[1]?.trim() ?? '');
  const common = read(join(gitDir, 'commondir'));
  const commonDir = common ? resolve(gitDir, common.trim()) : gitDir;
  const head = read(join(gitDir, 'HEAD'))?.trim();
  if (!head) return undefined;
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const ref = /^ref: (refs\/[\w./-]+)$/.exec(head)?.[1];
  if (!ref || ref.includes('..')) return undefined;
  const loose = (read(join(gitDir, ref)) ?? read(join(commonDir, ref)))?.trim();
  if (loose && /^[0-9a-f]{40,64}$/.test(loose)) return loose;
  const packed = read(join(commonDir, 'packed-refs')) ?? '';
  return new RegExp(`^([0-9a-f]{40,64}) ${ref.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm').exec(packed)?.[1];
}

/**
 * Whether CI's own variables (GITHUB_SHA, GITHUB_REPOSITORY) describe the repository holding
 * the manifest: under Actions only when that repository is the workflow's checkout, since a spec
 * checked out beside it (a second repository, a temp dir) is not at the workflow's commit. Set
 * by hand without GITHUB_WORKSPACE, they are an explicit override and apply.
 */
export function ciDescribes(manifest: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const ws = env['GITHUB_WORKSPACE'];
  if (ws === undefined) return true;
  const repo = gitRoot(dirname(manifest));
  return repo !== undefined && repo === gitRoot(ws);
}

/** The commit the spec is at: that of the repository holding the manifest, not of the current directory. */
export function specCommit(manifest: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return (ciDescribes(manifest, env) ? env['GITHUB_SHA'] : undefined) ?? headCommit(dirname(manifest));
}

/** The directory (relative to the repository root) whose package.json installs manager: the spec root's or the nearest above it. */
export function nodeProject(specRoot: string, repoRoot: string): string {
  for (let d = resolve(specRoot); ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return relative(repoRoot, d) || '.';
    if (d === resolve(repoRoot) || dirname(d) === d) return '.';
  }
}

export function specRoot(flag?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const explicit = flag ?? env['MANAGER_ROOT'] ?? env['BENTOML_GIT_ROOT'];
  if (explicit) {
    const r = resolve(cwd, explicit);
    if (!existsSync(r) || !statSync(r).isDirectory()) throw new UsageError(`spec root ${r} is not a directory`);
    return r;
  }
  return gitRoot(cwd) ?? resolve(cwd);
}

/**
 * Where a repository keeps its specs, templates and output. The design notes' layout (a
 * `docker/` directory, as in the BentoML repository) is recognised by `docker/manifest/` or
 * `docker/manager/specs.yml`; anything else is this tool's own layout.
 */
export interface Layout {
  name: 'design notes (docker/)' | 'manager';
  /** Places a package's manifest may live, in the order they are tried. */
  manifests: (pkg: string) => string[];
  /** Shared defaults every manifest builds on without naming them. */
  defaults?: string;
  /** The template directory of a package whose spec names none. */
  templates?: (pkg: string) => string;
  /** The default generated root. */
  generated: string;
}

export function detectLayout(root: string): Layout {
  const docker = join(root, 'docker');
  const specs = [join(docker, 'manager', 'specs.yml'), join(docker, 'manager', 'specs.yaml')].find((p) => existsSync(p));
  if (specs || isDirectory(join(docker, 'manifest'))) {
    return {
      name: 'design notes (docker/)',
      manifests: (pkg) => [join(docker, 'manifest', `${pkg}.yml`), join(docker, 'manifest', `${pkg}.yaml`)],
      defaults: specs,
      templates: (pkg) => (isDirectory(join(docker, 'templates', pkg)) ? join(docker, 'templates', pkg) : join(docker, 'templates')),
      generated: join(docker, 'generated'),
    };
  }
  return {
    name: 'manager',
    manifests: (pkg) => [
      join(root, 'manifests', `${pkg}.yaml`),
      join(root, 'manifests', `${pkg}.yml`),
      join(root, 'manifest', `${pkg}.yml`),
      join(root, pkg, 'manifest.yaml'),
      join(root, 'examples', pkg, 'manifest.yaml'),
    ],
    generated: join(root, 'generated'),
  };
}

function isDirectory(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

/** Places a package's manifest may live, in the order they are tried. */
export function manifestCandidates(root: string, pkg: string): string[] {
  return detectLayout(root).manifests(pkg);
}

export function resolveManifest(root: string, arg: string, cwd = process.cwd()): string {
  if (/\.ya?ml$/.test(arg)) {
    const p = resolve(cwd, arg);
    if (!existsSync(p)) throw new UsageError(`spec file ${p} does not exist`);
    return p;
  }
  if (!/^[A-Za-z0-9][\w.-]*$/.test(arg) || arg.includes('..')) throw new UsageError(`bad package name "${arg}"`);
  const found = manifestCandidates(root, arg).find((p) => existsSync(p));
  if (!found) {
    throw new UsageError(`no manifest for package "${arg}"; looked for:\n  ${manifestCandidates(root, arg).join('\n  ')}`);
  }
  return found;
}

export function generatedRoot(root: string, output?: string): string {
  return output ? resolve(output) : detectLayout(root).generated;
}

export interface Loaded {
  root: string;
  /** `--credentials-file`, resolved against the working directory. */
  envFile?: string;
  manifest: string;
  plan: Plan;
  packageDir: string;
}

export function packageArg(pkg: string | undefined, targets: string[] | undefined): string {
  if (pkg) return pkg;
  const t = targets?.[0];
  if (t) return parseTarget(t).package;
  throw new UsageError('name a package (or a spec file), or pass --target package:release');
}

export interface LoadedSpec extends Omit<Loaded, 'plan'> {
  spec: Spec;
  warnings: Diagnostic[];
}

/** The package name a manifest's file stands for: `docker/manifest/bento-server.yml` → bento-server. */
function loadedName(manifest: string): string {
  const base = basename(manifest).replace(/\.ya?ml$/, '');
  return base === 'manifest' ? basename(dirname(manifest)) : base;
}

/** Resolves the package and validates its spec; warnings are printed, errors thrown. */
export function loadPackage(globals: Record<string, unknown>, pkg: string, opts: { targetVersion?: string; output?: string; set?: string[]; registry?: string }, out: Output): LoadedSpec {
  const root = specRoot(globals['specDir'] as string | undefined);
  const layout = detectLayout(root);
  const manifest = resolveManifest(root, pkg);
  // The layout's shared defaults and templates apply to its own manifests, not to a file named by path elsewhere.
  const own = layout.manifests(basename(manifest).replace(/\.ya?ml$/, '')).includes(manifest);
  const name = loadedName(manifest);
  const loaded = loadSpec(manifest, {
    version: opts.targetVersion,
    env: process.env,
    run: runVariables(specCommit(manifest), process.env['SOURCE_DATE_EPOCH'], new Date()),
    ...extendsScope(globals, root, manifest),
    ...(own ? { defaults: layout.defaults, templates: layout.templates?.(name) } : {}),
  });
  if (!loaded.spec) throw new SpecError(loaded.diagnostics);
  if (opts.registry !== undefined) {
    const only = onlyRegistries(loaded.spec, opts.registry.split(',').map((s) => s.trim()).filter(Boolean));
    if (only.errors.length) throw new UsageError(only.errors.join('\n'));
    loaded.spec = only.spec;
  }
  if (opts.set?.length) {
    const parsed = parseSets(opts.set, loaded.spec.package);
    const applied = applySets(loaded.spec, parsed.sets);
    const errors = [...parsed.errors, ...applied.errors];
    if (errors.length) throw new UsageError(errors.join('\n'));
    loaded.spec = applied.spec;
  }
  const genRoot = generatedRoot(root, opts.output && opts.output !== 'json' ? opts.output : undefined);
  if (own && loaded.spec.output) refuseSharedDirectory(root, layout, manifest, loaded.spec, (m) => loadSpec(m, { ...extendsScope(globals, root, m), defaults: layout.defaults, templates: layout.templates?.(loadedName(m)) }).spec);
  // Said whenever it is not this tool's own layout, whose places `--help` already names.
  const said = `layout: ${layout.name} at ${root}${own && layout.defaults ? ` (shared spec ${relative(root, layout.defaults)})` : ''}; output to ${relative(root, genRoot) || '.'}/`;
  if (layout.name === 'manager') out.debug(said);
  else out.info(said);
  const envFile = globals['credentialsFile'] ? resolve(String(globals['credentialsFile'])) : undefined;
  // Every command that may start a program loads its spec first: its registries' credentials
  // are known to the redactor before anything runs.
  registerSecrets({ env: process.env, spec: loaded.spec, root, envFile }, (l) => out.error(l));
  return { root, envFile, manifest, spec: loaded.spec, warnings: loaded.diagnostics, packageDir: join(genRoot, packageDirectory(loaded.spec)) };
}

/** Every manifest the layout holds, one per package name it can be asked for. */
export function layoutManifests(root: string, layout: Layout): string[] {
  const names = new Set<string>();
  const yaml = (dir: string) => (isDirectory(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => f.replace(/\.ya?ml$/, '')) : []);
  const subdirs = (dir: string) => (isDirectory(dir) ? readdirSync(dir).filter((f) => existsSync(join(dir, f, 'manifest.yaml'))) : []);
  const folders = layout.name === 'manager' ? ['manifests', 'manifest'] : [join('docker', 'manifest')];
  for (const f of folders) for (const n of yaml(join(root, f))) names.add(n);
  if (layout.name === 'manager') for (const n of [...subdirs(root), ...subdirs(join(root, 'examples'))]) names.add(n);
  const out = new Set<string>();
  for (const n of names) {
    const found = layout.manifests(n).find((p) => existsSync(p));
    if (found) out.add(found);
  }
  return [...out];
}

/**
 * One generated directory, one package: its record and state name one package's files.
 * Checked when the spec moves its directory (`output.directory`); a package that keeps the
 * default one meets a package that moved there at the write (tasks/owned.ts's record names
 * its package). A sibling manifest that does not load claims nothing.
 */
function refuseSharedDirectory(root: string, layout: Layout, manifest: string, spec: Spec, loadOther: (manifest: string) => Spec | undefined): void {
  const mine = packageDirectory(spec);
  for (const other of layoutManifests(root, layout)) {
    if (other === manifest) continue;
    const o = loadOther(other);
    if (!o || o.package === spec.package || packageDirectory(o) !== mine) continue;
    throw new UsageError(
      `packages "${spec.package}" (${relative(root, manifest)}) and "${o.package}" (${relative(root, other)}) both generate into ${mine || '.'} (of the generated root); give one of them another output.directory`,
    );
  }
}

/** Plans a loaded package; the plan's own warnings are printed. */
export function planned(s: LoadedSpec, out: Output, opts: PlanOptions = {}): Loaded {
  const plan = planSpec(s.spec, s.warnings, opts);
  out.diagnostics(plan.warnings);
  return { root: s.root, envFile: s.envFile, manifest: s.manifest, plan, packageDir: s.packageDir };
}

/**
 * Where a manifest's bases may come from: the spec root when the manifest is in it (else the
 * manifest's own repository), and the directories `--allow-extends` names.
 */
export function extendsScope(globals: Record<string, unknown>, root: string, manifest: string): { root?: string; allowExtends?: string[] } {
  const rel = relative(root, manifest);
  const within = !rel.startsWith('..') && !isAbsolute(rel);
  const allow = (globals['allowExtends'] as string[] | undefined)?.map((d) => resolve(d));
  return { root: within ? root : undefined, allowExtends: allow };
}

/** One line on whether the floating inputs are pinned, for build and its dry run. */
export function pinningLine(plan: Plan, cwd = process.cwd()): string {
  const { lockFile, unpinned } = plan.pinning;
  const lock = lockFile ? relative(cwd, lockFile) || lockFile : undefined;
  if (!unpinned.length) return lock ? `floating inputs pinned by ${lock}` : 'no floating inputs (base images and git refs) to pin';
  const list = unpinned.length > 3 ? `${unpinned.slice(0, 3).join(', ')} and ${unpinned.length - 3} more` : unpinned.join(', ');
  return lock
    ? `not pinned by ${lock}: ${list} (run \`manager lock\` to pin them)`
    : `base images and git refs are unpinned: no lock file (\`manager lock\` pins ${unpinned.length === 1 ? 'it' : `all ${unpinned.length}`})`;
}

/** Resolves the package and plans it (one build per platform); warnings are printed, errors thrown. */
export function load(globals: Record<string, unknown>, pkg: string, opts: { targetVersion?: string; output?: string }, out: Output): Loaded {
  return planned(loadPackage(globals, pkg, opts, out), out);
}

/** How a command takes the lock: `--wait-lock[=SECONDS]` and `--break-lock`, as parsed. */
export interface LockChoice {
  wait: boolean | number;
  breakLock?: boolean;
}

/** `--wait-lock[=SECONDS]`: how long to wait; bare, the default (cli/main.ts keeps it from taking the next word). */
export function waitSeconds(v: string): number {
  if (v === '') return DEFAULT_WAIT_SECONDS;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new UsageError(`--wait-lock: expected a number of seconds, got "${v}" (write --wait-lock=SECONDS)`);
  return n;
}

/** The lock options of every command that writes the generated tree. */
export function waitLockOption(): Option {
  return new Option('--wait-lock [seconds]', `wait for another run on the same generated tree instead of failing, up to SECONDS (default ${DEFAULT_WAIT_SECONDS})`).argParser(waitSeconds);
}

export function breakLockOption(): Option {
  return new Option('--break-lock', 'remove a lock that no live process of this host holds (another host\'s, or an unreadable one); a live local run\'s lock is never broken');
}

export function lockChoice(o: Record<string, unknown>): LockChoice {
  const w = o['waitLock'];
  return { wait: w === undefined || w === false ? false : w === true ? DEFAULT_WAIT_SECONDS : Number(w), breakLock: Boolean(o['breakLock']) };
}

/** The generated tree's lock, for every command that writes state, logs, registries or the tree. */
export function takeLock(packageDir: string, out: Output, choice: boolean | LockChoice): Promise<Lock> {
  const c = typeof choice === 'boolean' ? { wait: choice } : choice;
  return acquireLock(packageDir, `manager ${process.argv.slice(2).join(' ')}`, { ...c, log: (x) => out.info(x) });
}
