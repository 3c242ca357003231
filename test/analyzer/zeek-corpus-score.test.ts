import { it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { baselines, compareBaseline } from '../helpers/zeek-corpus.js';
it('score', async () => {
let exact = 0, rows = 0, rowsOk = 0; const out: string[] = [];
for (const b of baselines()) {
  try {
    const c = await compareBaseline(b);
    rows += c.expected; rowsOk += c.expected - c.missing.length;
    if (!c.missing.length && !c.extra.length) exact++;
    else out.push(`## ${b.name} (${c.expected - c.missing.length}/${c.expected})\n` + c.missing.map(l => '- ' + l).join('\n') + '\n' + c.extra.map(l => '+ ' + l).join('\n'));
  } catch (e) { out.push(`## ${b.name} ERROR ${(e as Error).message.split('\n')[0]}`); }
}
out.push(`traces exact ${exact}/${baselines().length}, rows ${rowsOk}/${rows}`);
writeFileSync('/tmp/score.txt', out.join('\n') + '\n');
}, 600000);
