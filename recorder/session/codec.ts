/**
 * Event <-> msgpack array. Each event is one msgpack array: [kind, t, ...fields in the order of
 * `layouts` below]. Arrays, not maps: msgpackr decodes arrays about five times faster than maps,
 * and the layout is fixed by the spec anyway. Trailing absent (null) fields are omitted so that a
 * packet without a process key costs nothing; a reader treats a missing trailing field as null,
 * and ignores extra trailing fields (added by a newer minor version).
 */
import { Kind, kindNameOf, type KindName, type SessionEvent } from './events.js';

/** Field types: `?` marks nullable. `int` is a safe integer (msgpack int, or float64 holding one); `i64` any 64-bit integer (bigint past 2^53). */
type FieldType = 'int' | 'int?' | 'i64' | 'str' | 'str?' | 'bool?' | 'bytes' | 'strs?';
type Layout = readonly (readonly [name: string, type: FieldType])[];

const image: Layout = [
  ['key', 'str'],
  ['pid', 'int'],
  ['version', 'int?'],
  ['ppid', 'int?'],
  ['parentKey', 'str?'],
  ['uid', 'int?'],
  ['path', 'str?'],
  ['argv', 'strs?'],
  ['signingId', 'str?'],
  ['teamId', 'str?'],
  ['cdhash', 'str?'],
  ['isPlatformBinary', 'bool?'],
];
/** 1.2: the cgroup v2 a process runs in (Linux), after each kind's 1.1 fields. */
const cgroup: Layout = [
  ['cgroupId', 'int?'],
  ['cgroupPath', 'str?'],
];
const tuple: Layout = [
  ['protocol', 'int'],
  ['localAddr', 'str'],
  ['localPort', 'int'],
  ['remoteAddr', 'str'],
  ['remotePort', 'int'],
];

/** The wire layout of every kind after [kind, t]. SPEC.md documents the same table. */
export const layouts: Record<KindName, Layout> = {
  interface: [
    ['id', 'int'],
    ['name', 'str'],
    ['linkType', 'int'],
    ['snapLen', 'int'],
    ['netns', 'int?'],
  ],
  process: [...image, ...cgroup],
  exec: [...image, ['formerKey', 'str?'], ...cgroup],
  fork: [
    ['childKey', 'str'],
    ['childPid', 'int'],
    ['childVersion', 'int?'],
    ['parentKey', 'str'],
    ['parentPid', 'int'],
    ...cgroup,
  ],
  exit: [
    ['key', 'str'],
    ['pid', 'int'],
    ['status', 'int?'],
  ],
  flowOpen: [
    ['flowId', 'str'],
    ['processKey', 'str?'],
    ...tuple,
    ['direction', 'int'],
    ['origin', 'int'],
    ['remoteHost', 'str?'],
    ['netns', 'int?'],
  ],
  flowClose: [
    ['flowId', 'str'],
    ['processKey', 'str?'],
    ...tuple,
    ['bytesIn', 'int?'],
    ['bytesOut', 'int?'],
  ],
  packet: [
    ['interfaceId', 'int'],
    ['direction', 'int'],
    ['origLen', 'int'],
    ['data', 'bytes'],
    ['processKey', 'str?'],
  ],
  loss: [
    ['source', 'str'],
    ['count', 'int'],
    ['reason', 'str'],
  ],
  clockSync: [
    ['clock', 'str'],
    ['value', 'i64'],
    ['note', 'str?'],
  ],
  mark: [['text', 'str']],
};

const layoutByCode: (Layout | undefined)[] = [];
for (const [name, layout] of Object.entries(layouts)) layoutByCode[Kind[name as KindName]] = layout;

export function toWire(event: SessionEvent): unknown[] {
  const fields = layouts[event.kind];
  const record = event as unknown as Record<string, unknown>;
  // Past 2^53 ns the exact time goes out as a 64-bit integer (the double would round it).
  const out: unknown[] = [Kind[event.kind], event.tExact ?? event.t];
  let last = 1;
  for (const [name] of fields) {
    const value = record[name] ?? null;
    out.push(value);
    if (value !== null) last = out.length - 1;
  }
  out.length = last + 1;
  return out;
}

/** Why one wire value is not an event; the reader adds the chunk offset and event index. */
export class EventShapeError extends Error {}

/**
 * The reader's own check, applied before an event is written: what a writer writes, every
 * reader accepts (an importer turns a refusal into a warning and a loss, never a bad session).
 * Throws EventShapeError naming the field.
 */
