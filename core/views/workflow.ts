// The GitHub Actions workflow `manager ci github` writes. Two paths share one plan of chains:
// on pushes to the default branch and on tags, a plan job asks the registry what is missing,
// matrix jobs build one chain each on runners sharing only the registry, and a publish job
// merges the tags; on pull requests (and any other run), a validate job plans the same way
// without credentials and matrix jobs build and test each changed chain into the runner's own
// engine, pushing nothing, as Docker's "test before push" does. Hardened as GitHub's own
// guidance asks: least permissions (no write, no secret on the pull-request path), actions
// pinned by commit, each registry's secrets only in the step that logs in to it, matrix values
// passed through the environment rather than pasted into scripts, timeouts, and a plan that
// fails its step when it fails. Pure.
import { Document, isPair, isScalar, visit } from 'yaml';
import { chainCount, chainKey, MATRIX_LIMIT } from './ci.ts';
import type { Plan } from '../plan/plan.ts';
import { stagingRepository } from '../plan/staging.ts';
import type { Registry, RegistryKind } from '../load/spec.ts';
import type { BuildTask } from '../plan/task.ts';

/** Third-party actions, pinned by commit; the version is written beside each. */
export const ACTIONS = {
  checkout: { uses: 'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1', version: 'v7.0.1' },
  setupNode: { uses: 'actions/setup-node@820762786026740c76f36085b0efc47a31fe5020', version: 'v7.0.0' },
  setupQemu: { uses: 'docker/setup-qemu-action@96fe6ef7f33517b61c61be40b68a1882f3264fb8', version: 'v4.2.0' },
  setupBuildx: { uses: 'docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e', version: 'v4.3.0' },
  login: { uses: 'docker/login-action@4907a6ddec9925e35a0a9e82d7399ccc52663121', version: 'v4.1.0' },
  runtime: { uses: 'crazy-max/ghaction-github-runtime@04d248b84655b509d8c44dc1d6f990c879747487', version: 'v4.0.0' },
} as const;

export interface WorkflowOptions {
  /** How the workflow names the package to manager (package name or manifest path). */
  packageArg: string;
  /** Paths (relative to the repository root) whose changes trigger the workflow. */
  paths: string[];
  targets?: string[];
  /** The spec root relative to the repository root, when it is not the root itself. */
  specDir?: string;
  /** The directory holding package.json (and the installed manager), relative to the repository root. */
  nodeDir?: string;
  /** The generated root every build writes to, relative to the repository root, when it is not the layout's (`.` for a package generated at the top). */
  output?: string;
  /** Selection flags the workflow passes to every build and matrix command (default `--all`). */
  selection?: string[];
  /** What those flags select, to size the matrix batches (default: everything). */
  selected?: Set<string>;
  /** Credential variable names per registry kind, beyond the spec's own (registries/index.ts). */
  credentialDefaults: Record<RegistryKind, { username?: string[]; password?: string[]; token?: string[] }>;
}

type Step = Record<string, unknown>;

/** POSIX single-quoting for the few words that come from the spec or the command line. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_./:@,=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const secret = (name: string) => `\${{ secrets.${name} }}`;

/** The login step for one registry, with that registry's secrets and no others. */
function loginStep(r: Registry, defaults: WorkflowOptions['credentialDefaults']): Step {
  const d = defaults[r.kind];
  const user = r.credentials.usernameEnv ?? d.username?.[0];
  const pass = r.credentials.passwordEnv ?? r.credentials.tokenEnv ?? d.password?.[0];
  const withs: Record<string, string> = { registry: r.host };
  if (r.kind === 'ghcr') {
    withs['username'] = r.credentials.usernameEnv ? secret(r.credentials.usernameEnv) : '${{ github.actor }}';
    withs['password'] = secret(r.credentials.passwordEnv ?? r.credentials.tokenEnv ?? 'GITHUB_TOKEN');
  } else if (r.kind === 'gcr') {
    withs['username'] = '_json_key';
    withs['password'] = secret(pass ?? 'GCR_JSON_KEY');
  } else if (r.kind === 'ecr') {
    // login-action exchanges AWS keys for an ECR token itself.
    withs['username'] = secret('AWS_ACCESS_KEY_ID');
    withs['password'] = secret('AWS_SECRET_ACCESS_KEY');
  } else {
    withs['username'] = secret(user ?? 'REGISTRY_USER');
    withs['password'] = secret(pass ?? 'REGISTRY_PASSWORD');
  }
  return { name: `Log in to ${r.name} (${r.host})`, uses: ACTIONS.login.uses, with: withs };
}

