/**
 * Zeek's corpus: every baseline in test/oracle/zeek-corpus (92 of Zeek's own btests) analysed
 * as Zeek ran it, compared column by column with the conn.log Zeek wrote (test/helpers/zeek-corpus.ts).
 * Where netprov differs, the rows are listed with their reason in zeek-corpus.differences; the
 * test fails on any difference not listed and on any listed one that has gone, so the list can
 * only shrink. `NETPROV_CORPUS_REPORT=FILE` writes the differences found in the list's format.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baselines, compareBaseline, type Comparison } from '../helpers/zeek-corpus.js';

const listFile = join(import.meta.dirname, 'zeek-corpus.differences');

/** The committed list: per baseline, its reason and the rows missing (-) and extra (+). */
function knownDifferences(): Map<string, { reason: string; missing: string[]; extra: string[] }> {
  const known = new Map<string, { reason: string; missing: string[]; extra: string[] }>();
  let current: { reason: string; missing: string[]; extra: string[] } | null = null;
  for (const line of readFileSync(listFile, 'utf8').split('\n')) {
    const heading = /^## (\S+): (.+)$/.exec(line);
    if (heading) known.set(heading[1], (current = { reason: heading[2], missing: [], extra: [] }));
    else if (line.startsWith('- ')) current!.missing.push(line.slice(2));
    else if (line.startsWith('+ ')) current!.extra.push(line.slice(2));
  }
  return known;
}

const known = knownDifferences();
const found = new Map<string, Comparison>();
const all = baselines();

describe('Zeek corpus', () => {
  it.each(all.map((b) => [b.name, b] as const))('%s gives the conn.log Zeek wrote', async (_name, b) => {
    const c = await compareBaseline(b);
    found.set(b.name, c);
    const listed = known.get(b.name);
    expect({ missing: c.missing.sort(), extra: c.extra.sort() }).toEqual({ missing: [...(listed?.missing ?? [])].sort(), extra: [...(listed?.extra ?? [])].sort() });
  });

  it('lists no baseline that is not in the corpus, and no baseline without a difference', () => {
    for (const [name, entry] of known) {
      expect(all.map((b) => b.name), name).toContain(name);
      expect(entry.missing.length + entry.extra.length, name).toBeGreaterThan(0);
    }
  });

  it('reports its score', () => {
    const rows = [...found.values()].reduce((n, c) => n + c.expected, 0);
    const rowsRight = [...found.values()].reduce((n, c) => n + c.expected - c.missing.length, 0);
    const exact = [...found.values()].filter((c) => !c.missing.length && !c.extra.length).length;
    console.log(`Zeek corpus: ${exact} of ${found.size} traces exact, ${rowsRight} of ${rows} rows`);
    const report = process.env.NETPROV_CORPUS_REPORT;
    if (report) {
      const text = [...found]
        .filter(([, c]) => c.missing.length || c.extra.length)
        .map(([name, c]) => [`## ${name}: ${known.get(name)?.reason ?? 'REASON'}`, ...c.missing.map((l) => `- ${l}`), ...c.extra.map((l) => `+ ${l}`)].join('\n'))
        .join('\n\n');
      writeFileSync(report, `${text}\n`);
    }
  });
});