export function checkEvent(event: SessionEvent): void {
  // Packets are nearly every event an importer writes: checked field by field, as packetFromWire
  // reads them, rather than through a wire array (that round trip cost imports ~15%).
  if (event.kind === 'packet') {
    const { interfaceId, direction, origLen, data, processKey } = event;
    const timeOk = event.tExact === undefined ? Number.isSafeInteger(event.t) : sessionTime(event.tExact) !== undefined;
    if (timeOk && Number.isSafeInteger(interfaceId) && Number.isSafeInteger(direction) && Number.isSafeInteger(origLen) && data instanceof Uint8Array && (processKey === null || typeof processKey === 'string')) return;
  }
  if (fromWire(toWire(event)) === undefined) throw new EventShapeError(`${event.kind} is no event kind of this format`);
}

/**
 * Decodes one wire array. Returns undefined for a kind this version does not know (the caller
 * counts it); throws EventShapeError naming the field for a known kind with a bad field.
 */
export function fromWire(wire: unknown): SessionEvent | undefined {
  if (!Array.isArray(wire) || wire.length < 2) throw new EventShapeError('event is not an array of [kind, t, ...]');
  const code = wire[0];
  if (code === Kind.packet) {
    const packet = packetFromWire(wire);
    if (packet) return packet;
  }
  if (typeof code !== 'number' || !Number.isInteger(code)) throw new EventShapeError('event kind is not an integer');
  const layout = layoutByCode[code];
  if (!layout) return undefined;
  const kind = kindNameOf(code)!;
  const t = sessionTime(wire[1]);
  if (t === undefined) throw new EventShapeError(`${kind}.t is not an integer`);
  const event: Record<string, unknown> = { kind, t };
  if (typeof wire[1] === 'bigint') event.tExact = wire[1];
  for (let i = 0; i < layout.length; i++) {
    const [name, type] = layout[i];
    const value = checkField(wire[i + 2], type);
    if (value === invalid) throw new EventShapeError(`${kind}.${name} is not ${describe(type)}`);
    event[name] = value;
  }
  return event as unknown as SessionEvent;
}

/**
 * Packets are nearly every event of a session: a literal of fixed shape is several times faster
 * to build than the generic loop below. Returns undefined when any field is off, so that the
 * generic path reports which one.
 */
function packetFromWire(w: unknown[]): SessionEvent | undefined {
  const t = sessionTime(w[1]);
  const interfaceId = w[2];
  const direction = w[3];
  const origLen = w[4];
  const data = w[5];
  const processKey = w[6] ?? null;
  if (
    t === undefined || typeof interfaceId !== 'number' || !Number.isSafeInteger(interfaceId) ||
    typeof direction !== 'number' || !Number.isSafeInteger(direction) || typeof origLen !== 'number' || !Number.isSafeInteger(origLen) ||
    !(data instanceof Uint8Array) || (processKey !== null && typeof processKey !== 'string')
  ) return undefined;
  const packet: SessionEvent = { kind: 'packet', t, interfaceId, direction: direction as 0 | 1 | 2, origLen, data, processKey };
  if (typeof w[1] === 'bigint') packet.tExact = w[1];
  return packet;
}

/**
 * An event's time: an integer, which past 2^53 ns (104 days from the start) arrives as a
 * bigint. `t` is a double, exact within 104 days of the session start and to the double's
 * spacing beyond (8 ns at two years, 256 ns at fifty); `tExact` then keeps the exact value.
 */
function sessionTime(t: unknown): number | undefined {
  if (typeof t === 'number') return Number.isSafeInteger(t) ? t : undefined;
  return typeof t === 'bigint' && t >= -(2n ** 63n) && t < 2n ** 64n ? Number(t) : undefined;
}

const invalid = Symbol('invalid');

function checkField(value: unknown, type: FieldType): unknown {
  if (value === undefined || value === null) return type.endsWith('?') ? null : invalid;
  switch (type) {
    case 'int':
    case 'int?':
      return typeof value === 'number' && Number.isSafeInteger(value) ? value : invalid;
    case 'i64':
      return (typeof value === 'number' && Number.isSafeInteger(value)) || typeof value === 'bigint' ? value : invalid;
    case 'str':
    case 'str?':
      return typeof value === 'string' ? value : invalid;
    case 'bool?':
      return typeof value === 'boolean' ? value : invalid;
    case 'bytes':
      return value instanceof Uint8Array ? value : invalid;
    case 'strs?':
      return Array.isArray(value) && value.every((s) => typeof s === 'string') ? value : invalid;
  }
}

function describe(type: FieldType): string {
  const base = { int: 'an integer', i64: 'a 64-bit integer', str: 'a string', bool: 'a boolean', bytes: 'binary', strs: 'an array of strings' };
  const name = type.replace('?', '') as keyof typeof base;
  return type.endsWith('?') ? `${base[name]} or nil` : base[name];
}
