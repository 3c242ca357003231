/**
 * One `analyze` in a fresh process, as a user runs it, for the benchmark: prints its result,
 * wall time and peak RSS as JSON. Usage: node analyze-once.js SESSION [DB_FILE]
 */
import { analyze } from '../../analyzer/analyze.js';

const [session, dbFile] = process.argv.slice(2);
const start = process.hrtime.bigint();
const { db, results } = await analyze([session], { db: dbFile ?? null });
db.close();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(JSON.stringify({ seconds, result: results[0], peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
