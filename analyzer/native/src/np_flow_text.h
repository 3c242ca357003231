/*
 * A retired connection's text fields as the flows table holds them (schema.sql): its uid, its
 * addresses, its transport's name, its Community ID, its MACs. The twins in TypeScript — uids.ts,
 * formatAddress in dissect/packet.ts, protoName in flows/conn.ts, community-id.ts, macText in
 * load/flow-rows.ts — stay the reference, and
 * test/analyzer/native-tracker.test.ts requires the same rows from both.
 *
 * Written because these strings cost ~3 µs a flow in TypeScript, most of the time the tracking
 * thread spends after the last packet writing the flows still open then (0.7 s of the
 * benchmark's 2,000,000 packets, 70,000 flows).
 */
#ifndef NP_FLOW_TEXT_H
#define NP_FLOW_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "np_track.h"

enum { NP_UID, NP_ORIG_ADDR, NP_RESP_ADDR, NP_PROTO, NP_COMMUNITY_ID, NP_ORIG_L2, NP_RESP_L2, NP_FLOW_TEXTS };

/* Room enough for every field of one flow. */
#define NP_FLOW_TEXT_MAX 256

/*
 * Writes the flow's texts one after another into `out` (NP_FLOW_TEXT_MAX bytes), each one's
 * length into `lengths` (-1 for a MAC that is none, NULL in the table); returns the bytes written.
 * `uid_seed`: the session's (uids.ts).
 */
size_t np_flow_text(const struct np_flow_record *flow, int32_t uid_seed, char *out, int32_t lengths[NP_FLOW_TEXTS]);

#endif
