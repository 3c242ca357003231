/**
 * Per-packet process metadata in the dialects captures carry it in, each read back as the flow's
 * attribution: Apple PKTAP headers (in encapsulation.test.ts), the pcapng epb_processid_threadid
 * option, ptcpdump's packet comments; the first packet's process wins a shared flow; and values a
 * capture may hold past a column's range (a 32-bit snap length, a drop count of 2^64 - 1).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query } from '../../analyzer/db/database.js';
import { importFiles } from '../../recorder/import/index.js';
import { inspect } from '../../recorder/inspect.js';
import { pcapFile, pcapngFile, type CapturePacket } from '../helpers/capture-writer.js';
import { TCP, tcpConversation, tcpFrame } from '../helpers/frames.js';
import { repoRoot, scratch } from '../helpers/paths.js';

const start = 1_714_557_600_000_000_000n;
const conversation = (sport: number) => tcpConversation('192.168.1.20', '93.184.216.34', sport, 443, 100, 200);

async function flowsOf(capture: Buffer, name = 'capture.pcapng'): Promise<Record<string, unknown>[]> {
  const dir = scratch();
  writeFileSync(join(dir, name), capture);
  const session = join(dir, 'session.npsession');
  importFiles([join(dir, name)], session);
  const { db } = await analyze([session], { db: null });
  try {
    return await query(db, `SELECT f.orig_p, f.process_key, f.attribution_method, p.pid, p.path, p.argv, p.ppid
                            FROM flow_details f LEFT JOIN processes p USING (session_id, process_key) ORDER BY f.orig_p`);
  } finally {
    db.close();
  }
}

describe('per-packet process metadata', () => {
  it('reads Apple PKTAP headers: the process, else the effective process (a daemon sending for an app)', async () => {
    const pktap = (pid: number, comm: string, epid: number, ecomm: string) => {
      const h = Buffer.alloc(156);
      h.writeUInt32LE(156, 0);
      h.writeUInt32LE(1, 4);
      h.writeUInt32LE(1, 8); // Ethernet follows
      h.writeInt32LE(pid, 52);
      h.write(comm, 56);
      h.writeInt32LE(epid, 84);
      h.write(ecomm, 88);
      return h;
    };
    const packets = [
      ...conversation(50110).map((data, i) => ({ ns: start + BigInt(i) * 1000n, data: Buffer.concat([pktap(4242, 'curl', 0, ''), data]) })),
      ...conversation(50111).map((data, i) => ({ ns: start + 10_000n + BigInt(i) * 1000n, data: Buffer.concat([pktap(0, '', 501, 'Safari'), data]) })),
    ];
    const flows = await flowsOf(pcapFile(packets, { littleEndian: true, nanos: true, linkType: 149 }), 'pktap.pcap');
    expect(flows.map((f) => [f.orig_p, f.process_key, f.attribution_method, f.pid, f.path])).toEqual([
      [50110, '4242~curl', 'packet-metadata', 4242, 'curl'],
      [50111, '501~Safari', 'packet-metadata', 501, 'Safari'],
    ]);
  });

  it('reads the pcapng epb_processid_threadid option', async () => {
    const packets: CapturePacket[] = conversation(50100).map((data, i) => ({ ns: start + BigInt(i) * 1000n, data, pidTid: [4242, 4243] }));
    const flows = await flowsOf(pcapngFile([{ linkType: 1, name: 'eth0' }], packets, { littleEndian: false }));
    expect(flows).toEqual([{ orig_p: 50100, process_key: '4242~', attribution_method: 'packet-metadata', pid: 4242, path: null, argv: null, ppid: null }]);
  });

  it('reads Wireshark\'s custom process information blocks, telling two processes of one pid apart by start time', async () => {
    const first = conversation(50105).map((data, i) => ({ ns: start + 1000n + BigInt(i) * 1000n, data, pidTid: [500, 1] as [number, number] }));
    const second = conversation(50106).map((data, i) => ({ ns: start + 1_000_000n + BigInt(i) * 1000n, data, pidTid: [500, 1] as [number, number] }));
    const flows = await flowsOf(
      pcapngFile([{ linkType: 1, name: 'eth0' }], [...first, ...second], {
        littleEndian: false,
        wiresharkProcesses: [
          { pid: 500, name: 'curl', path: '/usr/bin/curl', cmdline: ['curl', 'https://example.com/'], ppid: 1, startNs: start },
          { pid: 500, name: 'wget', path: '/usr/bin/wget', startNs: start + 500_000n },
        ],
      }),
    );
    expect(flows).toEqual([
      { orig_p: 50105, process_key: `500~curl@${start}`, attribution_method: 'packet-metadata', pid: 500, path: '/usr/bin/curl', argv: ['curl', 'https://example.com/'], ppid: 1 },
      { orig_p: 50106, process_key: `500~wget@${start + 500_000n}`, attribution_method: 'packet-metadata', pid: 500, path: '/usr/bin/wget', argv: null, ppid: null },
    ]);
  });

  it('reads ptcpdump\'s PID/Cmd/Args/ParentPID packet comments', async () => {
    const comments = ['PID: 777\nCmd: /usr/bin/curl\nArgs: curl -s https://example.com', 'ParentPID: 700\nParentCmd: /bin/bash\nParentArgs: bash'];
    const packets: CapturePacket[] = conversation(50101).map((data, i) => ({ ns: start + BigInt(i) * 1000n, data, comments }));
    const flows = await flowsOf(pcapngFile([{ linkType: 1, name: 'eth0' }], packets, { littleEndian: true }));
    expect(flows).toEqual([
      { orig_p: 50101, process_key: '777~curl', attribution_method: 'packet-metadata', pid: 777, path: '/usr/bin/curl', argv: ['curl', '-s', 'https://example.com'], ppid: 700 },
    ]);
  });

  it('gives a flow whose packets several processes sent to the process of its first packet', async () => {
    // pid 2 sends the SYN; pid 1 (say, a process the socket was handed to) sends everything after.
    const packets: CapturePacket[] = conversation(50102).map((data, i) => ({ ns: start + BigInt(i) * 1000n, data, processIndex: i === 0 ? 1 : 0 }));
    const flows = await flowsOf(pcapngFile([{ linkType: 1, name: 'eth0' }], packets, { littleEndian: true, processes: [{ pid: 1, name: 'zz-later' }, { pid: 2, name: 'aa-first' }] }));
    expect(flows.map((f) => f.process_key)).toEqual(['2~aa-first']);
    const reversed = conversation(50103).map((data, i) => ({ ns: start + BigInt(i) * 1000n, data, processIndex: i === 0 ? 0 : 1 }));
    const again = await flowsOf(pcapngFile([{ linkType: 1, name: 'eth0' }], reversed, { littleEndian: true, processes: [{ pid: 1, name: 'zz-first' }, { pid: 2, name: 'aa-later' }] }));
    expect(again.map((f) => f.process_key)).toEqual(['1~zz-first']);
  });

  it('calls processes first seen in an eslogger capture\'s first message seen, not a snapshot', async () => {
    const dir = scratch();
    const session = join(dir, 'es.npsession');
    importFiles([join(repoRoot, 'test/data/eslogger-sample.jsonl')], session);
    const { db } = await analyze([session], { db: null });
    try {
      const origins = await query(db, 'SELECT DISTINCT origin FROM processes ORDER BY origin');
      expect(origins.map((r) => r.origin)).not.toContain('snapshot');
      expect(origins.map((r) => r.origin)).toContain('seen');
    } finally {
      db.close();
    }
  });
});

describe('values past a column\'s range', () => {
  it('analyses a pcap whose header snap length is 2^32 - 1 and a packet 3 GB long on the wire', async () => {
    const capture = pcapFile([{ ns: start, data: tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, seq: 0, ack: 0, flags: TCP.SYN }), origLen: 3_000_000_000 }], {
      littleEndian: true, nanos: false, linkType: 1,
    });
    capture.writeUInt32LE(0xffffffff, 16);
    const dir = scratch();
    writeFileSync(join(dir, 'big.pcap'), capture);
    const session = join(dir, 'big.npsession');
    importFiles([join(dir, 'big.pcap')], session);
    const { db } = await analyze([session], { db: null });
    try {
      expect(await query(db, 'SELECT snap_len FROM interfaces')).toEqual([{ snap_len: 4294967295 }]);
      expect(await query(db, 'SELECT orig_len FROM packets')).toEqual([{ orig_len: 3000000000 }]);
    } finally {
      db.close();
    }
  });

  it('keeps a pcapng drop count of 2^64 - 1 as a loss the reader accepts, saying what it claimed', () => {
    const dir = scratch();
    const packets = conversation(50104).map((data, i) => ({ ns: start + BigInt(i) * 1000n, data }));
    writeFileSync(join(dir, 'drops.pcapng'), pcapngFile([{ linkType: 1, name: 'eth0' }], packets, { littleEndian: true, drops: { interface: 0, count: 2n ** 64n - 1n } }));
    const session = join(dir, 'drops.npsession');
    importFiles([join(dir, 'drops.pcapng')], session);
    const report = inspect(session, false);
    expect(report.chunks.bad).toBe(0);
    expect(report.badEvents).toBe(0);
    expect(report.losses).toEqual([{ source: 'capture:eth0', count: Number.MAX_SAFE_INTEGER, reason: 'dropped by the interface during capture (pcapng interface statistics, which claim 18446744073709551615)' }]);
    expect(readFileSync(session).length).toBeGreaterThan(0);
  });
});
