/**
 * msgpackr as the session spec uses it: plain arrays and maps, no records, no extensions. A
 * module of its own so that what only maps events to wire arrays (codec.ts) — a capture read
 * straight into the analyzer — does not load msgpackr (~18 ms of the decoding thread's start).
 */
// Without msgpackr's native string extractor (the package's default on Node): loading it took
// ~40 ms of every load's start-up, and it unpacked our events no faster (200,000 process events:
// 36 ms with it, 37 without, measured).
import { Packr } from 'msgpackr/pack';
import { Unpackr } from 'msgpackr/unpack';

export const packr = new Packr({ useRecords: false, variableMapSize: true });
export const unpackr = new Unpackr({ useRecords: false, int64AsType: 'auto' as 'number', mapsAsObjects: true }); // 'auto': numbers up to 2^53, bigint beyond; not yet in msgpackr's types
