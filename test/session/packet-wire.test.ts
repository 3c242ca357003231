import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toWire } from '../../recorder/session/codec.js';
import { packr } from '../../recorder/session/msgpack.js';
import type { SessionEvent } from '../../recorder/session/events.js';
import { PACKET_WIRE_OVERHEAD, writePacketWire } from '../../recorder/session/packet-wire.js';

/** Numbers at every boundary of msgpack's integer forms, and past 32 bits. */
const number = fc.oneof(
  fc.constantFrom(0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, -1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -(2 ** 31), -(2 ** 31) - 1),
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
  fc.maxSafeInteger(),
  fc.maxSafeInteger().map((n) => -n),
);
const packet = fc.record({
  t: number,
  interfaceId: number,
  direction: number,
  origLen: number,
  data: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(0, 255, 256, 65535, 65536, 70000).map((n) => new Uint8Array(n))),
});

describe('a packet written in place', () => {
  it('is the bytes msgpackr writes for the same event', () => {
    fc.assert(
      fc.property(packet, fc.boolean(), (fields, asBuffer) => {
        const data = asBuffer ? Buffer.from(fields.data) : fields.data;
        const event = { kind: 'packet', ...fields, data, processKey: null } as SessionEvent & { kind: 'packet' };
        const target = Buffer.alloc(PACKET_WIRE_OVERHEAD + data.length + 7);
        const end = writePacketWire(event, target, 7);
        const written = target.subarray(7, end);
        const msgpackr = packr.pack(toWire(event));
        if (!written.equals(msgpackr)) expect(written.toString('hex')).toBe(msgpackr.toString('hex'));
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves to msgpackr a packet with a process key or an exact time', () => {
    const base = { kind: 'packet', t: 1, interfaceId: 0, direction: 1, origLen: 4, data: new Uint8Array(4) } as const;
    const target = Buffer.alloc(64);
    expect(writePacketWire({ ...base, processKey: '12.1' }, target, 0)).toBe(-1);
    expect(writePacketWire({ ...base, processKey: null, tExact: 2n ** 60n }, target, 0)).toBe(-1);
  });
});
