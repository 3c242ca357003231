/**
 * The packets of one flow, or of every flow one process opened, as pcapng: the bytes come from
 * the session files (the database keeps headers, not payloads). Each packet names its process
 * three ways, so every reader finds it: Apple's process information block and the EPB option
 * pointing at it (what `tcpdump -k` writes), `epb_processid_threadid` (the pcapng standard's
 * option 8), and a comment. A name-resolution block carries the DNS answers the session saw for
 * the packets' addresses, so Wireshark shows names. netprov's importer reads all of it back.
 */
import { closeSync, openSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename } from 'node:path';
import { InputError } from '../../recorder/errors.js';
import { CaptureStream } from '../../recorder/import/captures.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { query, type Database } from '../db/database.js';
import { addressBytes } from '../flows/community-id.js';
import { writeAll } from '../../recorder/write-all.js';

export interface PcapSelection {
  flow?: string;
  process?: string;
}

export async function exportPcapng(db: Database, out: string, selection: PcapSelection): Promise<number> {
  if (!selection.flow === !selection.process) throw new InputError('--pcap needs one of --flow UID or --process KEY');
  const wanted = await query(
    db,
    `SELECT p.session_id, coalesce(s.file, array_to_string(s.captures, ' + ')) AS file, s.captures, s.start_ns, p.packet_no, p.t, p.orig_len, p.cap_len, p.interface_id, p.src, p.dst, a.process_key, pr.pid, pr.path
     FROM packets p
     JOIN sessions s USING (session_id)
     LEFT JOIN attributions a ON a.session_id = p.session_id AND a.uid = p.flow_uid
     LEFT JOIN processes pr ON pr.session_id = p.session_id AND pr.process_key = a.process_key
     WHERE ($flow::VARCHAR IS NOT NULL AND p.flow_uid = $flow) OR ($process::VARCHAR IS NOT NULL AND a.process_key = $process)
     ORDER BY s.start_ns + p.t, p.session_id, p.packet_no`,
    { flow: selection.flow ?? null, process: selection.process ?? null } as never,
  );
  if (wanted.length === 0) throw new InputError(`no packets for ${selection.flow ? `flow ${selection.flow}` : `process ${selection.process}`}`);
  const interfaces = await query(db, 'SELECT session_id, interface_id, name, link_type FROM interfaces');

  // Packet bytes, read back from each session file — or, for a session analysed straight from
  // captures, from the captures merged again — keyed by session and packet number. A file can
  // change after its analysis and keep its session id (a capture's comes from its size and its
  // first and last MB): each packet read back must have the time and lengths analysed, and be there.
  const bytes = new Map<string, Uint8Array>();
  for (const file of new Set(wanted.map((w) => w.file as string))) {
    const rows = wanted.filter((w) => w.file === file);
    const analysed = new Map(rows.map((w) => [w.packet_no as number, w]));
    const changed = (what: string) => new InputError(`${file}: ${what}: it changed since it was analysed; analyse it again to export its packets`);
    const captures = rows[0].captures as string[] | null;
    let reader: SessionReader | CaptureStream;
    try {
      reader = captures ? new CaptureStream(captures) : SessionReader.open(file);
    } catch (err) {
      throw new InputError(`cannot reopen ${file} for packet bytes: ${(err as Error).message}`);
    }
    if (reader.header.sessionId !== rows[0].session_id) {
      throw new InputError(`${file}: is no longer the capture session ${rows[0].session_id} was analysed from`);
    }
    let n = 0;
    try {
      reader.scan({
        packet: (t, _i, _d, origLen, data, start, end, _key, tExact) => {
          const w = analysed.get(n);
          if (w) {
            if (BigInt(tExact ?? t) !== BigInt(w.t as number) || origLen !== w.orig_len || end - start !== w.cap_len) {
              throw changed(`packet ${n} is not the one analysed (its time or length differs)`);
            }
            bytes.set(`${reader.header.sessionId}/${n}`, data.slice(start, end));
          }
          n++;
        },
        event: () => {},
      });
    } finally {
      if (reader instanceof CaptureStream) reader.close();
    }
    const gone = rows.find((w) => !bytes.has(`${w.session_id}/${w.packet_no}`));
    if (gone) throw changed(`it ends before packet ${gone.packet_no}`);
  }

  const writer = new PcapngWriter(out);
  writer.names(await answeredNames(db, wanted));
  const interfaceIndex = new Map<string, number>();
  const processIndex = new Map<string, number>();
  let written = 0;
  for (const w of wanted) {
    const data = bytes.get(`${w.session_id}/${w.packet_no}`)!;
    const ifaceKey = `${w.session_id}/${w.interface_id}`;
    let index = interfaceIndex.get(ifaceKey);
    if (index === undefined) {
      const iface = interfaces.find((i) => i.session_id === w.session_id && i.interface_id === w.interface_id);
      index = writer.interface((iface?.link_type as number) ?? 1, (iface?.name as string) ?? `interface ${w.interface_id}`);
      interfaceIndex.set(ifaceKey, index);
    }
    const comment = w.process_key ? `process ${w.pid} ${w.path ?? '?'} (${w.process_key})` : 'process unknown';
    let process: { index: number; pid: number } | null = null;
    if (w.process_key && w.pid !== null) {
      const key = `${w.session_id}/${w.process_key}`;
      let appleIndex = processIndex.get(key);
      if (appleIndex === undefined) {
        appleIndex = writer.process(w.pid as number, w.path as string | null);
        processIndex.set(key, appleIndex);
      }
      process = { index: appleIndex, pid: w.pid as number };
    }
    writer.packet(index, BigInt(w.start_ns as number) + BigInt(w.t as number), w.orig_len as number, data, comment, process);
    written++;
  }
  writer.close();
  return written;
}

