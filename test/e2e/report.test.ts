// The build report in a real headless browser (Debian's chromium through puppeteer-core): after a
// real build on the host engine, .manager/report.html renders, its timeline has one bar per task
// that ran, each where the run put it, and report.md carries the Gantt chart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { e2eEnv, e2eSpec, taskRows } from '../helpers/e2e.ts';

const e = e2eEnv();

describe('build report', () => {
  it('renders in chromium with one timeline bar per task that ran, and the failures and skips in its table', async () => {
    const spec = e2eSpec(e, `report-${Date.now().toString(36)}`, 'offline');
    const r = cli(['build', spec.manifest, '--releases', 'runtime', '--python-version', '3.11', '--platforms', 'linux/amd64', '--output', spec.generated, '--json'], { env: { E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password } });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const rows = taskRows(r.stdout, r.stderr);
    const ran = rows.filter((x) => x.status === 'built' || x.status === 'ran').map((x) => x.id).sort();
    expect(ran.length).toBeGreaterThanOrEqual(4);
    const dir = join(spec.generated, 'offline-app', '.manager');
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/```mermaid\ngantt\n[\s\S]*build offline-app\/bookworm\/runtime\/py3\.11\/amd64 :/);

    const browser = await puppeteer.launch({ executablePath: e.chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(String(err)));
      page.on('requestfailed', (req) => errors.push(`request ${req.url()}`));
      await page.goto(pathToFileURL(join(dir, 'report.html')).href, { waitUntil: 'load' });
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
    } finally {
      await browser.close();
    }
  }, 300_000);
});
