import { DuckDBInstance } from '@duckdb/node-api';
import { rmSync } from 'node:fs';
const cols = process.argv[2] ?? '*';
const res = [];
for (let r = 0; r < 5; r++) {
rmSync('/tmp/b/pk.duckdb', { force: true }); rmSync('/tmp/b/pk.duckdb.wal', { force: true });
const inst = await DuckDBInstance.create('/tmp/b/pk.duckdb', { threads: '2', preserve_insertion_order: 'false' });
const c = await inst.connect();
await c.run(`CREATE TABLE p AS SELECT ${cols} FROM read_parquet('/tmp/b/packets.parquet') LIMIT 0`);
const t = performance.now();
await c.run(`INSERT INTO p SELECT ${cols} FROM read_parquet('/tmp/b/packets.parquet')`);
await c.run('CHECKPOINT');
res.push(performance.now() - t);
c.closeSync(); inst.closeSync();
}
res.sort((a, b) => a - b);
console.log(cols.slice(0, 60), 'median', res[2].toFixed(0));
