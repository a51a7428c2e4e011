// CI fan-out, planned purely: chains of builds (one distro × python × platform from the root
// release up) become matrix jobs; a GitHub Actions workflow runs them and then publishes.
import { stringify } from 'yaml';
import { UsageError } from './errors.ts';
import type { Plan } from './plan.ts';
import type { BuildTask } from './task.ts';

export interface MatrixJob {
  /** Human name: `debian11 py3.9 linux/arm64`. */
  name: string;
  platform: string;
  runner: string;
  /** Whether the job needs QEMU (no native runner for its platform). */
  qemu: boolean;
  /** Task ids for `manager build --only`. */
  only: string;
}

function chainKey(b: BuildTask): string {
  return `${b.distro} py${b.python} ${b.platforms.join(',')}`;
}

/**
 * One job per chain that has changed builds. A job lists only its changed builds; the ones
 * it builds FROM are unchanged, already in the registry, and found there by hash.
 */
export function ciMatrix(plan: Plan, selected: Set<string>, changed: Set<string>): { include: MatrixJob[] } {
  const chains = new Map<string, BuildTask[]>();
  for (const id of plan.order) {
    const t = plan.tasks.get(id)!;
    if (t.kind !== 'build' || !selected.has(id) || !changed.has(id)) continue;
    const k = chainKey(t);
    if (!chains.has(k)) chains.set(k, []);
    chains.get(k)!.push(t);
  }
  const testsOf = new Map<string, string[]>();
  for (const t of plan.tasks.values()) if (t.kind === 'test') testsOf.set(t.build, [...(testsOf.get(t.build) ?? []), t.id]);
  const include = [...chains.entries()].map(([name, builds]) => {
    // CI plans per-platform builds, so a chain is one platform; a native runner needs that.
    const platform = builds[0]!.platforms.join(',');
    const native = plan.spec.build.runners[platform];
    const tests = builds.flatMap((b) => testsOf.get(b.id) ?? []);
    return {
      name,
      platform,
      runner: native ?? plan.spec.build.defaultRunner,
      qemu: !native && platform !== 'linux/amd64' && platform !== 'linux/386',
      only: [...builds.map((b) => b.id), ...tests].join(','),
    };
  });
  return { include };
}

/** `--shard I/N`: whole chains, dealt round-robin in a stable order. */
export function shardSelection(plan: Plan, selected: Set<string>, shard: string): Set<string> {
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new UsageError(`bad --shard "${shard}": expected I/N with 1 <= I <= N`);
  const [i, n] = [Number(m[1]), Number(m[2])];
  const keys = [...new Set(plan.order.map((id) => plan.tasks.get(id)!).filter((t): t is BuildTask => t.kind === 'build' && selected.has(t.id)).map(chainKey))].sort();
  const mine = new Set(keys.filter((_, k) => k % n === i - 1));
  const out = new Set<string>();
  for (const id of selected) {
    const t = plan.tasks.get(id)!;
    if (t.kind === 'render') out.add(id);
    if (t.kind === 'build' && mine.has(chainKey(t))) out.add(id);
    if (t.kind === 'test' && mine.has(chainKey(plan.tasks.get(t.build) as BuildTask))) out.add(id);
  }
  return out;
}

export interface WorkflowOptions {
  /** How the workflow names the package to manager (package name or manifest path). */
  packageArg: string;
  /** Paths whose changes trigger the workflow. */
  paths: string[];
  targets?: string[];
}

/** Env vars every job needs for logins: each credential variable from repository secrets. */
function credentialEnv(plan: Plan): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of plan.spec.publish) {
    const r = plan.spec.registries[name]!;
    for (const v of [r.credentials.usernameEnv, r.credentials.passwordEnv, r.credentials.tokenEnv]) if (v) env[v] = `\${{ secrets.${v} }}`;
    if (r.kind === 'ghcr' && !r.credentials.passwordEnv) env['GITHUB_TOKEN'] = '${{ secrets.GITHUB_TOKEN }}';
  }
  return env;
}

export function githubWorkflow(plan: Plan, o: WorkflowOptions): string {
  const pkg = o.packageArg;
  const sel = o.targets?.length ? ` --target ${o.targets.join(',')}` : ' --all';
  const setup = [
    { uses: 'actions/checkout@v4' },
    { uses: 'actions/setup-node@v4', with: { 'node-version': 20, cache: 'npm' } },
    { run: 'npm ci' },
  ];
  const env = credentialEnv(plan);
  const doc = {
    name: `${plan.spec.package} images`,
    on: {
      push: { branches: ['main'], paths: o.paths },
      workflow_dispatch: {},
    },
    permissions: { contents: 'read', packages: 'write' },
    concurrency: { group: `${plan.spec.package}-images-\${{ github.ref }}`, 'cancel-in-progress': false },
    env,
    jobs: {
      plan: {
        'runs-on': plan.spec.build.defaultRunner,
        outputs: { matrix: '${{ steps.matrix.outputs.matrix }}' },
        steps: [
          ...setup,
          { run: `npx manager authenticate ${pkg}` },
          { id: 'matrix', run: `echo "matrix=$(npx manager ci matrix ${pkg}${sel})" >> "$GITHUB_OUTPUT"` },
        ],
      },
      build: {
        needs: 'plan',
        if: "fromJSON(needs.plan.outputs.matrix).include[0] != null",
        name: '${{ matrix.name }}',
        'runs-on': '${{ matrix.runner }}',
        strategy: { 'fail-fast': false, matrix: '${{ fromJSON(needs.plan.outputs.matrix) }}' },
        steps: [
          ...setup,
          { if: '${{ matrix.qemu }}', uses: 'docker/setup-qemu-action@v3' },
          { uses: 'docker/setup-buildx-action@v3' },
          { run: `npx manager authenticate ${pkg}` },
          // Per-platform jobs push only content-addressed staging tags (by digest). The matrix
          // names per-platform builds, so split is fixed: setup-buildx's builder could do single.
          { run: `npx manager build ${pkg} --multi-platform split --only "\${{ matrix.only }}"` },
        ],
      },
      publish: {
        needs: ['plan', 'build'],
        if: "${{ !cancelled() && needs.plan.result == 'success' && needs.build.result != 'failure' }}",
        'runs-on': plan.spec.build.defaultRunner,
        steps: [
          ...setup,
          { uses: 'docker/setup-buildx-action@v3' },
          { run: `npx manager authenticate ${pkg}` },
          // Every build is found in the registry by its hash; this merges manifests and pushes READMEs.
          { run: `npx manager build ${pkg} --multi-platform split${sel}` },
        ],
      },
    },
  };
  return `# Written by \`manager ci github\`; regenerate rather than edit.\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
