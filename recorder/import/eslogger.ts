/**
 * Apple `eslogger` JSON lines (one es_message_t per line) for exec, fork and exit.
 *
 * Process keys come from audit tokens: `pid.pidversion`. Message versions up to 9 print an
 * audit token as an object ({pid, pidversion, euid, ...}); 10 and later print the raw
 * audit_token_t as an array of eight integers, in the kernel's order
 * [auid, euid, egid, ruid, rgid, pid, asid, pidversion]. Both are read by shape.
 *
 * `global_seq_num` counts every message the ES client was sent; a jump means messages were
 * dropped, and becomes a loss event. A process first seen as the actor of a message (rather than
 * through exec or fork) existed before the log began and is recorded as a `process` event.
 */
import type { ProcessImage, SessionEvent } from '../session/events.js';
import type { Cursor } from './cursor.js';
import { withinSessionClock, type ImportNotes, type ImportSource, type Timed } from './source.js';

type Json = Record<string, any>;

/** A first line that parses as a JSON object with an ES message's fields. */
export function isEslogger(head: Buffer): boolean {
  const firstLine = head.toString('utf8', 0, Math.min(head.length, 64 * 1024)).split('\n', 1)[0].trim();
  if (!firstLine.startsWith('{')) return false;
  try {
    const message = JSON.parse(firstLine);
    return typeof message === 'object' && 'event' in message && 'process' in message && 'time' in message;
  } catch {
    return /"global_seq_num"\s*:/.test(firstLine) && /"audit_token"\s*:/.test(firstLine);
  }
}

interface Token {
  pid: number;
  pidversion: number;
  euid: number | null;
}

function token(value: unknown): Token | null {
  if (Array.isArray(value) && value.length >= 8) return { pid: value[5], pidversion: value[7], euid: value[1] };
  if (value && typeof value === 'object') {
    const t = value as Json;
    if (Number.isInteger(t.pid) && Number.isInteger(t.pidversion)) return { pid: t.pid, pidversion: t.pidversion, euid: t.euid ?? null };
  }
  return null;
}

const keyOf = (t: Token): string => `${t.pid}.${t.pidversion}`;

const ISO_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)$/;

/** "2024-05-01T10:00:00.123456789Z" -> exact [sec, nsec]; null when it is not that shape. */
export function parseIsoTime(text: unknown): [number, number] | null {
  const match = typeof text === 'string' ? ISO_TIME.exec(text) : null;
  if (!match) return null;
  const ms = Date.parse(match[1] + match[3]);
  if (Number.isNaN(ms)) return null;
  return [ms / 1000, Number((match[2] ?? '').padEnd(9, '0'))];
}

/** What an es_process_t says about the image it runs. */
function image(process: Json, tok: Token, args: unknown): ProcessImage {
  const parent = token(process.parent_audit_token);
  const argv = Array.isArray(args) ? args.map(String) : Array.isArray(process.args) ? process.args.map(String) : null;
  return {
    key: keyOf(tok),
    pid: tok.pid,
    version: tok.pidversion,
    ppid: Number.isInteger(process.ppid) ? process.ppid : null,
    parentKey: parent ? keyOf(parent) : null,
    uid: tok.euid,
    path: process.executable?.path ?? null,
    argv,
    signingId: process.signing_id || null,
    teamId: process.team_id || null,
    cdhash: process.cdhash || null,
    isPlatformBinary: typeof process.is_platform_binary === 'boolean' ? process.is_platform_binary : null,
  };
}

/** The longest eslogger line read: its messages are a few KiB; an exec with a huge environment stays far below. */
const MAX_LINE = 16 << 20;

