/**
 * The native connection tracker (analyzer/native/src/np_track.c, driven by track-native.ts)
 * against the TypeScript tracker it speeds up (track.ts): the same flow rows, DNS rows and
 * packet columns (flow_no, from_first_sender), in the same order, on the benchmark workload, on
 * every trace of the oracle and on damaged copies of them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ParquetParts, type PlainColumn } from '../../analyzer/db/parquet-rows.js';
import { tableColumns } from '../../analyzer/db/table-columns.js';
import { decodeSession, type DecodeMessage } from '../../analyzer/load/decode.js';
import type { PacketBatch } from '../../analyzer/load/packet-batch.js';
import { PacketTracker, type BatchTracker } from '../../analyzer/load/track.js';
import { NativePacketTracker } from '../../analyzer/load/track-native.js';
import { nativeTracker } from '../../analyzer/native/conn-tracker.js';
import { writeTrafficPcap } from '../bench/traffic.js';
import { corpusTraces, oraclePcaps, repoRoot, scratch } from '../helpers/paths.js';

type Tracker = new (sessionId: string, stagingDir: string, onPart: (table: string, path: string) => void, maxOpen?: number) => BatchTracker;

/** Every row each tracker gives its Parquet parts, by table, and the columns it fills in each batch. */
async function track(file: string, Tracker: Tracker, verifyChecksums = false, maxOpen?: number): Promise<{ rows: Record<string, unknown[][]>; columns: number[][]; evicted: number }> {
  const messages: DecodeMessage[] = [];
  await decodeSession({ kind: 'captures', files: [file] }, { salvage: true, verifyChecksums }, () => undefined, (m) => messages.push(m));
  const header = messages.find((m) => m.type === 'header');
  if (header?.type !== 'header') throw new Error(`${file}: no session header`);
  const rows: Record<string, unknown[][]> = {};
  const { row: write, rowsFromColumns: writeColumns, plainRows: writePlain } = ParquetParts.prototype;
  // The rows as given, before Parquet: what a part holds is the parquet-rows tests' to check.
  ParquetParts.prototype.row = function (this: ParquetParts, values: readonly unknown[]) {
    (rows[(this as unknown as { table: string }).table] ??= []).push([...values]);
    write.call(this, values);
  };
  ParquetParts.prototype.rowsFromColumns = function (this: ParquetParts, columns: readonly ArrayLike<unknown>[], count: number) {
    for (let i = 0; i < count; i++) (rows[(this as unknown as { table: string }).table] ??= []).push(columns.map((column) => column[i]));
    writeColumns.call(this, columns, count);
  };
  ParquetParts.prototype.plainRows = function (this: ParquetParts, columns: readonly (PlainColumn | readonly unknown[])[], count: number) {
    const table = (this as unknown as { table: string }).table;
    const types = tableColumns(table).map((c) => c.type);
    const values = columns.map((column, c) => ('present' in column ? plainValues(column, types[c], count) : column));
    for (let i = 0; i < count; i++) (rows[table] ??= []).push(values.map((column) => column[i]));
    writePlain.call(this, columns, count);
  };
  try {
    const tracker = new Tracker(header.header.sessionId, scratch(), () => undefined, maxOpen);
    const columns: number[][] = [];
    for (const message of messages) {
      if (message.type !== 'batch') continue;
      const batch: PacketBatch = { ...message.batch, ...structuredClone({ rows: message.batch.rows, track: message.batch.track }) };
      tracker.batch(batch);
      columns.push(Array.from(batch.rows.flow_no.subarray(0, batch.count)), Array.from(batch.rows.from_first_sender.subarray(0, batch.count)));
    }
    tracker.finish();
    return { rows, columns, evicted: tracker.evicted };
  } finally {
    Object.assign(ParquetParts.prototype, { row: write, rowsFromColumns: writeColumns, plainRows: writePlain });
  }
}

/**
 * A column in PLAIN layout (parquet-rows.ts) back into values as `row` takes them: NULL where its
 * bit is 0, a BIGINT as a number where one holds it exactly.
 */
