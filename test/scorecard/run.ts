/**
 * `npm run scorecard` (root): how often attribution is right, on real kernel events. Each
 * scenario (scenarios.ts) runs in network namespaces of its own while the Linux sensor records
 * the namespace its flows are seen in; the session is analysed with the CLI, as a user would;
 * every flow is scored against the truth the actors printed (score.ts).
 *
 * Writes the table into the README between its markers, and prints as its last line
 *   scorecard: N scenarios, F flows, W wrong, U unattributed
 * Exits 1 on any wrong attribution, on a scenario that failed to run, or when a scenario has
 * fewer right than the README's committed table (a drop).
 *
 *   npm run scorecard [-- --only NAME] [--keep DIR]
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from '../helpers/netns.js';
import { scenarios, type Scenario } from './scenarios.js';
import { committedRights, score, table, TABLE_END, TABLE_START, type Row, type ScoredFlow } from './score.js';
import { build, World } from './world.js';

const repoRoot = resolve(import.meta.dirname, '../../..');
const readmePath = join(repoRoot, 'README.md');
const arg = (name: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
};

/** Each flow with what the scorer needs: the pid, start time and every image of the process it was attributed to. */
const FLOWS_SQL = `
SELECT f.uid, f.proto, f.orig_h, f.orig_p, f.resp_h, f.resp_p, f.pid, p.version, f.attribution_method AS method,
       f.unattributed_reason AS reason, f.container_id, f.dns_name,
       (SELECT list(regexp_extract(i.path, '[^/]*$') ORDER BY i.image_no) FROM process_images i
        WHERE i.session_id = f.session_id AND i.process_key = f.process_key) AS exes
FROM flow_details f
LEFT JOIN processes p ON p.session_id = f.session_id AND p.process_key = f.process_key
ORDER BY f.start_t, f.uid`;

async function runScenario(scenario: Scenario, dir: string, index: number): Promise<Row> {
  const world = new World(String(index));
  const session = join(dir, `${index}.npsession`);
  let sensorNs = '';
  let sensor: ChildProcess | undefined;
  try {
    sensorNs = await scenario.setup(world);
    // nsenter keeps the host's /sys (ip netns exec remounts it): the sensor finds the cgroup v2 tree there.
    const interfaces = (scenario.interfaces ?? []).flatMap((i) => ['--interface', i]);
    sensor = spawn('nsenter', [`--net=/run/netns/${sensorNs}`, join(build, 'netprov-sensor'), ...interfaces, '--output', session]);
    let sensorLog = '';
    sensor.stderr!.on('data', (d) => (sensorLog += d));
    await waitFor(sensor, 'recording');
    await scenario.act(world, sensorNs);
    await new Promise((done) => setTimeout(done, 300));
    const exited = new Promise((done) => sensor!.once('exit', done));
    sensor.kill('SIGINT');
    const code = await exited;
    sensor = undefined;
    if (code !== 0) throw new Error(`the sensor exited ${code}: ${sensorLog}`);
  } finally {
    sensor?.kill('SIGKILL');
    scenario.cleanup?.(world, sensorNs);
    world.close();
  }
  const out = spawnSync(process.execPath, [join(repoRoot, 'bin/netprov.js'), 'sql', '-f', 'json', FLOWS_SQL, session], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (out.status !== 0) throw new Error(`netprov sql exited ${out.status}: ${out.stderr}`);
  return score(scenario.name, JSON.parse(out.stdout) as ScoredFlow[], world.truths);
}

if (process.getuid?.() !== 0) {
  console.error('scorecard: needs root (network namespaces, the sensor, cgroups)');
  process.exit(1);
}
execFileSync('make', ['-s', '-C', join(repoRoot, 'sysex/linux')], { stdio: 'inherit' });
const keep = arg('keep');
const dir = keep ? (mkdirSync(keep, { recursive: true }), keep) : mkdtempSync(join(tmpdir(), 'netprov-scorecard-'));
if (keep) for (const f of readdirSync(keep)) if (f.endsWith('.npsession')) rmSync(join(keep, f));
const only = arg('only');
const chosen = scenarios.filter((s) => !only || s.name === only);
const rows: Row[] = [];
let failed = false;
for (const [i, scenario] of chosen.entries()) {
  try {
    const row = await runScenario(scenario, dir, i);
    rows.push(row);
    console.log(`${scenario.name}: ${row.flows} flows, ${row.right} right, ${row.wrong} wrong, ${row.unattributed} unattributed`);
    for (const problem of row.problems) console.log(`  ${problem}`);
  } catch (err) {
    failed = true;
    console.log(`${scenario.name}: did not run: ${(err as Error).message}`);
  }
}
if (!keep) rmSync(dir, { recursive: true, force: true });

const readme = readFileSync(readmePath, 'utf8');
const committed = committedRights(readme);
for (const row of rows) {
  const before = committed.get(row.scenario);
  if (before !== undefined && row.right < before) {
    failed = true;
    console.log(`${row.scenario}: ${row.right} right, below the committed ${before}`);
  }
  if (row.wrong > 0) failed = true;
}
if (!only && !failed) {
  const whats = new Map(scenarios.map((s) => [s.name, s.what]));
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start >= 0 && end > start) writeFileSync(readmePath, `${readme.slice(0, start + TABLE_START.length)}\n${table(rows, whats)}\n${readme.slice(end)}`);
}
const total = (key: 'flows' | 'wrong' | 'unattributed') => rows.reduce((n, r) => n + r[key], 0);
console.log(`scorecard: ${rows.length} scenarios, ${total('flows')} flows, ${total('wrong')} wrong, ${total('unattributed')} unattributed`);
process.exit(failed ? 1 : 0);
