/** Every entry of the Community ID specification's baselines, and the same IDs from its pcap. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { communityId } from '../../analyzer/flows/community-id.js';
import { oracleDir } from '../helpers/paths.js';

interface BaselineEntry {
  proto: number;
  saddr: string;
  daddr: string;
  sport?: number;
  dport?: number;
  communityid: string;
}

const baseline = (name: string): BaselineEntry[] =>
  JSON.parse(readFileSync(join(oracleDir, 'community-id/baseline', name), 'utf8'));

describe.each([
  ['baseline_deflt.json', {}],
  ['baseline_seed1.json', { seed: 1 }],
  ['baseline_nob64.json', { hex: true }],
])('Community ID %s', (file, options) => {
  const entries = baseline(file);
  it(`matches all ${entries.length} entries`, () => {
    expect(entries.length).toBeGreaterThan(20);
    const got = entries.map((e) => communityId(e.proto, e.saddr, e.daddr, e.sport ?? 0, e.dport ?? 0, options));
    expect(got).toEqual(entries.map((e) => e.communityid));
  });
});

describe('Community IDs of the flows netprov builds from the specification\'s pcap', () => {
  it('are each the baseline ID of that flow\'s packets', async () => {
    const { analyzeToRows } = await import('../helpers/analyze.js');
    const rows = await analyzeToRows(join(oracleDir, 'community-id/pcaps/combined.pcap.gz'));
    const expected = new Set(baseline('baseline_deflt.json').map((e) => e.communityid));
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) expect(expected, `${row['id.orig_h']}:${row['id.orig_p']} -> ${row['id.resp_h']}:${row['id.resp_p']} ${row.proto}`).toContain(row.community_id);
    // And every baseline ID belongs to some flow: nothing in the capture was missed.
    const got = new Set(rows.map((r) => r.community_id));
    for (const id of expected) expect(got).toContain(id);
  });
});
