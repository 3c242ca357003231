import { DuckDBInstance } from '@duckdb/node-api';
import { rmSync, mkdirSync, readdirSync } from 'node:fs';
const k = Number(process.argv[2]);
rmSync('/tmp/b/fl.duckdb', { force: true }); rmSync('/tmp/b/fl.duckdb.wal', { force: true });
const inst = await DuckDBInstance.create('/tmp/b/fl.duckdb', { threads: '2', preserve_insertion_order: 'false' });
const c = await inst.connect();
if (!readdirSync('/tmp/b').includes('flparts')) {
  mkdirSync('/tmp/b/flparts');
  await c.run(`ATTACH '/tmp/b/s.duckdb' AS src (READ_ONLY)`);
  await c.run(`COPY (SELECT * FROM src.flows) TO '/tmp/b/flparts' (FORMAT parquet, PER_THREAD_OUTPUT false, FILE_SIZE_BYTES '1KB', ROW_GROUP_SIZE 65536)`);
  await c.run('DETACH src');
}
const parts = readdirSync('/tmp/b/flparts').map((f) => '/tmp/b/flparts/' + f).sort();
await c.run(`ATTACH '/tmp/b/s.duckdb' AS src (READ_ONLY)`);
await c.run(`CREATE TABLE flows AS FROM src.flows LIMIT 0`);
await c.run('DETACH src');
let t = performance.now();
for (let i = 0; i < parts.length; i += k) {
  await c.run(`INSERT INTO flows SELECT * FROM read_parquet(string_split($p, chr(10)))`, { p: parts.slice(i, i + k).join('\n') });
}
const ins = performance.now() - t; t = performance.now();
await c.run('CHECKPOINT');
console.log(`parts ${parts.length} k ${k} insert ${ins.toFixed(0)} checkpoint ${(performance.now() - t).toFixed(0)}`);
