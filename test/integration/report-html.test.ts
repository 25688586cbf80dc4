import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReportData } from '../../local/report/report-data';
import { chartIds, renderReportHtml } from '../../local/report/report-html';
import { reportFixture } from '../support/report-fixture';

const run = promisify(execFile);

/** Headless Chromium (Debian's `chromium`; `.ci/run` installs it), or undefined where there is none. */
function findChromium(): string | undefined {
  for (const name of [process.env.CHROMIUM_BIN, 'chromium', 'chromium-browser', 'google-chrome'].filter(Boolean) as string[]) {
    try {
      return execFileSync('/bin/sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not on PATH: try the next one
    }
  }
  return undefined;
}

const chromium = findChromium();
if (!chromium) console.warn('report-html.test.ts: no chromium on PATH (apt-get install chromium; .ci/run does): the browser test is skipped');

describe.skipIf(!chromium)('report.html in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'report-html-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const flags = ['--headless=new', '--disable-gpu', '--no-sandbox', '--hide-scrollbars', '--virtual-time-budget=5000', '--window-size=1280,1800'];

  it('renders every chart, with data, without errors, offline and under 2 MB', async () => {
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReportHtml(buildReportData(reportFixture({ ok: false, hostileText: '</script><b id="injected">x</b>' }))));
    expect(statSync(file).size).toBeLessThan(2 * 1024 * 1024);

    const { stdout: dom, stderr } = await run(chromium as string, [...flags, '--enable-logging=stderr', '--v=0', '--dump-dom', `file://${file}`], {
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    // The verdict is at the top, as written.
    expect(dom).toMatch(/<div class="verdict fail" id="verdict">FAIL: fraud did not verify<\/div>/);
    // The page ran to its end with no error caught by window.onerror, and no uncaught error in the console.
    const body = dom.match(/<body([^>]*)>/)?.[1] ?? '';
    expect(body).toContain('data-errors="[]"');
    expect(body).toContain(`data-charts-rendered="${chartIds().length}"`);
    expect(stderr).not.toMatch(/Uncaught|CONSOLE.*Error/);
    // Every chart container holds a drawn canvas of non-zero size with data points in it.
    for (const id of chartIds()) {
      const tag = dom.match(new RegExp(`<div class="chart[^"]*" id="${id}"([^>]*)>`))?.[1];
      expect(tag, id).toBeDefined();
      const size = tag!.match(/data-canvas-size="(\d+)x(\d+)"/);
      expect(size, `${id} drew no canvas`).not.toBeNull();
      expect(Number(size![1]), id).toBeGreaterThan(0);
      expect(Number(size![2]), id).toBeGreaterThan(0);
      expect(Number(tag!.match(/data-points="(\d+)"/)?.[1] ?? 0), `${id} has no data`).toBeGreaterThan(0);
      const inner = dom.slice(dom.indexOf(`id="${id}"`), dom.indexOf(`id="${id}"`) + 4000);
      expect(inner, id).toMatch(/<canvas/);
    }
    // Hostile text from the run shows as text, it does not become markup.
    expect(dom).not.toContain('<b id="injected">');
    expect(dom).toContain('&lt;b id="injected"&gt;');
  });

  it('takes a screenshot that is not blank', async () => {
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReportHtml(buildReportData(reportFixture())));
    const png = join(dir, 'report.png');
    await run(chromium as string, [...flags, `--screenshot=${png}`, `file://${file}`], { timeout: 60_000 });
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    // A blank 1280×1800 page compresses to a few KB; drawn charts and text do not.
    expect(bytes.length).toBeGreaterThan(30_000);
  });
});
