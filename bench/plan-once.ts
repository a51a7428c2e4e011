// One planning run in a fresh process, so peak memory is this run's alone. Prints JSON.
import { loadPlan } from '../core/plan/plan.ts';

const manifest = process.argv[2]!;
const t0 = performance.now();
const plan = loadPlan(manifest);
const ms = performance.now() - t0;
const builds = [...plan.tasks.values()].filter((t) => t.kind === 'build').length;
process.stdout.write(JSON.stringify({ ms, tasks: plan.tasks.size, builds, maxRssMB: process.resourceUsage().maxRSS / 1024 }) + '\n');