/** Variables the README push reads, for the one step that pushes READMEs. */
function readmeEnv(plan: Plan, defaults: WorkflowOptions['credentialDefaults']): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of plan.spec.publish) {
    const r = plan.spec.registries[name]!;
    if (!r.readme) continue;
    const d = defaults[r.kind];
    const names = r.kind === 'quay' ? [r.credentials.tokenEnv ?? d.token?.[0]] : [r.credentials.usernameEnv ?? d.username?.[0], r.credentials.passwordEnv ?? d.password?.[0]];
    for (const n of names) if (n) env[n] = secret(n);
  }
  return env;
}

/**
 * The runs that publish: pushes (and manual runs) of the default branch and of tags. Every
 * other run, a pull request above all, builds and tests what changed and pushes nothing.
 */
export const PUBLISHES = "github.event_name != 'pull_request' && (startsWith(github.ref, 'refs/tags/') || github.ref == format('refs/heads/{0}', github.event.repository.default_branch))";

/** The tags whose push publishes (`on.push.tags`). */
export const RELEASE_TAGS = ['v*'];

/**
 * Minutes the longest whole chain may take, every build and test of it: a pull request's job
 * builds the unchanged parents of its changed builds too, so the matrix's per-job time (the
 * changed builds' alone) would cut it short.
 */
export function wholeChainMinutes(plan: Plan, selected: Set<string>): number {
  const seconds = new Map<string, number>();
  for (const id of selected) {
    const t = plan.tasks.get(id)!;
    if (t.kind !== 'build' && t.kind !== 'test') continue;
    const b = t.kind === 'build' ? t : (plan.tasks.get(t.build) as BuildTask);
    const s = t.kind === 'build' ? t.timeout : t.tests.reduce((n, x) => n + x.timeout, 0);
    const k = chainKey(plan.spec, b);
    seconds.set(k, (seconds.get(k) ?? 0) + s);
  }
  return Math.min(360, Math.ceil(Math.max(0, ...seconds.values()) / 60) + 10);
}

/**
 * The variables the spec's build secrets come from (`releases.*.secrets[].env`), each from the
 * repository secret of that name, for the steps that build. buildx reads them (`env=`): they are
 * never in argv or the log. A file secret (`src=`) must be on the runner already. Pull-request
 * jobs get none: a build that needs one fails there, saying which.
 */
export function buildSecretsEnv(plan: Plan): Record<string, string> {
  const names = Object.values(plan.spec.releases).flatMap((r) => r.secrets.flatMap((s) => (s.env ? [s.env] : [])));
  return Object.fromEntries([...new Set(names)].sort().map((n) => [n, secret(n)]));
}

/** What every job of the workflow is made from: the command, the selection, the registries, the setup steps. */
interface Shared {
  plan: Plan;
  o: WorkflowOptions;
  manager: string;
  pkg: string;
  /** `manager build <package>`, with the generated root when the workflow names one. */
  build: string;
  sel: string;
  registries: Registry[];
  stagingRegistry?: Registry;
  /** GITHUB_TOKEN writes packages only where a job asks: the jobs that push to GHCR. */
  ghcrPublish: boolean;
  ghcrStaging: boolean;
  selected: Set<string>;
  batches: number;
  setup: Step[];
  outputs: Record<string, string>;
}

const READ = { contents: 'read' };
const packages = (write: boolean, on: boolean) => (on ? { contents: 'read', packages: write ? 'write' : 'read' } : READ);