/**
 * The names the session's DNS answers gave the exported packets' addresses, each address once,
 * its names sorted (the same file on every run).
 */
async function answeredNames(db: Database, wanted: Record<string, unknown>[]): Promise<Map<string, string[]>> {
  const sessions = [...new Set(wanted.map((w) => w.session_id as string))];
  const addresses = [...new Set(wanted.flatMap((w) => [w.src, w.dst]).filter((a): a is string => typeof a === 'string'))];
  if (addresses.length === 0) return new Map();
  const rows = await query(
    db,
    // Lists travel as newline-joined text (bound, never spliced): neither ids nor addresses hold one.
    `SELECT DISTINCT answer, query FROM dns_answers
     WHERE list_contains(string_split($sessions, chr(10)), session_id) AND list_contains(string_split($addresses, chr(10)), answer)
     ORDER BY answer, query`,
    { sessions: sessions.join('\n'), addresses: addresses.join('\n') } as never,
  );
  const names = new Map<string, string[]>();
  for (const { answer, query: name } of rows as { answer: string; query: string }[]) {
    if (isIP(answer)) names.set(answer, [...(names.get(answer) ?? []), name]);
  }
  return names;
}

/** A minimal little-endian pcapng writer: one section, nanosecond interfaces, packets with their process. */
class PcapngWriter {
  private readonly fd: number;
  private interfaces = 0;
  private processes = 0;

  constructor(path: string) {
    try {
      this.fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      throw new InputError(`${path}: cannot create (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    const shb = Buffer.alloc(16);
    shb.writeUInt32LE(0x1a2b3c4d, 0);
    shb.writeUInt16LE(1, 4);
    shb.writeUInt16LE(0, 6);
    shb.writeBigInt64LE(-1n, 8);
    this.block(0x0a0d0d0a, shb, [[4, Buffer.from('netprov')]]);
  }

  interface(linkType: number, name: string): number {
    const body = Buffer.alloc(8);
    body.writeUInt16LE(linkType, 0);
    body.writeUInt32LE(0, 4);
    this.block(1, body, [[2, Buffer.from(name)], [9, Buffer.from([9])]]);
    return this.interfaces++;
  }

  /** Apple's process information block (0x80000001): pid, then name (2) and path (3); returns its index. */
  process(pid: number, path: string | null): number {
    const body = Buffer.alloc(4);
    body.writeUInt32LE(pid, 0);
    const options: [number, Buffer][] = path ? [[2, Buffer.from(basename(path))], [3, Buffer.from(path)]] : [];
    this.block(0x80000001, body, options);
    return this.processes++;
  }

  /** A name-resolution block: one record per address (1 IPv4, 2 IPv6: the address, then its names NUL-terminated). */
  names(byAddress: Map<string, string[]>): void {
    if (byAddress.size === 0) return;
    const records: Buffer[] = [];
    for (const [address, names] of byAddress) {
      const bytes = addressBytes(address);
      const v4 = bytes.length === 4;
      const value = Buffer.concat([bytes, ...names.map((n) => Buffer.from(`${n}\0`))]);
      const head = Buffer.alloc(4);
      head.writeUInt16LE(v4 ? 1 : 2, 0);
      head.writeUInt16LE(value.length, 2);
      records.push(head, value, Buffer.alloc((4 - (value.length % 4)) % 4));
    }
    records.push(Buffer.alloc(4)); // nrb_record_end
    this.block(4, Buffer.concat(records), []);
  }

  packet(iface: number, ns: bigint, origLen: number, data: Uint8Array, comment: string, process: { index: number; pid: number } | null): void {
    const body = Buffer.alloc(20 + ((data.length + 3) & ~3));
    body.writeUInt32LE(iface, 0);
    body.writeUInt32LE(Number(ns >> 32n), 4);
    body.writeUInt32LE(Number(ns & 0xffffffffn), 8);
    body.writeUInt32LE(data.length, 12);
    body.writeUInt32LE(origLen, 16);
    body.set(data, 20);
    const options: [number, Buffer][] = [[1, Buffer.from(comment)]];
    if (process) {
      const pidThread = Buffer.alloc(8); // epb_processid_threadid: the thread is not known
      pidThread.writeUInt32LE(process.pid, 0);
      const appleIndex = Buffer.alloc(4);
      appleIndex.writeUInt32LE(process.index, 0);
      options.push([8, pidThread], [0x8001, appleIndex]);
    }
    this.block(6, body, options);
  }

  private block(type: number, body: Buffer, options: [number, Buffer][]): void {
    const parts: Buffer[] = [body];
    for (const [code, value] of options) {
      const head = Buffer.alloc(4);
      head.writeUInt16LE(code, 0);
      head.writeUInt16LE(value.length, 2);
      parts.push(head, value, Buffer.alloc((4 - (value.length % 4)) % 4));
    }
    if (options.length) parts.push(Buffer.alloc(4)); // opt_endofopt
    const content = Buffer.concat(parts);
    const total = content.length + 12;
    const head = Buffer.alloc(8);
    head.writeUInt32LE(type, 0);
    head.writeUInt32LE(total, 4);
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(total, 0);
    writeAll(this.fd, Buffer.concat([head, content, tail]));
  }

  close(): void {
    closeSync(this.fd);
  }
}
