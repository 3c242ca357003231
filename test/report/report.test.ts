/**
 * The HTML report in a real browser (Debian's Chromium, driven by playwright-core): it renders
 * offline with no console errors, opens on the processes that used the network (the rest folded
 * but searched), names each flow's service, name and attribution method, shows each process's
 * container, zooms the timeline to a window, and searches; its screenshot, decoded, shows the
 * colours the page drew.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';

const CHROMIUM = '/usr/bin/chromium';
let browser: Browser;
const dir = scratch();
const report = join(dir, 'report.html');

beforeAll(async () => {
  const run = netprov(['report', join(repoRoot, 'fixtures/macos-curl.npsession'), join(repoRoot, 'fixtures/ftp-ipv4.npsession'), '-o', report]);
  expect(run.status, run.stderr).toBe(0);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => browser?.close());

describe('netprov report', () => {
  it('is one private file that renders offline without console errors', async () => {
    expect(statSync(report).mode & 0o777).toBe(0o600);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(report).href);
    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);

    const tree = await page.locator('#tree').innerText();
    expect(tree).toContain('4242 /usr/bin/curl');
    expect(tree).toContain('4242 /opt/homebrew/bin/python3');
    expect(tree).toContain('900 /bin/zsh');
    expect(tree).toMatch(/93\.184\.216\.34:443 \(example\.com\) SF .* \[packet-metadata\]/);
    expect(tree).toMatch(/udp\/dns 192\.168\.1\.20:53001/);
    // Processes with no flow below them are folded into one closed entry, out of the way.
    expect(await page.locator('#tree details.quiet').count()).toBe(1);
    expect(await page.locator('#tree details.quiet[open]').count()).toBe(0);
    expect(tree).toContain('2 processes without network activity');
    expect(await page.locator('#timeline rect').count()).toBe(8);
    expect(await page.locator('#unattributed tr').count()).toBe(6); // header + the five FTP flows
    expect(await page.locator('#losses').innerText()).toContain('es-sequence');

    await page.fill('#search', 'python3');
    expect(await page.locator('#timeline rect:not(.hidden)').count()).toBe(1);
    expect(await page.locator('#tree details.proc:not(.hidden) > summary', { hasText: '/usr/bin/curl' }).count()).toBe(0);
    // python3 as Endpoint Security saw it, and as the capture's process block named it.
    expect(await page.locator('#tree details.proc:not(.hidden) > summary', { hasText: 'python3' }).count()).toBe(2);

    await page.fill('#search', '');
    // Zoomed to 0.4–0.6 s after each session's first flow: only the flows alive then remain.
    await page.fill('#zoom-from', '0.4');
    await page.fill('#zoom-to', '0.6');
    expect(await page.locator('#timeline rect').count()).toBe(2);
    expect(await page.locator('#timeline svg text').first().textContent()).toContain('(1 of 5 flows)');
    await page.fill('#zoom-from', '');
    await page.fill('#zoom-to', '');
    expect(await page.locator('#timeline rect').count()).toBe(8);
    const shot = join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot) && statSync(shot).size > 10_000).toBe(true);
  });

  it('shows each process\'s container and each translated flow\'s origin, and the screenshot shows what the page drew', async () => {
    const containerReport = join(dir, 'container.html');
    expect(netprov(['report', join(repoRoot, 'fixtures/linux-container.npsession'), '-o', containerReport]).status).toBe(0);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(pathToFileURL(containerReport).href);
    const curl = page.locator('#tree details.proc > summary', { hasText: '/usr/bin/curl' });
    expect(await curl.locator('.place').innerText()).toBe('docker c0ffee00c0ff');
    const tree = await page.locator('#tree').innerText();
    expect(tree).toMatch(/10\.20\.0\.1:\d+ → 10\.20\.0\.2:8080 .* \[nat of C\w+\]/);
    // Each bar's tooltip: the flow, its process, container and chain of ancestors.
    const title = await page.locator('#timeline rect title').first().textContent();
    expect(title).toMatch(/\/usr\/bin\/curl\ndocker c0ffee00c0ff\n< \d+ \/usr\/bin\/node/);
    await page.fill('#search', 'c0ffee00');
    expect(await page.locator('#tree details.proc:not(.hidden) > summary', { hasText: '/usr/bin/curl' }).count()).toBe(1);
    await page.fill('#search', '');

    // The screenshot, decoded by the browser itself: at the centre of curl's swatch and of its
    // flows' timeline bars are the colour the page gave them.
    const png = await page.screenshot({ fullPage: true });
    const points = await Promise.all(
      [curl.locator('.swatch'), page.locator('#timeline rect').first(), page.locator('#timeline rect').nth(1)].map(async (l) => {
        const box = (await l.boundingBox())!;
        const expected = await l.evaluate((e) => getComputedStyle(e).getPropertyValue(e instanceof SVGElement ? 'fill' : 'background-color'));
        return { x: Math.round(box.x + box.width / 2), y: Math.round(box.y + box.height / 2), expected };
      }),
    );
    const seen = await page.evaluate(async ({ base64, points }) => {
      // From bytes, not a fetch: the report's Content-Security-Policy allows no connection at all.
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const context = canvas.getContext('2d')!;
      context.drawImage(bitmap, 0, 0);
      return points.map(({ x, y }) => Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3)));
    }, { base64: png.toString('base64'), points });
    for (const [i, { expected }] of points.entries()) {
      const rgb = expected.match(/\d+/g)!.slice(0, 3).map(Number);
      seen[i].forEach((channel, c) => expect(Math.abs(channel - rgb[c]), `point ${i}: ${seen[i]} against ${expected}`).toBeLessThanOrEqual(3));
    }
    expect(new Set(points.map((p) => p.expected)).size).toBe(1); // one process, one colour
  });
});