function plainValues({ values, present }: PlainColumn, type: string, count: number): unknown[] {
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  let at = 0;
  return Array.from({ length: count }, (_, i) => {
    if (!(present[i >> 3] & (1 << (i & 7)))) return null;
    switch (type) {
      case 'INTEGER':
        return (at += 4), bytes.readInt32LE(at - 4);
      case 'DOUBLE':
        return (at += 8), bytes.readDoubleLE(at - 8);
      case 'BIGINT': {
        const value = bytes.readBigInt64LE((at += 8) - 8);
        return value >= -(2n ** 53n) && value <= 2n ** 53n ? Number(value) : value;
      }
      case 'VARCHAR': {
        const length = bytes.readUInt32LE(at);
        return (at += 4 + length), bytes.toString('utf8', at - length, at);
      }
      default:
        throw new Error(`no PLAIN ${type} column is expected from the tracker`);
    }
  });
}

describe('the native connection tracker, in C', () => {
  it('reads and writes nothing outside its columns, and retires every connection once (AddressSanitizer, UBSan)', () => {
    const source = join(repoRoot, 'analyzer/native');
    const binary = join(scratch(), 'track_check');
    const build = spawnSync('gcc', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-g', '-O1', '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
      `-I${source}/src`, `${source}/src/np_track.c`, `${source}/test/track_check.c`, '-o', binary, '-lm'], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const run = spawnSync(binary, ['5000'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toBe('5000 batches tracked\n');
  }, 120_000);
});

describe.runIf(nativeTracker)('the native connection tracker', () => {
  let traffic: string;

  beforeAll(() => {
    traffic = join(scratch(), 'traffic.pcap');
    writeTrafficPcap(traffic, { packets: 60_000, concurrentFlows: 2_000 });
  });

  it('tracks the benchmark workload as the TypeScript tracker does', async () => {
    const natively = await track(traffic, NativePacketTracker);
    expect(natively.rows.flows.length).toBeGreaterThan(1_000);
    expect(natively.rows.dns.length).toBeGreaterThan(1_000);
    expect(natively).toEqual(await track(traffic, PacketTracker));
  });

  it('retires connections early at its cap of open ones, choosing as the TypeScript tracker does', async () => {
    // 2,000 flows open at once against a cap of 500: the clock hand retires expired ones, passes
    // over those with packets since its last lap, and evicts the rest.
    const natively = await track(traffic, NativePacketTracker, false, 500);
    expect(natively.evicted).toBeGreaterThan(1_000);
    const uncapped = await track(traffic, NativePacketTracker);
    expect(uncapped.evicted).toBe(0);
    expect(natively.rows.flows.length).toBeGreaterThan(uncapped.rows.flows.length);
    expect(natively).toEqual(await track(traffic, PacketTracker, false, 500));
  });

  it.each([...oraclePcaps(), ...corpusTraces()].map((f) => [f.split('/').at(-1)!, f]))('tracks %s as the TypeScript tracker does', async (_name, file) => {
    expect(await track(file, NativePacketTracker)).toEqual(await track(file, PacketTracker));
    // Bad transport checksums, where they are checked, stop a connection's analysis ('C' in its history).
    expect(await track(file, NativePacketTracker, true)).toEqual(await track(file, PacketTracker, true));
  });

  it('tracks damaged captures as the TypeScript tracker does: cut short, and with bytes changed', async () => {
    const whole = readFileSync(traffic).subarray(0, 600_000);
    const dir = scratch();
    let seed = 20261129;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let n = 0; n < 30; n++) {
      const bytes = Buffer.from(whole.subarray(0, 24 + Math.floor(random() * (whole.length - 24))));
      // Changed bytes anywhere past the file header: ports, flags, sequence numbers, lengths.
      for (let k = Math.floor(random() * 200); k > 0; k--) bytes[24 + Math.floor(random() * (bytes.length - 24))] = Math.floor(random() * 256);
      const file = join(dir, `damaged-${n}.pcap`);
      writeFileSync(file, bytes);
      expect(await track(file, NativePacketTracker), file).toEqual(await track(file, PacketTracker));
    }
  });
});
