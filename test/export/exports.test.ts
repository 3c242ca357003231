import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query, type Database } from '../../analyzer/db/database.js';
import { EXPORTED, exportParquet } from '../../analyzer/export/parquet.js';
import { exportOcsf } from '../../analyzer/export/ocsf.js';
import { exportPcapng } from '../../analyzer/export/pcapng.js';
import { exportZeek } from '../../analyzer/export/zeek-logs.js';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';
import { tsharkFields } from '../helpers/tshark.js';
import { writeTrafficPcap } from '../bench/traffic.js';

const fixtures = ['macos-curl', 'ftp-ipv4'].map((f) => join(repoRoot, 'fixtures', `${f}.npsession`));
let db: Database;

beforeAll(async () => {
  ({ db } = await analyze(fixtures, { db: null }));
});
afterAll(() => db?.close());

describe('exports', () => {
  it('writes every table as hive-partitioned Parquet that reads back with the same row counts', async () => {
    const dir = join(scratch(), 'lake');
    const counts = await exportParquet(db, dir);
    expect(counts.socket_events).toBe(0); // an empty table writes no files: there is no partition to put rows in
    for (const table of Object.keys(EXPORTED).filter((t) => counts[t] > 0)) {
      const [{ n }] = await query(db, `SELECT count(*) AS n FROM read_parquet($1, hive_partitioning = true)`, [`${dir}/${table}/**/*.parquet`]);
      expect(n, table).toBe(counts[table]);
    }
    const partitions = await query(db, `SELECT host, day::VARCHAR AS day, count(*) AS flows FROM read_parquet($1, hive_partitioning = true) GROUP BY ALL ORDER BY host`, [`${dir}/flows/**/*.parquet`]);
    expect(partitions).toEqual([
      { host: 'mac-mini.local', day: '2024-05-01', flows: 3 },
      { host: 'zeek-trace', day: '2012-02-21', flows: 5 },
    ]);
    expect(statSync(join(dir, 'flows')).mode & 0o777).toBe(0o700);
  });

  it('writes conn.log and dns.log that match the flows, with community_id', async () => {
    const dir = join(scratch(), 'zeek');
    expect(await exportZeek(db, dir)).toEqual({ conn: 8, dns: 1 });
    const conn = readFileSync(join(dir, 'conn.log'), 'utf8').split('\n');
    expect(conn.find((l) => l.startsWith('#fields'))).toContain('\tcommunity_id');
    expect(conn.filter((l) => l && !l.startsWith('#'))).toHaveLength(8);
    const dns = readFileSync(join(dir, 'dns.log'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(dns[0].split('\t').slice(9)).toEqual(['example.com', 'A', 'NOERROR', '93.184.216.34', '300.000000']);
  });

  it('writes one process\'s packets as pcapng that tshark reads, each naming the process', async () => {
    const out = join(scratch(), 'curl.pcapng');
    const written = await exportPcapng(db, out, { process: '4242.20' });
    const frames = tsharkFields(out, ['frame.comment', 'ip.dst', 'tcp.dstport', 'frame.time_epoch']);
    expect(frames).toHaveLength(written);
    expect(written).toBe(8);
    expect(new Set(frames.map((f) => f[0]))).toEqual(new Set(['process 4242 /usr/bin/curl (4242.20)']));
    expect(frames[0].slice(1, 3)).toEqual(['93.184.216.34', '443']);
    expect(frames[0][3]).toBe('1714557602.500000000');
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('names each packet\'s process three ways and the DNS answers once, and imports back to the same attribution', async () => {
    const dir = scratch();
    const out = join(dir, 'curl.pcapng');
    await exportPcapng(db, out, { process: '4242.20' });
    // Blocks and EPB options, read here byte by byte (tshark 4.0 shows neither option).
    const file = readFileSync(out);
    const blocks: { type: number; body: Buffer }[] = [];
    for (let at = 0; at < file.length; at += file.readUInt32LE(at + 4)) blocks.push({ type: file.readUInt32LE(at), body: file.subarray(at + 8, at + file.readUInt32LE(at + 4) - 4) });
    const apple = blocks.filter((b) => b.type === 0x80000001);
    expect(apple.map((b) => b.body.readUInt32LE(0))).toEqual([4242]);
    const epbOptions = blocks.filter((b) => b.type === 6).map((b) => {
      const options = new Map<number, Buffer>();
      for (let at = 20 + ((b.body.readUInt32LE(12) + 3) & ~3); at + 4 <= b.body.length && b.body.readUInt16LE(at) !== 0; ) {
        const length = b.body.readUInt16LE(at + 2);
        options.set(b.body.readUInt16LE(at), b.body.subarray(at + 4, at + 4 + length));
        at += 4 + ((length + 3) & ~3);
      }
      return options;
    });
    expect(epbOptions).toHaveLength(8);
    for (const options of epbOptions) {
      expect(options.get(8)?.readUInt32LE(0)).toBe(4242); // epb_processid_threadid
      expect(options.get(0x8001)?.readUInt32LE(0)).toBe(0); // Apple's process block, by index
    }
    // The name-resolution block: Wireshark shows the answered name in place of the address.
    expect(blocks.filter((b) => b.type === 4)).toHaveLength(1);
    expect(tsharkFields(out, ['ip.dst_host'], ['-N', 'n'])[0]).toEqual(['example.com']);
    // Read back by netprov: the same process, from the packets alone.
    const imported = join(dir, 'curl.npsession');
    expect(netprov(['import', out, '-o', imported]).status).toBe(0);
    const flows = netprov(['flows', imported, '--format', 'json']).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(flows.map((f) => [f['id.resp_h'], f.pid, f.exe, f.attribution_method])).toEqual([['93.184.216.34', 4242, '/usr/bin/curl', 'packet-metadata']]);
  });

  it('writes OCSF 1.3 Network Activity events with every attribute the schema requires, and the process chain', async () => {
    const analysed = await analyze([join(repoRoot, 'fixtures/linux-curl.npsession'), fixtures[0]], { db: null });
    const dir = join(scratch(), 'ocsf');
    try {
      expect(await exportOcsf(analysed.db, dir)).toBe(5);
    } finally {
      analysed.db.close();
    }
    const events = readFileSync(join(dir, 'network_activity.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // OCSF 1.3's requirements, class 4001 and the objects used (base event, classification and
    // occurrence traits, metadata, product, network_connection_info, file): required must be there.
    const REQUIRED: Record<string, string[]> = {
      '': ['activity_id', 'category_uid', 'class_uid', 'metadata', 'severity_id', 'time', 'type_uid'],
      metadata: ['product', 'version'],
      'metadata.product': ['name', 'vendor_name'],
      connection_info: ['direction_id'],
      'actor.process.file': ['name', 'type_id'],
      'actor.process.parent_process.file': ['name', 'type_id'],
    };
    const at = (e: Record<string, unknown>, path: string) => (path ? path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], e) : e);
    for (const e of events) {
      for (const [object, fields] of Object.entries(REQUIRED)) {
        const o = at(e, object) as Record<string, unknown> | undefined;
        if (object && o === undefined && !['metadata', 'connection_info'].includes(object)) continue; // optional objects
        for (const field of fields) expect(o?.[field], `${object}.${field}`).toBeDefined();
      }
      expect(e).toMatchObject({ class_uid: 4001, category_uid: 4, type_uid: 4001 * 100 + e.activity_id });
      expect(e.src_endpoint ?? e.dst_endpoint).toBeDefined(); // the class's at_least_one constraint
      expect(e.connection_info.community_uid).toMatch(/^1:/);
    }
    const curl = events.find((e) => e.actor?.process?.name === 'curl' && e.dst_endpoint.port === 8080);
    expect(curl.actor.process).toMatchObject({ cmd_line: 'curl -s http://127.0.0.1:8080/', file: { path: '/usr/bin/curl', type_id: 1 } });
    expect(curl.actor.process.parent_process.file.path).toBe('/usr/bin/node'); // the recording script that ran it
    expect(curl.traffic).toMatchObject({ packets: curl.traffic.packets_out + curl.traffic.packets_in });
    const mac = events.find((e) => e.dst_endpoint.ip === '93.184.216.34');
    expect(mac).toMatchObject({ dst_endpoint: { hostname: 'example.com', port: 443 }, actor: { process: { pid: 4242 } } });
  });

  it('exports packets from a database made in another folder (sessions are remembered by absolute path)', () => {
    const dir = scratch();
    const dbFile = join(dir, 'case.duckdb');
    const made = spawnSync(process.execPath, [join(repoRoot, 'bin/netprov.js'), 'analyze', 'fixtures/macos-curl.npsession', '--db', dbFile], { cwd: repoRoot, encoding: 'utf8' });
    expect(made.status).toBe(0);
    const out = join(dir, 'curl.pcapng');
    const run = spawnSync(process.execPath, [join(repoRoot, 'bin/netprov.js'), 'export', '--db', dbFile, '--pcap', out, '--process', '4242.20'], { cwd: dir, encoding: 'utf8' });
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(tsharkFields(out, ['frame.comment'])).toHaveLength(8);
  });

  it("refuses packets from a capture that changed since its analysis, and keeps the session's id", () => {
    // 4,000 packets: ~3 MB, so that a packet in the middle is outside the first and last MB the
    // capture's session id is made from.
    const dir = scratch();
    const capture = join(dir, 'traffic.pcap');
    writeTrafficPcap(capture, { packets: 4000, concurrentFlows: 200 });
    const dbFile = join(dir, 'case.duckdb');
    expect(netprov(['analyze', capture, '--db', dbFile]).status).toBe(0);
    const middle = 2000;
    const flow = netprov(['sql', `SELECT flow_uid FROM packets WHERE packet_no = ${middle}`, '--db', dbFile, '-f', 'csv']).stdout.split('\n')[1];
    const exportFlow = (name: string) => netprov(['export', '--db', dbFile, '--pcap', join(dir, name), '--flow', flow]);
    expect(exportFlow('before.pcapng').status).toBe(0);

    // The middle packet's record: its microseconds one more, nothing else changed.
    const bytes = readFileSync(capture);
    let at = 24;
    for (let i = 0; i < middle; i++) at += 16 + bytes.readUInt32LE(at + 8);
    expect(at).toBeGreaterThan(1 << 20);
    expect(at).toBeLessThan(bytes.length - (1 << 20));
    bytes.writeUInt32LE(bytes.readUInt32LE(at + 4) + 1, at + 4);
    writeFileSync(capture, bytes);

    const run = exportFlow('after.pcapng');
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toBe(`netprov: ${capture}: packet ${middle} is not the one analysed (its time or length differs): it changed since it was analysed; analyse it again to export its packets\n`);
    expect(existsSync(join(dir, 'after.pcapng'))).toBe(false);
  });

  it('refuses an export with nothing to export, in one line', () => {
    const run = netprov(['export', fixtures[0]]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('netprov: export: name at least one of --parquet DIR, --zeek DIR, --ocsf DIR, --pcap FILE\n');
  });
});
