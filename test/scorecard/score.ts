/**
 * Scoring one scenario: every flow netprov found against the ground truth. A flow is
 *   right          attributed to the process instance that opened it (pid, executable among the
 *                  images it ran, start time where the truth has it, container where it has one),
 *                  and named as it asked where the truth has a DNS name
 *   wrong          attributed to any other process — the worst outcome: it must never happen
 *   unattributed   no process, with netprov's reason (expected for a raw packet, and for the
 *                  kernel's own ICMP)
 * A TCP or UDP flow no truth line covers fails the scenario: it did something unplanned.
 */
import type { Truth } from './world.js';

/** One flow as the analysis gives it (the runner's query). */
export interface ScoredFlow {
  uid: string;
  proto: string;
  orig_h: string;
  orig_p: number;
  resp_h: string;
  resp_p: number;
  pid: number | null;
  version: number | null;
  method: string | null;
  reason: string | null;
  exes: string[] | null;
  container_id: string | null;
  dns_name: string | null;
}

export interface Row {
  scenario: string;
  flows: number;
  right: number;
  wrong: number;
  unattributed: number;
  /** Why, for the unattributed: reason (or "expected: ...") -> count. */
  reasons: Record<string, number>;
  /** Each wrong or unplanned flow, for the log. */
  problems: string[];
}

const NS_PER_TICK = 1e7; // USER_HZ 100: /proc/PID/stat counts start time in 10 ms ticks

function sameInstance(flow: ScoredFlow, truth: Truth): boolean {
  if (flow.pid !== truth.pid) return false;
  if (truth.exe && !(flow.exes ?? []).some((exe) => exe.startsWith(truth.exe!))) return false;
  if (truth.ticks !== undefined && flow.version !== null && Math.abs(Math.floor(flow.version / NS_PER_TICK) - truth.ticks) > 1) return false;
  if (truth.container && flow.container_id !== truth.container) return false;
  if (truth.name && flow.dns_name !== truth.name) return false;
  return true;
}

const describe = (f: ScoredFlow) => `${f.proto} ${f.orig_h}:${f.orig_p} -> ${f.resp_h}:${f.resp_p}`;

export function score(scenario: string, flows: ScoredFlow[], truths: Truth[]): Row {
  const row: Row = { scenario, flows: flows.length, right: 0, wrong: 0, unattributed: 0, reasons: {}, problems: [] };
  const count = (reason: string) => (row.reasons[reason] = (row.reasons[reason] ?? 0) + 1);
  for (const flow of flows) {
    if (flow.proto !== 'tcp' && flow.proto !== 'udp') {
      if (flow.pid === null) {
        row.unattributed++;
        count(`expected: the kernel's ${flow.proto}`);
      } else {
        row.wrong++;
        row.problems.push(`${describe(flow)}: the kernel's, attributed to pid ${flow.pid}`);
      }
      continue;
    }
    // Either end may be the one the truth names (an inbound flow's responder is here).
    const candidates = truths.filter((t) => t.proto === flow.proto && ((t.addr === flow.resp_h && t.port === flow.resp_p) || (t.addr === flow.orig_h && t.port === flow.orig_p)));
    if (candidates.length === 0) {
      row.wrong++;
      row.problems.push(`${describe(flow)}: no truth covers this flow`);
      continue;
    }
    if (candidates.every((t) => t.pid === null)) {
      if (flow.pid === null) {
        row.unattributed++;
        count(`expected: ${flow.reason?.split(':')[0]}`);
      } else {
        row.wrong++;
        row.problems.push(`${describe(flow)}: no process sent it, attributed to pid ${flow.pid}`);
      }
      continue;
    }
    if (flow.pid === null) {
      row.unattributed++;
      count(flow.reason?.split(':')[0] ?? 'no reason given');
      continue;
    }
    if (candidates.some((t) => sameInstance(flow, t))) row.right++;
    else {
      row.wrong++;
      row.problems.push(
        `${describe(flow)}: attributed to pid ${flow.pid} (${(flow.exes ?? []).join(' then ')}${flow.container_id ? `, container ${flow.container_id.slice(0, 12)}` : ''}${flow.dns_name ? `, named ${flow.dns_name}` : ''}) by ${flow.method}; ` +
          `truth: ${candidates.map((t) => `pid ${t.pid} ${t.exe ?? ''}${t.container ? ` container ${t.container.slice(0, 12)}` : ''}${t.name ? ` named ${t.name}` : ''}`).join(' or ')}`,
      );
    }
  }
  return row;
}

export const TABLE_START = '<!-- scorecard:start (written by npm run scorecard) -->';
export const TABLE_END = '<!-- scorecard:end -->';

export function table(rows: Row[], whats: Map<string, string>): string {
  const reasons = (r: Row) =>
    Object.entries(r.reasons)
      .sort()
      .map(([reason, n]) => `${n} ${reason}`)
      .join('; ') || '—';
  return [
    '| scenario | what it does | flows | right | wrong | unattributed | why unattributed |',
    '|---|---|--:|--:|--:|--:|---|',
    ...rows.map((r) => `| ${r.scenario} | ${whats.get(r.scenario) ?? ''} | ${r.flows} | ${r.right} | ${r.wrong} | ${r.unattributed} | ${reasons(r)} |`),
  ].join('\n');
}

/** The rows of a table this script wrote: scenario -> right, to compare a run with. */
export function committedRights(readme: string): Map<string, number> {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  const rights = new Map<string, number>();
  if (start < 0 || end < start) return rights;
  for (const line of readme.slice(start, end).split('\n').slice(3)) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length >= 8) rights.set(cells[1], Number(cells[4]));
  }
  return rights;
}
