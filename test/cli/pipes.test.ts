import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTrafficPcap } from '../bench/traffic.js';
import { repoRoot, scratch } from '../helpers/paths.js';

describe('output into a pipe closed early', () => {
  it('ends quietly with exit 0, as `netprov flows | head` should', () => {
    const pcap = join(scratch(), 'traffic.pcap');
    // Far more flow lines than a pipe buffers, so that writes fail once head has gone.
    writeTrafficPcap(pcap, { packets: 20_000, concurrentFlows: 500, snapLen: 96 });
    const run = spawnSync('bash', ['-c', 'set -o pipefail; "$0" "$1" flows "$2" --format json | head -c 100 > /dev/null', process.execPath, join(repoRoot, 'bin/netprov.js'), pcap], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 60_000);
});