function shared(plan: Plan, o: WorkflowOptions): Shared {
  const spec = plan.spec;
  const nodeDir = o.nodeDir && o.nodeDir !== '.' ? o.nodeDir : undefined;
  const manager = [nodeDir ? shq(`./${nodeDir}/node_modules/.bin/manager`) : './node_modules/.bin/manager', ...(o.specDir ? ['--spec-dir', shq(o.specDir)] : [])].join(' ');
  const selection = [...(o.targets?.length ? ['--target', o.targets.join(',')] : []), ...(o.selection ?? [])];
  const registries = spec.publish.map((n) => spec.registries[n]!);
  const staging = stagingRepository(plan);
  const stagingRegistry = registries.find((r) => staging?.startsWith(`${r.host}/`)) ?? registries[0];
  // The workflow holds as many build jobs as the largest matrix needs, 256 jobs each.
  const selected = o.selected ?? new Set(plan.tasks.keys());
  const batches = Math.max(1, Math.ceil(chainCount(plan, selected) / MATRIX_LIMIT));
  return {
    plan,
    o,
    manager,
    pkg: shq(o.packageArg),
    build: `${manager} build ${shq(o.packageArg)}${o.output ? ` --output ${shq(o.output)}` : ''}`,
    sel: selection.length ? selection.map(shq).join(' ') : '--all',
    registries,
    stagingRegistry,
    ghcrPublish: registries.some((r) => r.kind === 'ghcr'),
    ghcrStaging: stagingRegistry?.kind === 'ghcr',
    selected,
    batches,
    // The tool is installed where its package.json is, which need not be the repository root.
    setup: [
      { uses: ACTIONS.checkout.uses, with: { 'persist-credentials': false } },
      { uses: ACTIONS.setupNode.uses, with: { 'node-version': 22, cache: 'npm', ...(nodeDir ? { 'cache-dependency-path': `${nodeDir}/package-lock.json` } : {}) } },
      { run: 'npm ci', ...(nodeDir ? { 'working-directory': nodeDir } : {}) },
    ],
    outputs: Object.fromEntries(Array.from({ length: batches }, (_, i) => [`matrix${i}`, `\${{ steps.matrix.outputs.matrix${i} }}`])),
  };
}

const matrixCommand = (c: Shared, extra: string) => ({ id: 'matrix', run: `${c.manager} ci matrix ${c.pkg} ${c.sel} --batches ${c.batches} --github-output${extra}` });

/** One matrix job per chain of a batch, after the job that planned the matrix. */
function chainJob(c: Shared, from: string, i: number, permissions: Record<string, string>, steps: Step[], timeout: string | number = '${{ matrix.timeout }}') {
  return {
    needs: from,
    if: `fromJSON(needs.${from}.outputs.matrix${i}).include[0] != null`,
    name: '${{ matrix.name }}',
    'runs-on': '${{ matrix.runner }}',
    'timeout-minutes': timeout,
    permissions,
    strategy: { 'fail-fast': false, matrix: `\${{ fromJSON(needs.${from}.outputs.matrix${i}) }}` },
    steps: [...c.setup, { if: '${{ matrix.qemu }}', uses: ACTIONS.setupQemu.uses }, ...steps],
  };
}

const batchName = (c: Shared, base: string, i: number) => (c.batches === 1 ? base : `${base}${i}`);

/** Pull requests: validate, plan anonymously, build and test each changed chain into the runner's engine. */
function pullRequestJobs(c: Shared): Record<string, unknown> {
  const { plan, manager, pkg, sel } = c;
  const jobs: Record<string, unknown> = {
    validate: {
      if: `!(${PUBLISHES})`,
      'runs-on': plan.spec.build.defaultRunner,
      'timeout-minutes': 15,
      permissions: READ,
      outputs: c.outputs,
      steps: [
        ...c.setup,
        // Spec errors become annotations on the spec's lines; the dry run shows the plan without credentials.
        { run: `${manager} validate ${pkg}` },
        { run: `${c.build} ${sel} --dry-run --offline` },
        // Anonymous lookups: a public repository answers them; a private one refuses, and every
        // selected chain is built, as the command's warning says.
        matrixCommand(c, ' --assume-missing'),
      ],
    },
  };
  // With --load nothing asks the registry, so the chain's unchanged parents are built here too
  // and a child builds FROM its parent in the engine's own store: that needs the docker driver
  // (a docker-container builder cannot read the engine's images), which exports no layer cache.
  // Nothing is published, so attestations the spec asks for (which the classic store cannot
  // load) are left off.
  for (let i = 0; i < c.batches; i++) {
    jobs[batchName(c, 'pr-build', i)] = chainJob(c, 'validate', i, READ, [
      { uses: ACTIONS.setupBuildx.uses, with: { driver: 'docker' } },
      { name: 'Build and test this chain', env: { ONLY: '${{ matrix.only }}' }, run: `${c.build} --load --multi-platform split${plan.spec.build.attest ? ' --provenance false --sbom false' : ''} --only "$ONLY"` },
    ], wholeChainMinutes(plan, c.selected));
  }
  return jobs;
}

