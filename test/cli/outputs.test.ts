/**
 * Evidence is never destroyed: an output that is one of the inputs (also through a hard link),
 * reached through a symbolic link, or already there without --force is refused with exit 1 and
 * one line; outputs appear whole or not at all, 0600; and SQL a user writes stays confined to
 * the analysis.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { netprov, type CliRun } from '../helpers/cli.js';
import { ethernet, largeGzipCapture, pcapFile, udpPacket } from '../helpers/capture-writer.js';
import { oracleDir, repoRoot, scratch } from '../helpers/paths.js';
import { newHeader } from '../../recorder/session/new-header.js';
import { FileSink } from '../../recorder/session/sink.js';
import { SessionWriter } from '../../recorder/session/writer.js';

const capture = join(oracleDir, 'zeek/http-get.pcap');
const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const mode = (path: string) => statSync(path).mode & 0o777;

/** Exit 1, one line on stderr matching `message`. */
function refused(run: CliRun, message: RegExp): void {
  expect(run.status, run.stderr).toBe(1);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(message);
}

let dir: string;
let session: string;

beforeAll(() => {
  dir = scratch();
  session = join(dir, 'case.npsession');
  expect(netprov(['import', capture, '-o', session]).status).toBe(0);
});

describe('outputs never destroy an input', () => {
  it('refuses to import a capture onto itself, and keeps every byte of it', () => {
    const copy = join(dir, 'self.pcap');
    writeFileSync(copy, readFileSync(capture));
    const before = digest(copy);
    refused(netprov(['import', copy, '-o', copy]), /self\.pcap: the output is one of the inputs/);
    refused(netprov(['import', copy, '-o', copy, '--force']), /the output is one of the inputs/);
    expect(digest(copy)).toBe(before);
  });

  it('refuses a report or analysis JSON written over the session, also through a hard link', () => {
    const before = digest(session);
    refused(netprov(['report', session, '-o', session, '--force']), /the output is one of the inputs/);
    refused(netprov(['analyze', session, '--json', session, '--force']), /the output is one of the inputs/);
    const hardLink = join(dir, 'alias.npsession');
    linkSync(session, hardLink);
    refused(netprov(['report', session, '-o', hardLink, '--force']), /alias\.npsession: the output is one of the inputs/);
    expect(digest(session)).toBe(before);
  });

  it('never writes through a symbolic link: the link\'s target keeps its bytes and its mode', () => {
    const target = join(dir, 'precious.txt');
    writeFileSync(target, 'do not touch', { mode: 0o644 });
    const link = join(dir, 'link.npsession');
    symlinkSync(target, link);
    refused(netprov(['import', capture, '-o', link, '--force']), /link\.npsession: the output is a symbolic link/);
    refused(netprov(['report', session, '-o', link, '--force']), /link\.npsession: the output is a symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('do not touch');
    expect(mode(target)).toBe(0o644);
  });

  it('replaces an existing file only with --force, and then whole and 0600', () => {
    const existing = join(dir, 'existing.json');
    writeFileSync(existing, 'unrelated', { mode: 0o644 });
    refused(netprov(['analyze', session, '--json', existing]), /existing\.json: the output already exists; give --force to replace it/);
    expect(readFileSync(existing, 'utf8')).toBe('unrelated');
    expect(netprov(['analyze', session, '--json', existing, '--force']).status).toBe(0);
    expect(JSON.parse(readFileSync(existing, 'utf8')).format).toBe('netprov-analysis');
    expect(mode(existing)).toBe(0o600);
  });

  it('leaves nothing behind when an import fails part-way, not even a temporary file', () => {
    // Events 872 years apart: no 64-bit clock holds both, so the import fails after it has started writing.
    const out = join(dir, 'failed');
    mkdirSync(out);
    const broken = join(out, 'broken.npsession');
    const eslog = join(out, 'es.json');
    const line = (time: string, seq: number) => JSON.stringify({ schema_version: 1, version: 8, time, event_type: 9, global_seq_num: seq, seq_num: seq,
      process: { audit_token: { pid: 1, pidversion: 1 }, ppid: 0, executable: { path: '/sbin/launchd' } }, event: { exec: { target: { audit_token: { pid: 2, pidversion: 2 }, ppid: 1, executable: { path: '/bin/sh' } }, args: ['sh'] } } });
    writeFileSync(eslog, `${line('1678-01-01T00:00:00.000000000Z', 1)}\n${line('2550-01-01T00:00:00.000000000Z', 2)}\n`);
    refused(netprov(['import', eslog, '-o', broken]), /more than 584 years from the session start/);
    expect(readdirSync(out)).toEqual(['es.json']);
  });
});

describe('analysis databases', () => {
  it('creates a --db 0600 with no log left beside it, adds to it, and refuses any other file', () => {
    const db = join(dir, 'case.duckdb');
    expect(netprov(['analyze', session, '--db', db]).status).toBe(0);
    expect(mode(db)).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.startsWith('case.duckdb') || f.includes('.netprov-'))).toEqual(['case.duckdb']);
    const other = join(dir, 'notes.txt');
    writeFileSync(other, 'my notes');
    refused(netprov(['analyze', session, '--db', other]), /notes\.txt: exists and is not a DuckDB database/);
    refused(netprov(['analyze', session, '--db', session]), /the output is one of the inputs/);
    expect(readFileSync(other, 'utf8')).toBe('my notes');
  });

  it('refuses a --db an earlier netprov made, whose tables lack columns, to read or to add to', async () => {
    const db = join(dir, 'old.duckdb');
    expect(netprov(['analyze', session, '--db', db]).status).toBe(0);
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(db);
    const connection = await instance.connect();
    await connection.run('DROP VIEW IF EXISTS flow_details; ALTER TABLE flows DROP COLUMN http_host');
    connection.closeSync();
    instance.closeSync();
    const message = /old\.duckdb: made by an earlier netprov \(its flows\.http_host column is missing\); analyse the sessions into a new --db/;
    refused(netprov(['flows', '--db', db]), message);
    refused(netprov(['analyze', session, '--db', db]), message);
  });

  it('refuses a new --db beside a write-ahead log a removed database left, which DuckDB would replay into it', () => {
    const db = join(dir, 'fresh.duckdb');
    writeFileSync(`${db}.wal`, 'left by another analysis');
    refused(netprov(['analyze', session, '--db', db]), /fresh\.duckdb\.wal: a write-ahead log without its database/);
    expect(existsSync(db)).toBe(false);
    expect(readFileSync(`${db}.wal`, 'utf8')).toBe('left by another analysis');
  });

  it('leaves an existing --db as it was when a load fails part-way, so that a retry is not refused', async () => {
    const db = join(dir, 'kept.duckdb');
    expect(netprov(['analyze', session, '--db', db]).status).toBe(0);
    // A session of three 1 MiB chunks, the first corrupt: the rest loads, then the corruption fails the command.
    const packets = Array.from({ length: 3000 }, (_, n) => ({ ns: 1_700_000_000_000_000_000n + BigInt(n) * 1000n, data: Buffer.concat([ethernet(udpPacket(n)), Buffer.alloc(1000, n)]) }));
    const pcap = join(dir, 'udp.pcap');
    writeFileSync(pcap, pcapFile(packets, { littleEndian: true, nanos: true, linkType: 1 }));
    const other = join(dir, 'other.npsession');
    const corrupt = join(dir, 'corrupt.npsession');
    expect(netprov(['import', join(oracleDir, 'zeek/dhcp.pcap'), '-o', other]).status).toBe(0);
    expect(netprov(['import', pcap, '-o', corrupt]).status).toBe(0);
    const bytes = readFileSync(corrupt);
    bytes[100_000] ^= 0xff;
    writeFileSync(corrupt, bytes);
    const rows = async () => {
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const instance = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
      const connection = await instance.connect();
      const counts: Record<string, unknown> = {};
      for (const table of ['sessions', 'flows', 'dns', 'attributions', 'interfaces', 'packet_rows']) {
        counts[table] = (await connection.runAndReadAll(`SELECT count(*)::INTEGER FROM ${table}`)).getRows()[0][0];
      }
      connection.closeSync();
      instance.closeSync();
      return counts;
    };
    const before = await rows();
    // The whole command fails: the session it loaded whole goes too.
    refused(netprov(['analyze', other, corrupt, '--db', db]), /corrupt\.npsession: corrupt at offset \d+ \(payload checksum mismatch\); rerun with --salvage/);
    expect(await rows()).toEqual(before);
    // A load that fails half-way, before its session's own row: a port no socket has, after 3,000 packets.
    const halfway = join(dir, 'halfway.npsession');
    const writer = new SessionWriter(new FileSink(halfway, halfway), newHeader({ startNs: 1_700_000_000_000_000_000n, sensor: { name: 'test', version: '0' } }));
    writer.append({ kind: 'interface', t: 0, id: 0, name: 'eth0', linkType: 1, snapLen: 65535 });
    packets.forEach(({ data }, i) => writer.append({ kind: 'packet', t: i * 1000, interfaceId: 0, direction: 0, origLen: data.length, data, processKey: null }));
    writer.append({ kind: 'flowOpen', t: 3_000_000, flowId: 'x', processKey: null, direction: 2, origin: 1, remoteHost: null, protocol: 6, localAddr: '10.0.0.1', localPort: 2 ** 40, remoteAddr: '10.0.0.2', remotePort: 80 });
    writer.close();
    refused(netprov(['analyze', halfway, '--db', db]), /halfway\.npsession: a session value does not fit socket_events\.local_port/);
    expect(await rows()).toEqual(before);
    // A new database that fails is not there at all.
    const fresh = join(dir, 'fresh-failed.duckdb');
    refused(netprov(['analyze', corrupt, '--db', fresh]), /corrupt at offset/);
    expect(readdirSync(dir).filter((f) => f.includes('fresh-failed'))).toEqual([]);
    const salvaged = netprov(['analyze', corrupt, '--db', db, '--salvage']);
    expect(salvaged.status, salvaged.stderr).toBe(0);
    const after = await rows();
    expect(after.sessions).toBe(2);
    expect(after.packet_rows as number).toBeGreaterThan((before.packet_rows as number) + 1000);
  });

  it('removes, with a warning, the rows a killed load left in a --db before adding to it', async () => {
    const db = join(dir, 'killed.duckdb');
    expect(netprov(['analyze', session, '--db', db]).status).toBe(0);
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const sql = async (text: string, access: 'READ_ONLY' | 'READ_WRITE' = 'READ_ONLY') => {
      const instance = await DuckDBInstance.create(db, { access_mode: access });
      const connection = await instance.connect();
      const rows = (await connection.runAndReadAll(text)).getRows();
      connection.closeSync();
      instance.closeSync();
      return rows;
    };
    const count = async () => (await sql('SELECT (SELECT count(*) FROM flows)::INTEGER, (SELECT count(*) FROM packet_rows)::INTEGER, (SELECT count(*) FROM sessions)::INTEGER'))[0];
    const before = await count();
    // What a load killed after its rows' INSERTs and before its session's own row leaves: rows of
    // a session the file does not hold (the sessions row is written last).
    await sql(`BEGIN;
      INSERT INTO flows (session_id, uid, flow_no, start_t) SELECT 'killed', 'C' || i, i, i FROM range(7) t(i);
      INSERT INTO packet_rows (session_no, packet_no, t) SELECT 99, i, i FROM range(5) t(i);
      COMMIT`, 'READ_WRITE');
    const run = netprov(['analyze', join(oracleDir, 'zeek/dhcp.pcap'), '--db', db]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/killed\.duckdb: removed 12 rows an interrupted load had left/);
    const after = await count();
    expect(after[2]).toBe((before[2] as number) + 1);
    expect(await sql("SELECT count(*)::INTEGER FROM flows WHERE session_id = 'killed'")).toEqual([[0]]);
    expect(await sql('SELECT count(*)::INTEGER FROM packet_rows WHERE session_no = 99')).toEqual([[0]]);
    // Nothing left to remove: no warning.
    expect(netprov(['analyze', join(oracleDir, 'zeek/ftp-ipv4.pcap'), '--db', db]).stderr).not.toMatch(/interrupted load/);
  });

  it('opens a --db read-only to read it, and never creates one that is not there', () => {
    const missing = join(dir, 'missing.duckdb');
    refused(netprov(['flows', '--db', missing]), /missing\.duckdb: not a DuckDB database/);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('an interrupted command', () => {
  /** A capture that takes seconds to analyse. */
  let slow: string;
  beforeAll(() => {
    slow = join(dir, 'slow.pcap.gz');
    writeFileSync(slow, largeGzipCapture());
  });

  /** Starts `args`, interrupts it with `signal` once its loading has made a folder in `tmp`; resolves with its exit. */
  function interrupt(args: string[], tmp: string, signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/netprov.js'), ...args], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      if (readdirSync(tmp).some((f) => f.startsWith('netprov-'))) {
        clearInterval(poll);
        setTimeout(() => child.kill(signal), 300);
      }
    }, 20);
    return new Promise((resolve) => child.on('exit', (code) => (clearInterval(poll), resolve({ code, stderr }))));
  }

  it.each([
    ['SIGINT', 130, 'in memory', false],
    ['SIGTERM', 143, 'into a new --db', true],
  ] as const)('on %s exits %i and leaves nothing behind (%s): no spill or packet files, no temporary database or its log', async (signal, code, _how, withDb) => {
    const tmp = join(dir, `tmp-${signal}`);
    const out = join(dir, `out-${signal}`);
    mkdirSync(tmp);
    mkdirSync(out);
    const run = await interrupt(['analyze', slow, ...(withDb ? ['--db', join(out, 'new.duckdb')] : [])], tmp, signal);
    expect(run.code, run.stderr).toBe(code);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(out), run.stderr).toEqual([]);
  }, 60_000);
});

