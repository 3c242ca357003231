/**
 * The HTML report in a real browser (Debian's Chromium, driven by playwright-core): it renders
 * offline with no console errors, opens on the processes that used the network (the rest folded
 * but searched), names each flow's service, name and attribution method, zooms the timeline to a
 * window, and searches.
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
});