export function openEslogger(cursor: Cursor, file: string): ImportSource {
  const notes: ImportNotes = { warnings: [] };
  const known = new Set<string>();
  let lastSeq: number | null = null;
  let lineNo = 0;
  let skipped = 0;
  let lastSec = 0;
  let lastNsec = 0;

  function* lines(): Generator<[string, number]> {
    let carry = '';
    // A line past MAX_LINE (a file with no newlines, or a hostile one) is skipped as it streams
    // by, so memory stays bounded: `tooLong` is set until its newline comes.
    let tooLong = false;
    while (cursor.ensure(1)) {
      // Split on bytes, not characters: a multi-byte character may straddle two windows.
      const window = cursor.buf.subarray(cursor.pos, cursor.pos + cursor.available);
      if (tooLong) {
        const newline = window.indexOf(0x0a);
        cursor.skip(newline === -1 ? window.length : newline + 1);
        if (newline !== -1) {
          skip(++lineNo, `longer than ${MAX_LINE >> 20} MiB`);
          tooLong = false;
        }
        continue;
      }
      const lastNewline = window.lastIndexOf(0x0a);
      const take = lastNewline === -1 ? window.length : lastNewline + 1;
      const text = carry + window.toString('utf8', 0, take);
      cursor.skip(take);
      const parts = text.split('\n');
      carry = parts.pop()!;
      for (const line of parts) {
        if (line.length > MAX_LINE) skip(++lineNo, `longer than ${MAX_LINE >> 20} MiB`);
        else yield [line, ++lineNo];
      }
      if (carry.length > MAX_LINE) {
        tooLong = true;
        carry = '';
      }
    }
    if (tooLong || carry.length > MAX_LINE) skip(++lineNo, `longer than ${MAX_LINE >> 20} MiB and cut by the end of the file`);
    else if (carry.trim()) yield [carry, ++lineNo];
  }

  function* messages(): Generator<Timed> {
    for (const [line, n] of lines()) {
      if (!line.trim()) continue;
      let message: Json;
      try {
        message = JSON.parse(line);
      } catch {
        skip(n, 'not JSON');
        continue;
      }
      const time = parseIsoTime(message.time);
      const actor = token(message.process?.audit_token);
      if (!time) {
        skip(n, 'field time is not an ISO-8601 timestamp');
        continue;
      }
      if (!withinSessionClock(time[0])) {
        skip(n, `field time ${String(message.time)} is outside what a session's clock holds (1677 to 2554)`);
        continue;
      }
      if (!actor) {
        skip(n, 'field process.audit_token is missing or not an audit token');
        continue;
      }
      const [sec, nsec] = time;
      [lastSec, lastNsec] = time;
      const at = (event: SessionEvent): Timed => ({ sec, nsec, event });

      const seq = message.global_seq_num;
      if (Number.isInteger(seq)) {
        if (lastSeq !== null && seq > lastSeq + 1) {
          yield at({ kind: 'loss', t: 0, source: 'es-sequence', count: seq - lastSeq - 1, reason: `global_seq_num jumped from ${lastSeq} to ${seq}` });
        }
        lastSeq = seq;
      }

      const event = message.event ?? {};
      if (event.exec) {
        const target = event.exec.target ?? {};
        const tok = token(target.audit_token);
        if (!tok) {
          skip(n, 'field event.exec.target.audit_token is missing');
          continue;
        }
        yield* firstSighting(message.process, actor, at);
        known.add(keyOf(tok));
        const formerKey = keyOf(actor) === keyOf(tok) ? null : keyOf(actor);
        yield at({ kind: 'exec', t: 0, ...image(target, tok, event.exec.args), formerKey });
      } else if (event.fork) {
        const child = token(event.fork.child?.audit_token);
        if (!child) {
          skip(n, 'field event.fork.child.audit_token is missing');
          continue;
        }
        yield* firstSighting(message.process, actor, at);
        known.add(keyOf(child));
        yield at({ kind: 'fork', t: 0, childKey: keyOf(child), childPid: child.pid, childVersion: child.pidversion, parentKey: keyOf(actor), parentPid: actor.pid });
      } else if (event.exit) {
        yield* firstSighting(message.process, actor, at);
        yield at({ kind: 'exit', t: 0, key: keyOf(actor), pid: actor.pid, status: Number.isInteger(event.exit.stat) ? event.exit.stat : null });
      } else {
        yield* firstSighting(message.process, actor, at);
      }
    }
    if (skipped > 0) {
      notes.warnings.push(`${file}: ${skipped} line(s) skipped, counted as a loss`);
      yield { sec: lastSec, nsec: lastNsec, event: { kind: 'loss', t: 0, source: `import:${file}`, count: skipped, reason: 'eslogger lines that could not be read' } };
    }
  }

  /** The actor of a message, if never seen before, existed before the log began. */
  function* firstSighting(process: Json, tok: Token, at: (e: SessionEvent) => Timed): Generator<Timed> {
    const key = keyOf(tok);
    if (known.has(key)) return;
    known.add(key);
    yield at({ kind: 'process', t: 0, ...image(process, tok, null) });
  }

  function skip(line: number, why: string): void {
    skipped++;
    if (skipped <= 20) notes.warnings.push(`${file}: line ${line}: ${why}; skipped`);
  }

  return { file, description: 'eslogger JSON', events: messages(), notes, close: () => cursor.close() };
}