/** The default branch and tags: plan with the registry, build each chain into staging, publish. */
function publishingJobs(c: Shared): Record<string, unknown> {
  const { plan, o, sel, stagingRegistry } = c;
  const spec = plan.spec;
  const jobs: Record<string, unknown> = {
    plan: {
      if: PUBLISHES,
      'runs-on': spec.build.defaultRunner,
      'timeout-minutes': 15,
      permissions: packages(false, c.ghcrStaging),
      outputs: c.outputs,
      steps: [
        ...c.setup,
        ...(stagingRegistry ? [loginStep(stagingRegistry, o.credentialDefaults)] : []),
        // Writes matrix0..matrixN to $GITHUB_OUTPUT itself: a failed lookup fails this step.
        matrixCommand(c, ''),
      ],
    },
  };
  for (let i = 0; i < c.batches; i++) {
    jobs[batchName(c, 'build', i)] = chainJob(c, 'plan', i, packages(true, c.ghcrStaging), [
      { uses: ACTIONS.setupBuildx.uses },
      // Without a cache in the spec, the runners share GitHub's cache service (keys per image and
      // platform); buildx reads its token from the environment this action exposes to run steps.
      ...(spec.build.cache ? [] : [{ name: 'Expose the Actions cache service to buildx', uses: ACTIONS.runtime.uses }]),
      ...(stagingRegistry ? [loginStep(stagingRegistry, o.credentialDefaults)] : []),
      // Per-platform jobs push only content-addressed staging tags. The matrix names
      // per-platform builds, so split is fixed; matrix values reach the script through env.
      { name: 'Build this chain', env: { ONLY: '${{ matrix.only }}', ...buildSecretsEnv(plan) }, run: `${c.build} --multi-platform split${spec.build.cache ? '' : ' --cache-type gha'} --only "$ONLY"` },
    ]);
  }
  const buildNeeds = Array.from({ length: c.batches }, (_, i) => batchName(c, 'build', i));
  const readme = readmeEnv(plan, o.credentialDefaults);
  jobs['publish'] = {
    needs: ['plan', ...buildNeeds],
    if: `\${{ !cancelled() && needs.plan.result == 'success' && ${buildNeeds.map((b) => `needs.${b}.result != 'failure'`).join(' && ')} }}`,
    'runs-on': spec.build.defaultRunner,
    'timeout-minutes': Math.min(360, Math.ceil(spec.build.timeout / 60) + 10),
    permissions: packages(true, c.ghcrPublish),
    steps: [
      ...c.setup,
      { uses: ACTIONS.setupBuildx.uses },
      ...c.registries.map((r) => loginStep(r, o.credentialDefaults)),
      // Every build is found in the registry by its hash; this merges manifests and pushes READMEs.
      { name: 'Publish tags and READMEs', ...(Object.keys(readme).length ? { env: readme } : {}), run: `${c.build} --multi-platform split ${sel}` },
    ],
  };
  return jobs;
}

export function githubWorkflow(plan: Plan, o: WorkflowOptions): string {
  const c = shared(plan, o);
  const { validate, ...prBuilds } = pullRequestJobs(c);
  const { plan: planJob, publish, ...builds } = publishingJobs(c);
  // The order jobs are listed in: what runs first, on either path.
  const jobs = { validate, plan: planJob, ...prBuilds, ...builds, publish };
  const doc = new Document({
    name: `${plan.spec.package} images`,
    on: {
      // GitHub does not apply path filters to tag pushes: a release tag always publishes.
      push: { branches: ['main'], tags: RELEASE_TAGS, paths: o.paths },
      pull_request: { paths: o.paths },
      workflow_dispatch: {},
    },
    // Nothing by default; each job asks for what it needs.
    permissions: {},
    // A newer push to a pull request replaces its checks; a publishing run always finishes.
    concurrency: { group: `${plan.spec.package}-images-\${{ github.ref }}`, 'cancel-in-progress': "${{ github.event_name == 'pull_request' }}" },
    jobs,
  }, { aliasDuplicateObjects: false });
  visit(doc, {
    Pair(_, pair) {
      if (!isPair(pair) || !isScalar(pair.key) || !isScalar(pair.value)) return;
      // Every script is quoted; every pinned action says which version it is.
      if (pair.key.value === 'run') pair.value.type = 'QUOTE_DOUBLE';
      if (pair.key.value === 'uses') {
        const a = Object.values(ACTIONS).find((x) => x.uses === pair.value!.toString());
        if (a) pair.value.comment = ` ${a.version}`;
      }
    },
  });
  return `# Written by \`manager ci github\`; regenerate rather than edit.\n${doc.toString({ lineWidth: 0 })}`;
}
