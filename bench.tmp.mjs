const { analyze } = await import('./dist/analyzer/analyze.js');
import { rmSync } from 'node:fs';
const file = process.argv[2] === 'file';
for (const f of ['/tmp/big5.duckdb', '/tmp/big5.duckdb.wal']) rmSync(f, { force: true });
const t = performance.now();
const { db, results } = await analyze(['/tmp/big5.nps'], { db: file ? '/tmp/big5.duckdb' : null });
db.close();
console.log(file ? 'file' : 'memory', (performance.now() - t).toFixed(0), 'ms', JSON.stringify(results[0].seconds), 'rss', process.resourceUsage().maxRSS >> 10);
