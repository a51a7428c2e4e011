// The build report in a real headless browser (Debian's chromium through puppeteer-core): after a
// real build on the host engine, .manager/report.html renders, its timeline has one bar per task
// that ran, each where the run put it, on a time axis; the page opens with the outcome and every
// failure, its cause and a link to its log that still works in a copy of the directory; its
// tags table says where each public tag points, as the registry says; report.md carries the Gantt chart.
import { appendFileSync, cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, describe, expect, it } from 'vitest';
import { parseImageRef } from '../../core/base/image-ref.ts';
import { registryClient } from '../../tasks/registry.ts';
import { cli } from '../helpers/cli.ts';
import { e2eEnv, e2eSpec, removeLocalImages, taskRows, type TaskRow } from '../helpers/e2e.ts';
import { tempDir } from '../helpers/spec.ts';

const e = e2eEnv();
const creds = { E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password };

async function withPage<T>(url: string, use: (page: Page, errors: string[]) => Promise<T>): Promise<T> {
  const browser: Browser = await puppeteer.launch({ executablePath: e.chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    page.on('requestfailed', (req) => errors.push(`request ${req.url()}`));
    // Anything but the page itself is a fetch a self-contained report must not make.
    page.on('request', (req) => {
      if (req.url() !== url) errors.push(`fetched ${req.url()}`);
    });
    await page.goto(url, { waitUntil: 'load' });
    return await use(page, errors);
  } finally {
    await browser.close();
  }
}

/** A screenshot of the whole page, checked to be a real picture: a PNG of the viewport's width or more, and not blank-sized. */
async function screenshot(page: Page, file: string): Promise<void> {
  await page.screenshot({ path: file as `${string}.png`, fullPage: true });
  const png = readFileSync(file);
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  expect(width).toBe(1280);
  expect(height).toBeGreaterThanOrEqual(900);
  expect(statSync(file).size).toBeGreaterThan(20_000);
}

interface Dom {
  outcome: Record<string, number>;
  outcomeClass: string;
  outcomeTop: number;
  failures: { task: string; text: string; href: string | null; top: number }[];
  tags: { ref: string; state: string; registry: string; digest: string | null; text: string }[];
  span: number;
  inner: { left: number; width: number; right: number };
  bars: { task: string; status: string; startMs: number; durationMs: number; left: number; width: number; height: number }[];
  ticks: { ms: number; label: string; center: number }[];
  tasks: (string | null)[];
}

const readDom = (page: Page): Promise<Dom> =>
  page.evaluate(() => {
    const box = (el: Element) => el.getBoundingClientRect();
    const timeline = document.querySelector('#timeline')!;
    const t = box(timeline);
    const inner = { left: t.left + timeline.clientLeft, width: timeline.clientWidth, right: t.left + timeline.clientLeft + timeline.clientWidth };
    return {
      outcome: Object.fromEntries([...document.querySelectorAll('#counts li')].map((li) => [li.getAttribute('data-outcome')!, Number(li.querySelector('b')!.textContent)])),
      outcomeClass: document.querySelector('#outcome')!.className,
      outcomeTop: box(document.querySelector('#outcome')!).top,
      failures: [...document.querySelectorAll('#failures li')].map((li) => ({ task: li.getAttribute('data-task')!, text: li.textContent!, href: li.querySelector('a.log')?.getAttribute('href') ?? null, top: box(li).top })),
      tags: [...document.querySelectorAll('#tags tr[data-ref]')].map((tr) => ({ ref: tr.getAttribute('data-ref')!, state: tr.getAttribute('data-state')!, registry: tr.closest('tbody')!.getAttribute('data-registry')!, digest: tr.querySelector('code.digest')?.textContent ?? null, text: tr.textContent! })),
      span: Number(timeline.getAttribute('data-span-ms')),
      inner,
      bars: [...document.querySelectorAll('#timeline .bar')].map((el) => {
        const b = box(el);
        return { task: el.getAttribute('data-task')!, status: el.getAttribute('data-status')!, startMs: Number(el.getAttribute('data-start-ms')), durationMs: Number(el.getAttribute('data-duration-ms')), left: b.left, width: b.width, height: b.height };
      }),
      ticks: [...document.querySelectorAll('#axis .tick')].map((el) => {
        const b = box(el);
        return { ms: Number(el.getAttribute('data-ms')), label: el.textContent!, center: b.left + b.width / 2 };
      }),
      tasks: [...document.querySelectorAll('#tasks tbody tr')].map((tr) => tr.getAttribute('data-status')),
    };
  });

/** The axis: round, increasing ticks labelled in s or min, each where its time falls on the timeline. */
function checkAxis(d: Dom): void {
  expect(d.ticks.length).toBeGreaterThanOrEqual(2);
  expect(d.ticks[0]!.ms).toBe(0);
  for (const [i, k] of d.ticks.entries()) {
    expect(k.label).toMatch(/^\d+(\.\d+)?(s| min)$/);
    if (i) expect(k.ms).toBeGreaterThan(d.ticks[i - 1]!.ms);
    expect(k.ms).toBeLessThanOrEqual(d.span);
    expect(Math.abs(k.center - (d.inner.left + (k.ms / d.span) * d.inner.width)), k.label).toBeLessThan(1.5);
  }
}

/** Each bar where and as long as its task: left at its start, width its share of the axis, inside the timeline. */
function checkBars(d: Dom): void {
  for (const b of d.bars) {
    expect(b.width * b.height, b.task).toBeGreaterThan(0);
    expect(Math.abs(b.left - (d.inner.left + Math.min((b.startMs / d.span) * d.inner.width, d.inner.width - 2))), b.task).toBeLessThan(1);
    // Bars of a few ms are drawn 2px wide, so they can be seen; all others at their share.
    expect(Math.abs(b.width - Math.max(2, (b.durationMs / d.span) * d.inner.width)), b.task).toBeLessThan(1);
    expect(b.left + b.width, b.task).toBeLessThanOrEqual(d.inner.right + 0.5);
  }
}

describe('build report', () => {
  it('renders in chromium with one timeline bar per task that ran, and the failures and skips in its table', async () => {
    const spec = e2eSpec(e, `report-${Date.now().toString(36)}`, 'offline');
    const r = cli(['build', spec.manifest, '--releases', 'runtime', '--python-version', '3.11', '--platforms', 'linux/amd64', '--output', spec.generated, '--json'], { env: creds });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const rows = taskRows(r.stdout, r.stderr);
    const ran = rows.filter((x) => x.status === 'built' || x.status === 'ran').map((x) => x.id).sort();
    expect(ran.length).toBeGreaterThanOrEqual(4);
    const dir = join(spec.generated, 'offline-app', '.manager');
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/```mermaid\ngantt\n[\s\S]*build offline-app\/bookworm\/runtime\/py3\.11\/amd64 :/);

    const url = pathToFileURL(join(dir, 'report.html')).href;
    await withPage(url, async (page, errors) => {
      expect(await page.title()).toBe('offline-app build report');
      const bars = await page.$$eval('#timeline .bar', (els) => els.map((el) => {
        const box = el.getBoundingClientRect();
        return { task: el.getAttribute('data-task')!, status: el.getAttribute('data-status')!, width: box.width, height: box.height, left: box.left };
      }));
      expect(bars.map((b) => b.task).sort()).toEqual(ran);
      // Laid out for real: every bar has an area, and the first task to start is leftmost.
      for (const b of bars) expect(b.width * b.height, b.task).toBeGreaterThan(0);
      const render = bars.find((b) => b.task.startsWith('render:'));
      const lastTest = bars.find((b) => b.task === 'test:offline-app/bookworm/runtime/py3.11/amd64')!;
      expect(lastTest.left).toBeGreaterThan((render ?? bars[0]!).left);
      const table = await page.$$eval('#tasks tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-status')));
      expect(table).toHaveLength(rows.length);
      expect(await page.$eval('#summary', (el) => el.textContent)).toMatch(/wall time \d+\.\ds on \d+ workers?/);
      expect(await page.$$eval('#critical-path li', (lis) => lis.length)).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    });
  }, 300_000);

  describe('what shipped and what broke', () => {
    const ns = `report-tags-${Date.now().toString(36)}`;
    afterAll(() => removeLocalImages(ns));
    // One platform, one Python: every image gets its manifest, so the run publishes tags.
    const spec = e2eSpec(e, ns, 'offline');
    writeFileSync(spec.manifest, readFileSync(spec.manifest, 'utf8').replace('python: ["3.11", "3.9"]', 'python: ["3.11"]').replace('architectures: [amd64, arm64v8]\n    releases', 'architectures: [amd64]\n    releases'));
    const pkg = join(spec.generated, 'offline-app');
    const url = pathToFileURL(join(pkg, '.manager', 'report.html')).href;
    const shots = tempDir('manager-report-shots-');
    const repo = `${e.registry}/${ns}/offline-app`;
    const base = [`${repo}:base-python3.11-bookworm`];
    const runtime = [`${repo}:0.0.2-python3.11-bookworm-runtime`];
    const build = (...extra: string[]) => cli(['build', spec.manifest, '--releases', 'base,runtime', '--output', spec.generated, '--json', ...extra], { env: creds });
    const digests = async (refs: string[]) => {
      const client = registryClient();
      try {
        return Object.fromEntries(await Promise.all(refs.map(async (ref) => [ref, (await client.head(parseImageRef(ref)))?.digest] as const)));
      } finally {
        await client.close();
      }
    };
    let published: Record<string, string | undefined> = {};

    it('a passing run: every tag published, with the digest the registry now has, on a time axis; screenshot', async () => {
      const r = build();
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const rows = taskRows(r.stdout, r.stderr);
      const manifests = rows.filter((x) => x.kind === 'manifest');
      expect(manifests.map((x) => x.status)).toEqual(['ran', 'ran']);
      published = await digests([...base, ...runtime]);
      await withPage(url, async (page, errors) => {
        const d = await readDom(page);
        expect(d.outcomeClass).toBe('ok');
        expect(d.outcome).toEqual({ published: 2, failed: 0, skipped: rows.filter((x) => x.status === 'skipped').length, done: rows.filter((x) => x.status === 'built' || x.status === 'ran').length - 2 });
        expect(await page.$eval('#outcome h2', (h) => h.textContent)).toBe('Outcome: 2 images published');
        expect(d.failures).toEqual([]);
        expect(d.tags.map((t) => [t.registry, t.ref, t.state, t.digest])).toEqual([...base, ...runtime].sort().map((ref) => ['local', ref, 'published', published[ref]]));
        for (const ref of [...base, ...runtime]) expect(published[ref]).toMatch(/^sha256:[0-9a-f]{64}$/);
        checkAxis(d);
        checkBars(d);
        expect(d.bars.map((b) => b.task).sort()).toEqual(rows.filter((x) => x.status === 'built' || x.status === 'ran').map((x) => x.id).sort());
        expect(d.tasks).toHaveLength(rows.length);
        await screenshot(page, join(shots, 'passing.png'));
        expect(errors).toEqual([]);
      });
    }, 300_000);

    it('a failing run: the failure first, with its cause and its log a link away; tags it did not move say so; the failed bar whole; screenshot', async () => {
      appendFileSync(join(spec.dir, 'templates', 'debian', 'runtime.Dockerfile.eta'), 'RUN sleep 2 && echo "broken on purpose" && exit 3\n');
      const r = build('--keep-going');
      expect(r.code).toBe(1);
      const rows = taskRows(r.stdout, r.stderr);
      const failed = rows.find((x) => x.status === 'failed')!;
      expect(failed.id).toBe('build:offline-app/bookworm/runtime/py3.11/amd64');
      const count = (s: TaskRow['status']) => rows.filter((x) => x.status === s).length;
      expect(count('blocked')).toBe(2);

      const check = async (at: string) => withPage(at, async (page, errors) => {
        const d = await readDom(page);
        expect(d.outcomeClass).toBe('bad');
        expect(d.outcome).toEqual({ published: 0, failed: 1, skipped: count('skipped'), done: count('built') + count('ran'), blocked: 2 });
        expect(await page.$eval('#outcome h2', (h) => h.textContent)).toBe('Outcome: 1 task failed');
        // Above the fold: the outcome and the failure are the first thing on the page.
        expect(d.outcomeTop).toBeLessThan(200);
        expect(d.failures).toHaveLength(1);
        const f = d.failures[0]!;
        expect(f.task).toBe(failed.id);
        expect(f.top).toBeLessThan(900);
        expect(f.text).toContain(`exited 1: ${failed.cause}`);
        expect(failed.cause).toMatch(/exit code: 3/);
        // The link is relative: it resolves beside this copy of the page, to this copy's log.
        expect(f.href).toMatch(/^\.\.\/\.logs\/[^/]+\.log$/);
        const log = fileURLToPath(new URL(f.href!, at));
        expect(existsSync(log), log).toBe(true);
        expect(readFileSync(log, 'utf8')).toContain('broken on purpose');

        // Base did not change: its tag is unchanged, with the digest the registry has; runtime's merge was blocked, so no digest.
        const now = await digests([...base, ...runtime]);
        expect(now).toEqual(published);
        expect(d.tags.map((t) => [t.ref, t.state, t.digest])).toEqual([
          [runtime[0], 'not-published', null],
          [base[0], 'unchanged', published[base[0]!]],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
        const merge = rows.find((x) => x.id === 'manifest:offline-app/bookworm/runtime/py3.11')!;
        expect(merge).toMatchObject({ status: 'blocked', reason: expect.stringMatching(/^dependency /) });
        expect(d.tags.find((t) => t.ref === runtime[0])!.text).toBe(`${runtime[0]!.split(':').pop()}no digestnot published: blocked (${merge.reason})`);

        // The failed bar is drawn whole: as wide as its share of the run, ending inside the timeline.
        checkAxis(d);
        checkBars(d);
        const bar = d.bars.find((b) => b.task === failed.id)!;
        expect(bar.status).toBe('failed');
        expect(bar.width).toBeGreaterThan(0);
        expect(Math.abs(bar.durationMs - failed.durationMs)).toBeLessThan(1);
        expect(Math.abs(bar.width - (failed.durationMs / d.span) * d.inner.width)).toBeLessThan(1);
        expect(bar.durationMs).toBeGreaterThan(2000);
        expect(errors).toEqual([]);
        return page;
      });

      await withPage(url, async (page) => screenshot(page, join(shots, 'failing.png')));
      await check(url);
      // Copied elsewhere (an artifact, a served directory): the page and its links still work.
      const copy = join(tempDir('manager-report-copy-'), 'offline-app');
      cpSync(pkg, copy, { recursive: true });
      await check(pathToFileURL(join(copy, '.manager', 'report.html')).href);
    }, 300_000);
  });
});
