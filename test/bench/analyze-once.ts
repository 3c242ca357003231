/**
 * One `analyze` in a fresh process, as a user runs it, for the benchmark: prints its result,
 * wall time and peak RSS as JSON. Usage: node analyze-once.js INPUT [DB_FILE]
 * (INPUT: a session or a capture).
 */
import { analyze } from '../../analyzer/analyze.js';

const [input, dbFile] = process.argv.slice(2);
const start = process.hrtime.bigint();
const { db, results } = await analyze([input], { db: dbFile ?? null });
db.close();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(JSON.stringify({ seconds, result: results[0], peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
