// The selectors graph, build, test, bake and ci share.
import type { Command } from 'commander';
import { parseShardBy, shardSelection } from '../core/views/ci.ts';
import { UsageError } from '../core/base/errors.ts';
import type { Plan } from '../core/plan/plan.ts';
import { parseTarget, type Selection } from '../core/plan/select.ts';

export const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export function addSelectionOptions(cmd: Command): Command {
  return cmd
    .option('--target <targets>', 'package:release[@distro], comma-separated or repeated', list)
    .option('--releases <names>', 'only these releases (and what they build FROM)', list)
    .option('--distros <names>', 'only these distros', list)
    .option('--axis <name=values>', 'only images with these values of an axis (repeatable: --axis pg=15,16 --axis flavor=slim)', list)
    .option('--python-version <versions>', 'only these Python versions (the same as --axis python=…)', list)
    .option('--platforms <platforms>', 'only these platforms (linux/arm64 or arm64v8)', list)
    .option('--all', 'everything in the spec');
}

/** `--set TARGET.FIELD=VALUE` (core/load/overrides.ts): build, test, bake and graph, never ci, whose matrix must match the workflow's build. */
export function addSetOption(cmd: Command): Command {
  return cmd.option('--set <target.field=value>', 'override for matching images, as bake: RELEASE.args.NAME=V, pkg:RELEASE@DISTRO.vars.NAME=V, *.platforms=linux/amd64 (repeatable; args and vars are inputs, so they change hashes)', (v: string, p: string[] = []) => [...p, v]);
}

/** `--shard I/N` and `--shard-by`: one machine's share of the selection. */
export function addShardOptions(cmd: Command): Command {
  return cmd
    .option('--shard <i/n>', 'only shard I of N: whole chains (a root image\'s platform and all built FROM it), grouped by --shard-by and dealt round-robin')
    .option('--shard-by <what>', 'what a shard holds whole: chain (default), distro, or axis:NAME (an axis every root release has)');
}

/** The selection, cut to the shard when one is asked for. */
export function shardFrom(plan: Plan, selected: Set<string>, o: Record<string, unknown>): Set<string> {
  if (o['shardBy'] !== undefined && o['shard'] === undefined) throw new UsageError('--shard-by needs --shard I/N');
  if (o['shard'] === undefined) return selected;
  return shardSelection(plan, selected, String(o['shard']), parseShardBy(String(o['shardBy'] ?? 'chain'), plan.spec));
}

export function selectionFrom(o: Record<string, unknown>): Selection {
  const fromSet = setPlatforms(o['set'] as string[] | undefined);
  if (fromSet && (o['platforms'] as string[] | undefined)?.length) throw new UsageError('give platforms once: --platforms or --set *.platforms=…');
  return {
    targets: (o['target'] as string[] | undefined)?.map(parseTarget),
    releases: o['releases'] as string[] | undefined,
    distros: o['distros'] as string[] | undefined,
    axes: axisSelection(o['axis'] as string[] | undefined, o['pythonVersion'] as string[] | undefined),
    platforms: fromSet ?? (o['platforms'] as string[] | undefined),
    only: o['only'] as string[] | undefined,
    all: Boolean(o['all']),
  };
}

/** `*.platforms=…` among the sets (checked against the spec when it is loaded). */
function setPlatforms(texts: string[] | undefined): string[] | undefined {
  const last = (texts ?? []).map((t) => /^(?:[^:=]+:)?\*\.platforms=(.*)$/s.exec(t)?.[1]).filter((x) => x !== undefined).pop();
  return last?.split(',').map((p) => p.trim()).filter(Boolean);
}

/**
 * `--axis` arrives split on commas by `list`: `pg=15,16` as `pg=15` and `16`, so a word without
 * `=` continues the axis before it. Repeating an axis adds values.
 */
export function axisSelection(words: string[] | undefined, python: string[] | undefined): Record<string, string[]> | undefined {
  if (!words?.length && !python?.length) return undefined;
  const out: Record<string, string[]> = Object.create(null);
  let current: string | undefined;
  for (const w of words ?? []) {
    const eq = w.indexOf('=');
    if (eq >= 0) {
      current = w.slice(0, eq).trim();
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(current)) throw new UsageError(`bad --axis "${w}": expected NAME=VALUE[,VALUE…]`);
      (out[current] ??= []).push(...w.slice(eq + 1).split(',').map((x) => x.trim()).filter(Boolean));
    } else if (current) out[current]!.push(w);
    else throw new UsageError(`bad --axis "${w}": expected NAME=VALUE[,VALUE…]`);
  }
  if (python?.length) (out['python'] ??= []).push(...python);
  for (const [name, values] of Object.entries(out)) {
    if (!values.length) throw new UsageError(`--axis ${name}= names no value`);
  }
  return out;
}

/** The selection as flags again, for a generated workflow to pass on (`--all` is the empty list). */
export function selectionArgs(sel: Selection): string[] {
  const out: string[] = [];
  const flag = (name: string, values: string[] | undefined) => {
    if (values?.length) out.push(name, values.join(','));
  };
  flag('--target', sel.targets?.map((t) => `${t.package}${t.release || t.distro ? `:${t.release ?? ''}${t.distro ? `@${t.distro}` : ''}` : ''}`));
  flag('--releases', sel.releases);
  flag('--distros', sel.distros);
  for (const [axis, values] of Object.entries(sel.axes ?? {})) flag('--axis', [`${axis}=${values[0]}`, ...values.slice(1)]);
  flag('--platforms', sel.platforms);
  return out;
}
