import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFiles } from '../../recorder/import/index.js';
import { netprov } from '../helpers/cli.js';
import { oracleDir, scratch } from '../helpers/paths.js';

describe('analyze --json', () => {
  const dir = scratch();
  const a = join(dir, 'a.npsession');
  const b = join(dir, 'b.npsession');
  importFiles([join(oracleDir, 'zeek/ftp-ipv4.pcap')], a);
  importFiles([join(oracleDir, 'zeek/dhcp.pcap')], b);

  it('writes the same bytes under different time zones and locales, and for either input order', () => {
    const run = (name: string, inputs: string[], env: NodeJS.ProcessEnv) => {
      const out = join(dir, name);
      const result = netprov(['analyze', ...inputs, '--json', out], env);
      expect(result.status, result.stderr).toBe(0);
      return readFileSync(out);
    };
    const first = run('1.json', [a, b], { TZ: 'UTC', LANG: 'C', LC_ALL: 'C' });
    const second = run('2.json', [a, b], { TZ: 'Pacific/Chatham', LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' });
    const swapped = run('3.json', [b, a], { TZ: 'America/St_Johns', LANG: 'tr_TR.UTF-8' });
    expect(second.equals(first)).toBe(true);
    expect(swapped.equals(first)).toBe(true);
    const doc = JSON.parse(first.toString('utf8'));
    expect(doc.flows).toHaveLength(9);
    expect(doc.sessions).toHaveLength(2);
  });
});
