/*
 * Test vectors: encodes a fixed list of events (test/sysex/vectors.test.ts writes the same list
 * through the TypeScript writer) into one events frame and prints it as hex.
 */
#include <stdio.h>
#include <string.h>

#include "../np_session.h"

int main(void) {
    static uint8_t storage[1 << 16];
    np_buf b;
    np_buf_init(&b, storage, sizeof storage);
    uint8_t data[300];
    for (int i = 0; i < 300; i++) data[i] = (uint8_t)(i * 7);
    char long_text[301];
    memset(long_text, 'x', 300);
    long_text[300] = 0;
    const char *argv[] = {"curl", "-s", "https://example.com/é"};
    int events = 0;

    np_field iface[] = {np_int(0), np_str("eth0"), np_int(1), np_int(262144)};
    events += np_event(&b, NP_INTERFACE, 0, iface, 4) == 0;
    np_field exec[] = {np_str("4242@123456789"), np_int(4242), np_int(123456789), np_int(1),
                       np_nil(), np_int(1000), np_str("/usr/bin/curl"), np_strs(argv, 3),
                       np_nil(), np_nil(), np_nil(), np_nil(), np_nil(),
                       np_int(9876), np_str("/system.slice/docker-0123.scope")};
    events += np_event(&b, NP_EXEC, 5000000000LL, exec, 15) == 0;
    np_field fork[] = {np_str("4243@123999999"), np_int(4243), np_int(123999999), np_str("4242@123456789"), np_int(4242),
                       np_int(9876), np_nil()};
    events += np_event(&b, NP_FORK, 5000000001LL, fork, 7) == 0;
    np_field open_flow[] = {np_str("cookie-17"), np_str("4242@123456789"), np_int(6), np_str("10.0.0.1"),
                            np_int(40000), np_str("10.0.0.2"), np_int(443), np_int(2), np_int(1),
                            np_nil(), np_int(4026531840LL)};
    events += np_event(&b, NP_FLOW_OPEN, 5000100000LL, open_flow, 11) == 0;
    events += np_packet(&b, 5000100500LL, 0, 2, 1514, data, 300, NULL) == 0;
    events += np_packet(&b, 5000100600LL, 0, 1, 60, data, 0, "4242@123456789") == 0;
    np_field close_flow[] = {np_str("cookie-17"), np_nil(), np_int(6), np_str("10.0.0.1"), np_int(40000),
                             np_str("10.0.0.2"), np_int(443), np_int(123456), np_int(789)};
    events += np_event(&b, NP_FLOW_CLOSE, 6000000000LL, close_flow, 9) == 0;
    np_field exit_fields[] = {np_str("4242@123456789"), np_int(4242), np_int(-1)};
    events += np_event(&b, NP_EXIT, 7000000000LL, exit_fields, 3) == 0;
    np_field loss[] = {np_str("bpf-ringbuf"), np_int(70000), np_str(long_text)};
    events += np_event(&b, NP_LOSS, 8000000000LL, loss, 3) == 0;
    np_field sync[] = {np_str("CLOCK_BOOTTIME"), np_int(9007199254740991LL), np_nil()};
    events += np_event(&b, NP_CLOCK_SYNC, -129, sync, 3) == 0;
    np_field mark[] = {np_str("thirty-one bytes of text here!!")};
    events += np_event(&b, NP_MARK, 100, mark, 1) == 0;
    np_field mark32[] = {np_str("thirty-two bytes of text here!!!")};
    events += np_event(&b, NP_MARK, -33, mark32, 1) == 0;
    np_field process[] = {np_str("501.7"), np_int(501), np_int(7), np_nil(), np_nil(), np_nil(),
                          np_str("/Applications/App.app/Contents/MacOS/App"), np_nil(), np_str("com.example.app"),
                          np_str("ABCDE12345"), np_str("00ff"), np_bool(0)};
    events += np_event(&b, NP_PROCESS, 0, process, 12) == 0;
    if (b.overflow || events != 13) {
        fprintf(stderr, "encoding failed\n");
        return 1;
    }
    uint8_t header[NP_FRAME_HEADER_SIZE];
    np_frame_header(header, NP_FRAME_EVENTS, 1, b.data, (uint32_t)b.len, (uint32_t)events);
    for (size_t i = 0; i < sizeof header; i++) printf("%02x", header[i]);
    for (size_t i = 0; i < b.len; i++) printf("%02x", b.data[i]);
    printf("\n");
    return 0;
}
