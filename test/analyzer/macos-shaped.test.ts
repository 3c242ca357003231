/**
 * The macOS data path downstream of the sensor: an Endpoint Security log (eslogger JSON) and a
 * `tcpdump -k` capture whose packets name their process, merged into one session and analysed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query } from '../../analyzer/db/database.js';
import { importFiles } from '../../recorder/import/index.js';
import { pcapngFile, type CapturePacket } from '../helpers/capture-writer.js';
import { tcpConversation } from '../helpers/frames.js';
import { repoRoot, scratch } from '../helpers/paths.js';

// eslogger-sample.jsonl: curl (4242.21) runs 10:00:02..03; python3 (4242.31, same pid) 10:00:05..06.
const at = (second: number, ms: number) => BigInt(Date.UTC(2024, 4, 1, 10, 0, second)) * 1_000_000n + BigInt(ms) * 1_000_000n;

describe('a macOS-shaped session', () => {
  it('attributes each flow to the ES process behind the capture\'s process block, across pid reuse', async () => {
    const dir = scratch();
    const curlFlow = tcpConversation('192.168.1.20', '93.184.216.34', 50100, 443, 200, 3000);
    const pythonFlow = tcpConversation('192.168.1.20', '151.101.0.223', 50101, 443, 100, 800);
    const packets: CapturePacket[] = [
      ...curlFlow.map((data, i) => ({ ns: at(2, 500 + i), data, processIndex: 0 })),
      ...pythonFlow.map((data, i) => ({ ns: at(5, 500 + i), data, processIndex: 1 })),
    ];
    const capture = join(dir, 'pktap.pcapng');
    writeFileSync(capture, pcapngFile([{ linkType: 1, name: 'pktap,en0' }], packets, {
      littleEndian: true,
      processes: [{ pid: 4242, name: 'curl' }, { pid: 4242, name: 'python3' }],
    }));
    const session = join(dir, 'mac.npsession');
    importFiles([join(repoRoot, 'test/data/eslogger-sample.jsonl'), capture], session);

    const { db } = await analyze([session], { db: null });
    try {
      const flows = await query(db, 'SELECT resp_h, process_key, exe, argv, attribution_method, ancestry FROM flow_details ORDER BY start_t');
      expect(flows).toEqual([
        { resp_h: '93.184.216.34', process_key: '4242.20', exe: '/usr/bin/curl', argv: ['curl', '-s', 'https://example.com'], attribution_method: 'packet-metadata', ancestry: '900 /bin/zsh' },
        { resp_h: '151.101.0.223', process_key: '4242.30', exe: '/opt/homebrew/bin/python3', argv: ['python3', '-c', 'import urllib.request'], attribution_method: 'packet-metadata', ancestry: '900 /bin/zsh' },
      ]);
      const [loss] = await query(db, 'SELECT source, count FROM losses');
      expect(loss).toEqual({ source: 'es-sequence', count: 3 });
    } finally {
      db.close();
    }
  });
});
