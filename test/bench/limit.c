/*
 * The physical limit netprov is measured against (`npm run bench`): how fast this machine reads
 * a pcap at all, and how fast a minimal C loop dissects each packet (Ethernet, IPv4, TCP/UDP)
 * and counts it into a flow hash table. No Zeek semantics, no output: a floor, not a rival.
 *
 *   limit read FILE      read(2) the file in 4 MiB pieces
 *   limit dissect FILE   the same, plus dissecting and hashing every packet
 *   limit copy FILE OUT  the same reads, each piece written to a new file OUT: what reading a
 *                        capture and writing as many bytes costs, as `import` does (into the page
 *                        cache; where the machine throttles writes, no floor)
 *
 * Prints: packets flows seconds
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PIECE (4u << 20)
#define SLOTS (1u << 22)

struct flow_key {
	uint32_t a, b;
	uint16_t pa, pb;
	uint8_t proto;
};

struct slot {
	struct flow_key key;
	uint8_t used;
	uint64_t packets, bytes;
};

static struct slot *table;
static uint64_t flows;

static uint64_t hash_key(const struct flow_key *k)
{
	uint64_t h = ((uint64_t)k->a * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)k->b * 0xc2b2ae3d27d4eb4full);
	h ^= ((uint64_t)k->pa << 24) ^ ((uint64_t)k->pb << 8) ^ k->proto;
	return h ^ (h >> 29);
}

static void count(const uint8_t *p, uint32_t caplen, uint32_t wirelen)
{
	if (caplen < 14 + 20 || p[12] != 0x08 || p[13] != 0x00)
		return;
	const uint8_t *ip = p + 14;
	uint32_t ihl = (ip[0] & 15u) * 4;
	struct flow_key k = { 0 };
	uint32_t src, dst;
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	k.proto = ip[9];
	uint16_t sport = 0, dport = 0;
	if ((k.proto == 6 || k.proto == 17) && caplen >= 14 + ihl + 4) {
		sport = (uint16_t)(ip[ihl] << 8 | ip[ihl + 1]);
		dport = (uint16_t)(ip[ihl + 2] << 8 | ip[ihl + 3]);
	}
	/* Both directions of a flow in one slot: the lower endpoint first. */
	if (src < dst || (src == dst && sport < dport)) {
		k.a = src, k.b = dst, k.pa = sport, k.pb = dport;
	} else {
		k.a = dst, k.b = src, k.pa = dport, k.pb = sport;
	}
	for (uint64_t i = hash_key(&k);; i++) {
		struct slot *s = &table[i & (SLOTS - 1)];
		if (!s->used) {
			s->used = 1;
			s->key = k;
			flows++;
		} else if (memcmp(&s->key, &k, sizeof k) != 0) {
			continue;
		}
		s->packets++;
		s->bytes += wirelen;
		return;
	}
}

int main(int argc, char **argv)
{
	int copy = argc == 4 && strcmp(argv[1], "copy") == 0;
	if (argc != 3 && !copy) {
		fprintf(stderr, "usage: limit read|dissect FILE, or limit copy FILE OUT\n");
		return 2;
	}
	int dissect = strcmp(argv[1], "dissect") == 0;
	int fd = open(argv[2], O_RDONLY);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	int out = copy ? open(argv[3], O_WRONLY | O_CREAT | O_EXCL, 0600) : -1;
	if (copy && out < 0) {
		perror(argv[3]);
		return 1;
	}
	table = calloc(SLOTS, sizeof *table);
	uint8_t *buf = malloc(2 * PIECE);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t have = 0, at = 24; /* past the pcap global header */
	uint64_t packets = 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, 2 * PIECE - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		if (copy && write(out, buf, have) != (ssize_t)have) {
			perror(argv[3]);
			return 1;
		}
		if (!dissect) {
			have = 0;
			continue;
		}
		while (at + 16 <= have) {
			uint32_t caplen, wirelen;
			memcpy(&caplen, buf + at + 8, 4);
			memcpy(&wirelen, buf + at + 12, 4);
			if (at + 16 + caplen > have)
				break;
			count(buf + at + 16, caplen, wirelen);
			packets++;
			at += 16 + caplen;
		}
		memmove(buf, buf + at, have - at);
		have -= at;
		at = 0;
	}
	if (copy)
		close(out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%llu %llu %.3f\n", (unsigned long long)packets, (unsigned long long)flows,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
