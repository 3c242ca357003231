/*
 * The system extension's core, replayed: this program does for each line of a scenario what the
 * Swift shell does for the Apple callback it stands for — with the same sysex/common calls (the
 * shared table, the recordings, the session stream) — and writes each recording's session to
 * DIR/recording-N.npsession. test/sysex/replay.test.ts makes the scenarios (from eslogger JSON
 * and a capture), runs this under the sanitizers and checks the analysis of every session.
 *
 *   replay DIR < scenario
 *
 * Scenario lines (times in ns since the epoch):
 *   start OWNER | stop OWNER                               an XPC client starts or stops a recording
 *   running T PID VERSION PPID PATH                        a process alive before (table only, as a snapshot)
 *   exec T PID VERSION FORMER_VERSION PPID PATH            ES exec (the image replaces pid.FORMER_VERSION)
 *   fork T CHILD_PID CHILD_VERSION PID VERSION             ES fork
 *   exit T PID VERSION STATUS                              ES exit
 *   flow T ID PID VERSION PROTO LADDR LPORT RADDR RPORT    content filter: a flow with its app's audit token (again: already recorded)
 *   close T ID BYTES_IN BYTES_OUT                          content filter: the flow's close report (no audit token: the table has it)
 *   packet T HEX                                           packet filter: an Ethernet frame
 * Prints one line per start and stop: "start OWNER ok|refused".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../np_endpoint.h"
#include "../np_recording.h"
#include "../np_stream.h"

static np_table *table;
static np_recording *recording;
static np_stream *stream;
static FILE *out;
static int64_t start_ns;
static int interface_declared;
static int recordings;

static int write_piece(void *context, const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len) {
    (void)context;
    if (fwrite(head, 1, head_len, out) != head_len) return -1;
    if (body_len && fwrite(body, 1, body_len, out) != body_len) return -1;
    return 0;
}

static void key_of(uint32_t pid, uint32_t version, char key[NP_KEY_MAX]) {
    snprintf(key, NP_KEY_MAX, "%u.%u", pid, version);
}

/* A `process` event from what the table knows: the shell's description of a process first named now. */
static void describe(int64_t t, const char *key) {
    np_process_info p;
    uint32_t pid = (uint32_t)strtoul(key, NULL, 10), version = (uint32_t)strtoul(strchr(key, '.') + 1, NULL, 10);
    int known = np_table_process_by_pid(table, pid, &p) == 0 && strcmp(p.key, key) == 0;
    np_field f[7] = {np_str(key), np_int(pid), np_int(version), np_nil(), np_nil(), np_nil(), np_str(known ? p.path : NULL)};
    np_stream_event(stream, NP_PROCESS, t - start_ns, f, 7);
}

