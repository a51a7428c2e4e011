// Planning commands: validate, context, generate, graph, init, schema.
import { join, relative, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { diffParts, short } from '../core/base/hash.ts';
import { UsageError } from '../core/base/errors.ts';
import { formatGraph, graphJsonChunks, mermaidGraph, type GraphFormat, type GraphLevel } from '../core/views/graph-format.ts';
import { planSpec } from '../core/plan/plan.ts';
import type { Action } from '../core/plan/decide.ts';
import type { RenderTask } from '../core/plan/task.ts';
import { jsonSchema } from '../core/load/schema.ts';
import { selectTasks } from '../core/plan/select.ts';
import { generate, writeRendered } from '../tasks/generate.ts';
import { checkOutputPath } from '../tasks/links.ts';
import { metadataFiles } from '../tasks/metadata.ts';
import { readState } from '../tasks/state.ts';
import { execute } from '../tasks/execute.ts';
import { executeDefaults } from '../tasks/options.ts';
import { readmePusher } from '../tasks/authenticate.ts';
import { writeFileAtomic } from '../tasks/atomic.ts';
import { askAxes, initPackage, parseInitAxes } from '../tasks/init.ts';
import type { Output } from './output.ts';
import { load, loadPackage, packageArg, planned, specRoot, takeLock, lockChoice, waitLockOption, breakLockOption, type Loaded } from './workspace.ts';
import { addSelectionOptions, addSetOption, addShardOptions, list, selectionFrom, shardFrom } from './selection.ts';

export function registerCommands(program: Command, out: Output): void {
  registerValidateCommand(program, out);
  registerContextCommand(program, out);
  registerGenerateCommand(program, out);
  registerGraphCommand(program, out);
  registerInitCommand(program, out);
  registerSchemaCommand(program, out);
}

function registerValidateCommand(program: Command, out: Output): void {
  program
    .command('validate')
    .description('check a package spec (or a spec file) and report every problem with file:line:column')
    .argument('<package>', 'package name or path to a manifest')
    .option('--target-version <version>', 'override the spec version')
    .action((pkg: string, o: Record<string, unknown>, cmd: Command) => {
      const loaded = loadPackage(cmd.optsWithGlobals(), pkg, { targetVersion: o['targetVersion'] as string | undefined }, out);
      const { manifest } = loaded;
      const plan = planSpec(loaded.spec, loaded.warnings);
      out.diagnostics(plan.warnings);
      const counts: Record<string, number> = {};
      for (const t of plan.tasks.values()) counts[t.kind] = (counts[t.kind] ?? 0) + 1;
      if (out.opts.json) out.json({ valid: true, manifest, files: plan.spec.source.files, warnings: plan.warnings, tasks: counts, ...(plan.excluded.length ? { excluded: plan.excluded } : {}) });
      else out.result(`${relative(process.cwd(), manifest) || manifest}: valid (${plan.variants.length} images, ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')})`);
    });
}

function registerContextCommand(program: Command, out: Output): void {
  program
    .command('context')
    .alias('create_context')
    .description('write dockerfiles.json (what rendering sees) and images.json (every image) into the generated directory')
    .argument('<package>')
    .option('--target-version <version>', 'override the spec version')
    .option('--save-metadata', 'accepted for the notes\' spelling; context always writes the metadata files')
    .option('--output <dir>', 'generated root (default: <spec root>/generated)')
    .option('--validate', 'accepted for the notes\' spelling; validation always runs')
    .action(async (pkg: string, o: Record<string, unknown>, cmd: Command) => {
      const l = load(cmd.optsWithGlobals(), pkg, o, out);
      const files = metadataFiles(l.plan);
      const lock = await takeLock(l.packageDir, out, false);
      try {
        // Through the tree's record, as generate writes: later generates keep what it names current.
        const renders = [...l.plan.tasks.values()].filter((t): t is RenderTask => t.kind === 'render');
        writeRendered(l.packageDir, new Map(Object.entries(files)), { renders, state: readState(l.packageDir), package: l.plan.spec.package });
      } finally {
        lock.release();
      }
      if (out.opts.json) out.json({ packageDir: l.packageDir, files: Object.keys(files) });
      else out.result(Object.keys(files).map((f) => join(l.packageDir, f)).join('\n'));
    });
}

function registerGenerateCommand(program: Command, out: Output): void {
  program
    .command('generate')
    .description('write generated/<package>/: each image\'s directory (<distro>/<release>/Dockerfile and extra files), README.md, versions')
    .argument('<package>')
    .option('--target-version <version>', 'override the spec version')
    .option('--dockerfiles', 'only Dockerfiles and their files')
    .option('--docs', 'only README.md and versions')
    .option('--all', 'both (the default)')
    .option('--save-metadata', 'also write dockerfiles.json and images.json (kept current by every later generate once written)')
    .option('--output <dir>', 'generated root (default: <spec root>/generated)')
    .option('--overwrite', 'rewrite every file it wrote from scratch instead of only what changed')
    .option('--adopt', 'replace files manager did not write that stand where it writes, and own them from now on')
    .option('--authenticate', 'log in to the package\'s registries first')
    .addOption(waitLockOption())
    .addOption(breakLockOption())
    .action(async (pkg: string, o: Record<string, unknown>, cmd: Command) => {
      const l = load(cmd.optsWithGlobals(), pkg, o, out);
      const base = o['output'] ? resolve(String(o['output'])) : l.root;
      checkOutputPath(base, l.packageDir);
      const lock = await takeLock(l.packageDir, out, lockChoice(o));
      try {
        if (o['authenticate']) {
          const { authenticate } = await import('../tasks/authenticate.ts');
          await authenticate(l.plan.spec, { root: l.root, envFile: l.envFile, registries: undefined, out });
        }
        const onlyOne = Boolean(o['dockerfiles']) !== Boolean(o['docs']);
        const res = generate(l.plan, {
          packageDir: l.packageDir,
          dockerfiles: o['all'] || !onlyOne ? true : Boolean(o['dockerfiles']),
          docs: o['all'] || !onlyOne ? true : Boolean(o['docs']),
          metadata: Boolean(o['saveMetadata']),
          overwrite: Boolean(o['overwrite']),
          adopt: Boolean(o['adopt']),
          base,
        });
        if (out.opts.json) out.json(res);
        else {
          if (out.opts.verbose) for (const d of res.renders) out.debug(`  ${d.action} ${d.id}: ${d.reason}`);
          if (out.opts.verbose) for (const f of res.written) out.debug(`  wrote ${f}`);
          if (out.opts.verbose) for (const f of res.removed) out.debug(`  removed ${f}`);
          if (out.opts.verbose) for (const f of res.adopted) out.debug(`  adopted ${f}`);
          for (const f of res.kept) out.info(`kept ${f}: it left the spec, but was edited since manager wrote it; it is no longer manager's`);
          out.result(`${relative(process.cwd(), res.packageDir) || res.packageDir}: ${res.written.length} written, ${res.unchanged.length} unchanged, ${res.removed.length} removed${res.adopted.length ? `, ${res.adopted.length} adopted` : ''}`);
        }
      } finally {
        lock.release();
      }
    });
}

function registerGraphCommand(program: Command, out: Output): void {
  addSetOption(addShardOptions(addSelectionOptions(
    program
      .command('graph')
      .description('print the plan: every task with its id, hash and dependencies (a dry run of build)')
      .argument('[package]'),
  )))
    .addOption(new Option('--format <format>', 'tree, dot, mermaid or json').choices(['tree', 'dot', 'mermaid', 'json']).default('tree'))
    .addOption(new Option('--level <level>', 'dot and mermaid: every task, one node per image, or the release hierarchy (small enough for any page)').choices(['task', 'image', 'release']))
    .option('--target-version <version>', 'override the spec version')
    .option('--output <dir>', 'generated root holding the last run\'s record (for --explain)')
    .option('--explain <task-id>', 'say whether a task would run and which inputs changed since the last recorded run')
    .option('--offline', 'with --explain: decide from the state file alone, without asking the registry')
    .addOption(new Option('--multi-platform <mode>', 'plan one build per platform (split) or per image (single); default: split, or the spec\'s build.multi_platform when it is single').choices(['single', 'split']))
    .action(async (pkg: string | undefined, o: Record<string, unknown>, cmd: Command) => {
      const s = loadPackage(cmd.optsWithGlobals(), packageArg(pkg, o['target'] as string[] | undefined), o, out);
      // No builder to ask here: auto shows the plan every builder can run.
      const l = planned(s, out, { multiPlatform: (o['multiPlatform'] as 'single' | 'split' | undefined) ?? (s.spec.build.multiPlatform === 'single' ? 'single' : 'split') });
      if (o['explain']) {
        const e = await explain(l, String(o['explain']), { offline: Boolean(o['offline']) });
        if (out.opts.json) out.json(e);
        else out.result(formatExplanation(e, l));
        return;
      }
      const selected = shardFrom(l.plan, selectTasks(l.plan, selectionFrom(o)), o);
      const format = (out.opts.json ? 'json' : o['format']) as GraphFormat;
      if (o['level'] !== undefined && format !== 'dot' && format !== 'mermaid') throw new UsageError('--level applies to --format dot and mermaid');
      if (format === 'json') await out.stream(graphJsonChunks(l.plan, selected));
      else if (format === 'mermaid') {
        const m = mermaidGraph(l.plan, selected, (o['level'] as GraphLevel | undefined) ?? 'task');
        if (m.warning) out.info(`warning: ${m.warning}`);
        out.result(m.text);
      } else out.result(formatGraph(l.plan, selected, format, (o['level'] as GraphLevel | undefined) ?? 'task'));
    });
}

function registerInitCommand(program: Command, out: Output): void {
  program
    .command('init')
    .description('write a starter manifest (releases ordered by hierarchy) and templates that validate')
    .argument('<package>')
    .requiredOption('--releases <list>', 'releases in hierarchy order; each builds on the previous unless written child:parent; (gpu_supported) adds a CUDA axis', list)
    .option('--distros <list>', 'distros from the built-in catalog (default: debian12)', list)
    .option('--axis <name=values>', "the family's axes, repeatable: --axis pg=15,16,17 (python=… gives the python shorthand); asked for on a terminal when not given", (v: string, p: string[] = []) => [...p, v])
    .option('--no-axes', 'no axes, and do not ask')
    .option('--output <file>', 'manifest path (default: <spec root>/manifests/<package>.yaml)')
    .option('--force', 'overwrite existing files')
    .action(async (pkg: string, o: Record<string, unknown>, cmd: Command) => {
      const root = specRoot(cmd.optsWithGlobals()['specDir'] as string | undefined);
      let axisWords = (o['axis'] as string[] | undefined) ?? [];
      if (!axisWords.length && o['axes'] !== false && process.stdin.isTTY && process.stderr.isTTY) axisWords = await askAxes(process.stdin, process.stderr);
      const res = initPackage({
        root,
        name: pkg,
        releases: o['releases'] as string[],
        distros: (o['distros'] as string[] | undefined) ?? ['debian12'],
        axes: parseInitAxes(axisWords),
        manifest: o['output'] as string | undefined,
        force: Boolean(o['force']),
      });
      if (out.opts.json) out.json(res);
      else out.result(`wrote ${res.files.map((f) => relative(process.cwd(), f)).join('\n      ')}`);
    });
}

function registerSchemaCommand(program: Command, out: Output): void {
  program
    .command('schema')
    .description('print (or write) the spec JSON Schema for editor completion')
    .option('--output <file>', 'write to this file instead of stdout')
    .action((o: Record<string, unknown>) => {
      const text = JSON.stringify(jsonSchema(), null, 2) + '\n';
      if (o['output']) writeFileAtomic(String(o['output']), text);
      else out.result(text);
    });
}

export interface Explanation {
  id: string;
  kind: string;
  hash: string;
  recorded: { hash: string; finishedAt?: string } | null;
  decision: { action: Action; reason: string };
  changed: { part: string; change: string; before?: string; after?: string }[];
}

/**
 * "Why is this rebuilding?": the dry run's decision for one task (over what it depends on, so
 * the answer is the one a run would reach), with each changed input, readably where it can be.
 */
export async function explain(l: Loaded, id: string, o: { offline: boolean }): Promise<Explanation> {
  const t = l.plan.tasks.get(id);
  if (!t) throw new UsageError(`unknown task id "${id}" (see: manager graph ${l.plan.spec.package} --format json)`);
  const summary = await execute(l.plan, executeDefaults(l.plan, {
    packageDir: l.packageDir,
    selected: selectTasks(l.plan, { only: [id] }),
    maxWorkers: 1,
    dryRun: true,
    offline: o.offline,
    renderer: 'silent',
    // The facts a build would have: a README pusher exists (it is never called here).
    pushReadme: readmePusher(l.plan.spec, { root: l.root, envFile: l.envFile, out: { info: () => {}, error: () => {} } }),
    log: () => {},
  }));
  const r = summary.results.find((x) => x.id === id)!;
  const rec = readState(l.packageDir).tasks[id];
  const detail = (part: string, d?: Record<string, string>) => (d && Object.hasOwn(d, part) ? d[part] : undefined);
  const changed = rec
    ? diffParts(rec.parts, t.hash.parts).map((c) => ({
        part: c.part,
        change: c.change,
        before: detail(c.part, rec.details) ?? (c.before ? short(c.before) : undefined),
        after: detail(c.part, t.hash.details) ?? (c.after ? short(c.after) : undefined),
      }))
    : [];
  return {
    id,
    kind: t.kind,
    hash: t.hash.value,
    recorded: rec ? { hash: rec.hash, finishedAt: rec.finishedAt } : null,
    decision: { action: r.action!, reason: r.reason ?? '' },
    changed,
  };
}

export function formatExplanation(e: Explanation, l: Loaded): string {
  const lines = [e.id, `  hash now: ${short(e.hash)}`];
  lines.push(e.recorded ? `  last run: ${short(e.recorded.hash)}${e.recorded.finishedAt ? ` (${e.recorded.finishedAt})` : ''}` : '  last run: none recorded here');
  lines.push(`  decision: ${e.decision.action} (${e.decision.reason})`);
  if (e.changed.length) {
    lines.push('  changed inputs:');
    const t = l.plan.tasks.get(e.id)!;
    for (const c of e.changed) {
      const what = c.part === 'parent' && t.kind === 'build' && t.parentBuild ? `parent (${t.parentBuild} changed)` : c.part;
      lines.push(`    ${c.change.padEnd(8)} ${what}${c.before ? `  ${c.before}` : ''}${c.after ? ` -> ${c.after}` : ''}`);
    }
    if (t.kind === 'build' && e.changed.some((c) => c.part === 'parent') && t.parentBuild) {
      lines.push(`  see: manager graph ${l.plan.spec.package} --explain ${t.parentBuild}`);
    }
  }
  return lines.join('\n');
}