describe('netprov sql is confined to the analysis', () => {
  let db: string;
  beforeAll(() => {
    db = join(dir, 'sql.duckdb');
    expect(netprov(['analyze', session, '--db', db]).status).toBe(0);
  });

  it.each([
    ['writes a file with COPY', `COPY flows TO '${'/tmp/netprov-leak.csv'}'`, /file system operations are disabled/],
    ['reads a file', "SELECT * FROM read_text('/etc/hostname')", /file system operations are disabled/],
    ['attaches a database', "ATTACH '/tmp/netprov-other.duckdb'", /file system operations are disabled/],
    ['installs an extension', 'INSTALL httpfs', /disabled/],
    ['changes the configuration back', 'SET enable_external_access = true', /configuration/],
  ])('refuses a statement that %s', (_what, statement, message) => {
    refused(netprov(['sql', statement, session]), message);
    expect(existsSync('/tmp/netprov-leak.csv')).toBe(false);
  });

  it('cannot change a --db unless --allow-writes', () => {
    refused(netprov(['sql', 'DROP TABLE flows', '--db', db]), /read-only/i);
    expect(netprov(['sql', 'SELECT count(*) AS n FROM flows', '--db', db, '-f', 'json']).stdout).toMatch(/"n":\s*1/);
    expect(netprov(['sql', 'CREATE TABLE notes AS SELECT 1 AS x', '--db', db, '--allow-writes']).status).toBe(0);
  });

  it('still writes its own Parquet output, and --allow-files lifts the confinement', () => {
    const out = join(dir, 'flows.parquet');
    expect(netprov(['sql', 'SELECT uid FROM flows', session, '-o', out]).status).toBe(0);
    expect(mode(out)).toBe(0o600);
    const csv = join(dir, 'allowed.csv');
    expect(netprov(['sql', `COPY (SELECT 1 AS x) TO '${csv}'`, session, '--allow-files']).status).toBe(0);
    expect(existsSync(csv)).toBe(true);
  });
});