static void introduce(int64_t t, const char *key) {
    if (np_recording_introduce(recording, key)) describe(t, key);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    table = np_table_new(16384, 65536);
    recording = np_recording_new(16384);
    char line[4096], word[16];
    while (fgets(line, sizeof line, stdin)) {
        long long t = 0;
        if (sscanf(line, "%15s %lld", word, &t) < 1) continue;
        char key[NP_KEY_MAX], other[NP_KEY_MAX], path[1024], id[128], laddr[64], raddr[64], hex[3200];
        unsigned pid, version, former, ppid, cpid, cversion, proto, lport, rport;
        int status;
        uint64_t owner;
        int running = np_recording_running(recording, NULL) && stream;
        if (!strcmp(word, "start") && sscanf(line, "start %llu", (unsigned long long *)&owner) == 1) {
            int ok = np_recording_start(recording, owner) == 0;
            if (ok) {
                char name[4096];
                snprintf(name, sizeof name, "%s/recording-%d.npsession", argv[1], ++recordings);
                if (!(out = fopen(name, "wb"))) return 2;
                stream = np_stream_new(64 * 1024, write_piece, NULL);
                start_ns = 1700000000000000000LL + recordings * 1000000000LL;
                np_stream_begin(stream, "netprov-macos-replay", "0", start_ns, "replayed scenario");
                interface_declared = 0;
            }
            printf("start %llu %s\n", (unsigned long long)owner, ok ? "ok" : "refused");
        } else if (!strcmp(word, "stop") && sscanf(line, "stop %llu", (unsigned long long *)&owner) == 1) {
            np_recording_totals final;
            int ok = np_recording_stop(recording, owner, &final) == 0;
            if (ok) {
                np_stream_end(stream, 0);
                np_stream_free(stream);
                stream = NULL;
                fclose(out);
            }
            printf("stop %llu %s\n", (unsigned long long)owner, ok ? "ok" : "refused");
        } else if (sscanf(line, "running %lld %u %u %u %1023s", &t, &pid, &version, &ppid, path) == 5) {
            key_of(pid, version, key);
            np_process_info p = np_process_info_make(key, pid, path, NULL);
            np_table_put_process(table, &p);
        } else if (sscanf(line, "exec %lld %u %u %u %u %1023s", &t, &pid, &version, &former, &ppid, path) == 6) {
            key_of(pid, version, key);
            key_of(pid, former, other);
            np_table_remove_process(table, other);
            np_recording_forget(recording, other);
            np_process_info p = np_process_info_make(key, pid, path, NULL);
            np_table_put_process(table, &p);
            if (running) {
                np_recording_introduce(recording, key); /* the exec event describes it */
                np_field f[13] = {np_str(key), np_int(pid), np_int(version), np_int(ppid), np_nil(), np_nil(), np_str(path),
                                  np_nil(), np_nil(), np_nil(), np_nil(), np_nil(), np_str(other)};
                np_stream_event(stream, NP_EXEC, t - start_ns, f, 13);
            }
        } else if (sscanf(line, "fork %lld %u %u %u %u", &t, &cpid, &cversion, &pid, &version) == 5) {
            key_of(pid, version, other);
            key_of(cpid, cversion, key);
            np_process_info parent;
            int known = np_table_process_by_pid(table, pid, &parent) == 0 && !strcmp(parent.key, other);
            np_process_info child = np_process_info_make(key, cpid, known ? parent.path : NULL, NULL);
            np_table_put_process(table, &child);
            if (running) {
                introduce(t, other);
                np_recording_introduce(recording, key); /* the fork event names it */
                np_field f[5] = {np_str(key), np_int(cpid), np_int(cversion), np_str(other), np_int(pid)};
                np_stream_event(stream, NP_FORK, t - start_ns, f, 5);
            }
        } else if (sscanf(line, "exit %lld %u %u %d", &t, &pid, &version, &status) == 4) {
            key_of(pid, version, key);
            np_table_remove_process(table, key);
            if (running) {
                introduce(t, key);
                np_field f[3] = {np_str(key), np_int(pid), np_int(status)};
                np_stream_event(stream, NP_EXIT, t - start_ns, f, 3);
            }
            np_recording_forget(recording, key);
        } else if (sscanf(line, "flow %lld %127s %u %u %u %63s %u %63s %u", &t, id, &pid, &version, &proto, laddr, &lport, raddr, &rport) == 9) {
            key_of(pid, version, key);
            np_tuple tuple = np_tuple_make((uint8_t)proto, laddr, (uint16_t)lport, raddr, (uint16_t)rport);
            int again = np_table_put_flow(table, id, key, &tuple) == 1;
            if (running && !again) {
                introduce(t, key); /* a process that only talks on the network is described here */
                np_field f[10] = {np_str(id), np_str(key), np_int(proto), np_str(laddr), np_int(lport), np_str(raddr), np_int(rport),
                                  np_int(2), np_int(6), np_nil()};
                np_stream_event(stream, NP_FLOW_OPEN, t - start_ns, f, 10);
            }
        } else if (sscanf(line, "close %lld %127s %u %u", &t, id, &lport, &rport) == 4) {
            np_tuple tuple;
            int known = np_table_flow_by_id(table, id, key, &tuple) == 0;
            np_table_remove_flow(table, id);
            if (running && known) {
                np_field f[9] = {np_str(id), np_str(key[0] ? key : NULL), np_int(tuple.protocol), np_str(tuple.local_addr), np_int(tuple.local_port),
                                 np_str(tuple.remote_addr), np_int(tuple.remote_port), np_int(lport), np_int(rport)};
                np_stream_event(stream, NP_FLOW_CLOSE, t - start_ns, f, 9);
            }
        } else if (sscanf(line, "packet %lld %3199s", &t, hex) == 2) {
            uint8_t frame[1600];
            size_t n = strlen(hex) / 2;
            if (n > sizeof frame) continue;
            for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &frame[i]);
            np_tuple tuple;
            char process[NP_KEY_MAX];
            int attributed = np_packet_tuple(frame, n, 1, &tuple) == 0 && np_table_flow_process(table, &tuple, process) == 0;
            if (running) {
                if (!interface_declared) {
                    np_field f[4] = {np_int(0), np_str("en0"), np_int(1), np_int(65535)};
                    np_stream_event(stream, NP_INTERFACE, t - start_ns, f, 4);
                    interface_declared = 1;
                }
                np_stream_packet(stream, t - start_ns, 0, 2, (uint32_t)n, frame, (uint32_t)n, attributed ? process : NULL);
            }
        } else {
            fprintf(stderr, "replay: cannot read: %s", line);
            return 2;
        }
    }
    if (stream) {
        np_stream_end(stream, 0);
        np_stream_free(stream);
        fclose(out);
    }
    np_recording_free(recording);
    np_table_free(table);
    return 0;
}
