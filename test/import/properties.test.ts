/**
 * Properties of every importer and of the reader, over inputs fast-check damages: an import
 * either succeeds — and then the reader accepts every event it wrote — or refuses with an
 * InputError (exit 1 for a user); nothing else escapes. `npm run fuzz` runs the same idea over
 * the whole command line for as long as it is given.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../recorder/errors.js';
import { importFiles } from '../../recorder/import/index.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { pcapngFile } from '../helpers/capture-writer.js';
import { tcpConversation } from '../helpers/frames.js';
import { oracleDir, repoRoot, scratch } from '../helpers/paths.js';
import { writeFileSync } from 'node:fs';

const seeds: Record<string, Buffer> = {
  pcap: readFileSync(join(oracleDir, 'zeek/http-get.pcap')),
  pcapng: pcapngFile(
    [{ linkType: 1, name: 'eth0', tsresol: 9 }],
    tcpConversation('10.0.0.1', '10.0.0.2', 40000, 443, 300, 900).map((data, i) => ({ ns: 1_700_000_000_000_000_000n + BigInt(i) * 1000n, data, processIndex: 0 })),
    { littleEndian: true, processes: [{ pid: 4242, name: 'curl' }], drops: { interface: 0, count: 3n } },
  ),
  eslogger: readFileSync(join(repoRoot, 'test/data/eslogger-sample.jsonl')),
};

/** A damage: at a position (a fraction of the length), one of the ways inputs break. */
const damage = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  how: fc.constantFrom('flip', 'cut', 'zero32', 'max32', 'max64', 'repeat'),
  bit: fc.integer({ min: 0, max: 7 }),
});

function apply(input: Buffer, damages: { at: number; how: string; bit: number }[]): Buffer {
  let b = Buffer.from(input);
  for (const d of damages) {
    const at = Math.min(b.length - 1, Math.floor(d.at * b.length));
    if (at < 0) break;
    if (d.how === 'flip') b[at] ^= 1 << d.bit;
    else if (d.how === 'cut') b = b.subarray(0, at);
    else if (d.how === 'zero32' && at + 4 <= b.length) b.writeUInt32LE(0, at);
    else if (d.how === 'max32' && at + 4 <= b.length) b.writeUInt32LE(0xffffffff, at);
    else if (d.how === 'max64' && at + 8 <= b.length) b.writeBigUInt64LE(0xffffffffffffffffn, at);
    else if (d.how === 'repeat') b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + 64), b.subarray(at)]);
  }
  return b;
}

describe.each(Object.keys(seeds))('the %s importer', (kind) => {
  it('imports a damaged input into a session the reader accepts whole, or refuses it with an InputError', () => {
    const dir = scratch();
    fc.assert(
      fc.property(fc.array(damage, { minLength: 1, maxLength: 4 }), (damages) => {
        const input = join(dir, `input.${kind}`);
        const session = join(dir, 'out.npsession');
        writeFileSync(input, apply(seeds[kind], damages));
        rmSync(session, { force: true });
        try {
          importFiles([input], session);
        } catch (err) {
          if (err instanceof InputError) return;
          throw err;
        }
        const reader = SessionReader.open(session);
        for (const _ of reader.events());
        expect(reader.report.problems).toEqual([]);
        expect(reader.report.badEvents).toBe(0);
      }),
      { numRuns: 150, seed: 20261127 },
    );
  });
});
