// The GitHub Actions workflow `manager ci github` writes: a plan job that asks the registry what
// is missing, matrix jobs that build one chain each on runners sharing only the registry, and
// a publish job. Hardened as GitHub's own guidance asks: least permissions, actions pinned by
// commit, each registry's secrets only in the step that logs in to it, matrix values passed
// through the environment rather than pasted into scripts, timeouts, and a plan that fails
// its step when it fails. Pure.
import { Document, isPair, isScalar, visit } from 'yaml';
import { chainCount, MATRIX_LIMIT } from './ci.ts';
import type { Plan } from '../plan/plan.ts';
import { stagingRepository } from '../plan/staging.ts';
import type { Registry, RegistryKind } from '../load/spec.ts';

/** Third-party actions, pinned by commit; the version is written beside each. */
export const ACTIONS = {
  checkout: { uses: 'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683', version: 'v4.2.2' },
  setupNode: { uses: 'actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020', version: 'v4.4.0' },
  setupQemu: { uses: 'docker/setup-qemu-action@29109295f81e9208d7d86ff1c6c12d2833863392', version: 'v3.6.0' },
  setupBuildx: { uses: 'docker/setup-buildx-action@e468171a9de216ec08956ac3ada2f0791b6bd435', version: 'v3.11.1' },
  login: { uses: 'docker/login-action@74a5d142397b4f367a81961eba4e8cd7edddf772', version: 'v3.4.0' },
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

export function githubWorkflow(plan: Plan, o: WorkflowOptions): string {
  const spec = plan.spec;
  const nodeDir = o.nodeDir && o.nodeDir !== '.' ? o.nodeDir : undefined;
  const manager = [nodeDir ? shq(`./${nodeDir}/node_modules/.bin/manager`) : './node_modules/.bin/manager', ...(o.specDir ? ['--spec-dir', shq(o.specDir)] : [])].join(' ');
  const pkg = shq(o.packageArg);
  const selection = [...(o.targets?.length ? ['--target', o.targets.join(',')] : []), ...(o.selection ?? [])];
  const sel = selection.length ? selection.map(shq).join(' ') : '--all';
  const registries = spec.publish.map((n) => spec.registries[n]!);
  const staging = stagingRepository(plan);
  const stagingRegistry = registries.find((r) => staging?.startsWith(`${r.host}/`)) ?? registries[0];
  const ghcr = registries.some((r) => r.kind === 'ghcr');
  const timeoutMin = Math.min(360, Math.ceil(spec.build.timeout / 60) + 10);
  // The workflow holds as many build jobs as the largest matrix needs, 256 jobs each.
  const batches = Math.max(1, Math.ceil(chainCount(plan, o.selected ?? new Set(plan.tasks.keys())) / MATRIX_LIMIT));
  // The tool is installed where its package.json is, which need not be the repository root.
  const setup: Step[] = [
    { uses: ACTIONS.checkout.uses, with: { 'persist-credentials': false } },
    { uses: ACTIONS.setupNode.uses, with: { 'node-version': 22, cache: 'npm', ...(nodeDir ? { 'cache-dependency-path': `${nodeDir}/package-lock.json` } : {}) } },
    { run: 'npm ci', ...(nodeDir ? { 'working-directory': nodeDir } : {}) },
  ];
  const read = { contents: 'read' };
  const write = ghcr ? { contents: 'read', packages: 'write' } : read;
  const buildJob = (i: number) => ({
    needs: 'plan',
    if: `fromJSON(needs.plan.outputs.matrix${i}).include[0] != null`,
    name: '${{ matrix.name }}',
    'runs-on': '${{ matrix.runner }}',
    'timeout-minutes': '${{ matrix.timeout }}',
    permissions: write,
    strategy: { 'fail-fast': false, matrix: `\${{ fromJSON(needs.plan.outputs.matrix${i}) }}` },
    steps: [
      ...setup,
      { if: '${{ matrix.qemu }}', uses: ACTIONS.setupQemu.uses },
      { uses: ACTIONS.setupBuildx.uses },
      // Without a cache in the spec, the runners share GitHub's cache service (keys per image and
      // platform); buildx reads its token from the environment this action exposes to run steps.
      ...(spec.build.cache ? [] : [{ name: 'Expose the Actions cache service to buildx', uses: ACTIONS.runtime.uses }]),
      ...(stagingRegistry ? [loginStep(stagingRegistry, o.credentialDefaults)] : []),
      // Per-platform jobs push only content-addressed staging tags. The matrix names
      // per-platform builds, so split is fixed; matrix values reach the script through env.
      { name: 'Build this chain', env: { ONLY: '${{ matrix.only }}' }, run: `${manager} build ${pkg} --multi-platform split${spec.build.cache ? '' : ' --cache-type gha'} --only "$ONLY"` },
    ],
  });
  const jobs: Record<string, unknown> = {
    validate: {
      if: "github.event_name == 'pull_request'",
      'runs-on': spec.build.defaultRunner,
      'timeout-minutes': 15,
      permissions: read,
      steps: [
        ...setup,
        // Spec errors become annotations on the spec's lines; the dry run shows the plan without credentials.
        { run: `${manager} validate ${pkg}` },
        { run: `${manager} build ${pkg} ${sel} --dry-run --offline` },
      ],
    },
    plan: {
      if: "github.event_name != 'pull_request'",
      'runs-on': spec.build.defaultRunner,
      'timeout-minutes': 15,
      permissions: ghcr ? { contents: 'read', packages: 'read' } : read,
      outputs: Object.fromEntries(Array.from({ length: batches }, (_, i) => [`matrix${i}`, `\${{ steps.matrix.outputs.matrix${i} }}`])),
      steps: [
        ...setup,
        ...(stagingRegistry ? [loginStep(stagingRegistry, o.credentialDefaults)] : []),
        // Writes matrix0..matrixN to $GITHUB_OUTPUT itself: a failed lookup fails this step.
        { id: 'matrix', run: `${manager} ci matrix ${pkg} ${sel} --batches ${batches} --github-output` },
      ],
    },
  };
  for (let i = 0; i < batches; i++) jobs[batches === 1 ? 'build' : `build${i}`] = buildJob(i);
  const buildNeeds = Array.from({ length: batches }, (_, i) => (batches === 1 ? 'build' : `build${i}`));
  jobs['publish'] = {
    needs: ['plan', ...buildNeeds],
    if: `\${{ !cancelled() && needs.plan.result == 'success' && ${buildNeeds.map((b) => `needs.${b}.result != 'failure'`).join(' && ')} }}`,
    'runs-on': spec.build.defaultRunner,
    'timeout-minutes': timeoutMin,
    permissions: write,
    steps: [
      ...setup,
      { uses: ACTIONS.setupBuildx.uses },
      ...registries.map((r) => loginStep(r, o.credentialDefaults)),
      // Every build is found in the registry by its hash; this merges manifests and pushes READMEs.
      { name: 'Publish tags and READMEs', ...(Object.keys(readmeEnv(plan, o.credentialDefaults)).length ? { env: readmeEnv(plan, o.credentialDefaults) } : {}), run: `${manager} build ${pkg} --multi-platform split ${sel}` },
    ],
  };
  const doc = new Document({
    name: `${spec.package} images`,
    on: {
      push: { branches: ['main'], paths: o.paths },
      pull_request: { paths: o.paths },
      workflow_dispatch: {},
    },
    // Nothing by default; each job asks for what it needs.
    permissions: {},
    concurrency: { group: `${spec.package}-images-\${{ github.ref }}`, 'cancel-in-progress': false },
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
