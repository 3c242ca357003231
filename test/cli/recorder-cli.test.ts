import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MEMORY_LIMITS_MIB } from '../../analyzer/db/database.js';
import { MAX_OPEN_CONNECTIONS } from '../../analyzer/flows/tracker.js';
import { FRAME_HEADER_SIZE, FILE_SIGNATURE } from '../../recorder/session/frame.js';
import { netprov } from '../helpers/cli.js';
import { oracleDir, scratch } from '../helpers/paths.js';

const httpGet = join(oracleDir, 'zeek/http-get.pcap');

describe('netprov import and inspect', () => {
  const dir = scratch();
  const session = join(dir, 'http.npsession');

  it('imports a capture into a 0600 session and inspects it as JSON', () => {
    const run = netprov(['import', httpGet, '-o', session, '--host', 'sensor-7']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(statSync(session).mode & 0o777).toBe(0o600);
    const inspected = netprov(['inspect', session, '--json']);
    expect(inspected.status).toBe(0);
    const json = JSON.parse(inspected.stdout);
    expect(json.counts).toEqual({ interface: 1, packet: 14 });
    expect(json.header.host).toBe('sensor-7');
    expect(json.header.start).toBe('2013-03-07T21:42:06.869344000Z');
    expect(json.complete).toBe(true);
    expect(json.chunks).toEqual({ good: 1, bad: 0 });
  });

  it('prints an aligned summary for people', () => {
    const run = netprov(['inspect', session]);
    expect(run.stdout).toMatch(/^kind\s+events$/m);
    expect(run.stdout).toMatch(/^packet\s+14$/m);
    expect(run.stdout).toMatch(/losses\s+none/);
  });

  it('exits 1 with one line naming the file for a file that is not a session', () => {
    const run = netprov(['inspect', httpGet]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`netprov: ${httpGet}: not a netprov session (no session signature at offset 0; it is a capture: netprov import makes a session of it, and analyze takes it as it is)\n`);
  });

  it('exits 1 with one line for a missing file and for a bad argument', () => {
    const missing = netprov(['inspect', join(dir, 'nope')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`netprov: ${join(dir, 'nope')}: cannot open (ENOENT)\n`);
    const bad = netprov(['import', httpGet]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/Missing required argument: output/);
  });

  it('reports corruption with its offset, and --salvage reads past it', () => {
    const bytes = readFileSync(session);
    const corrupt = Buffer.from(bytes);
    const chunkAt = FILE_SIGNATURE.length + FRAME_HEADER_SIZE + bytes.readUInt32LE(FILE_SIGNATURE.length + 12);
    corrupt[chunkAt + FRAME_HEADER_SIZE + 100] ^= 1;
    const path = join(dir, 'corrupt.npsession');
    writeFileSync(path, corrupt);
    const run = netprov(['inspect', path]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `netprov: ${path}: corrupt at offset ${chunkAt} (payload checksum mismatch); nothing after it was read (rerun with --salvage to skip to the next good chunk)\n`,
    );
    const salvaged = netprov(['inspect', path, '--salvage', '--json']);
    expect(JSON.parse(salvaged.stdout).chunks).toEqual({ good: 0, bad: 1 });
  });

  it('warns, but succeeds, on a session cut short', () => {
    const bytes = readFileSync(session);
    const path = join(dir, 'cut.npsession');
    writeFileSync(path, bytes.subarray(0, bytes.length - 20));
    const run = netprov(['inspect', path, '--json']);
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/ends inside the frame at offset \d+ \(recording cut short\)/);
    expect(JSON.parse(run.stdout).counts.packet).toBe(14);
  });

  it('has --help with an example for every command', () => {
    const commands = [...netprov(['--help']).stdout.matchAll(/^ {2}netprov (\w+)/gm)].map((m) => m[1]);
    expect(commands).toEqual(['import', 'replay', 'record', 'inspect', 'analyze', 'verify', 'flows', 'query', 'sql', 'report', 'export']);
    for (const command of commands) {
      const run = netprov([command, '--help']);
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/Examples:/);
    }
  });

  it("states analyze's memory bounds in its --help, as the code sets them", () => {
    const help = netprov(['analyze', '--help']).stdout.replace(/\s+/g, ' ');
    const mib = (n: number) => `${n.toLocaleString('en-US')} MiB`;
    expect(help).toContain(`${mib(MEMORY_LIMITS_MIB.inMemory.query)} in memory, ${mib(MEMORY_LIMITS_MIB.db.query)} with --db`);
    expect(help).toContain(`At most ${MAX_OPEN_CONNECTIONS.toLocaleString('en-US')} connections are tracked at once`);
    expect(help).toContain('NETPROV_MEMORY_MIB');
  });
});
