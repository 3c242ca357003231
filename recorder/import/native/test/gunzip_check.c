/*
 * np_gunzip under AddressSanitizer and UBSan (test/import/gzip.test.ts builds and runs it): gzip
 * files of one or more members, with zero padding or not, then cut short and with bytes flipped at
 * random, read in windows of random sizes, each a heap block of exactly its size — so a write one
 * byte outside the window stops the run. Checks too that a whole file inflates to what was
 * compressed, and that a damaged one ends with damage said or with the intact bytes. Exits 0 after
 * `rounds` files; prints the first broken rule.
 */
#define _XOPEN_SOURCE 700 /* fileno */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "np_gunzip.h"

static uint32_t state = 20261129;
static uint32_t next_random(void) {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

static size_t gzip_member(const uint8_t *data, size_t length, uint8_t *out, size_t room, int level) {
  z_stream z = {0};
  if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
  z.next_in = (Bytef *)data;
  z.avail_in = (uInt)length;
  z.next_out = out;
  z.avail_out = (uInt)room;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
  size_t n = room - z.avail_out;
  deflateEnd(&z);
  return n;
}

static int fail(const char *rule, unsigned round) {
  printf("round %u: %s\n", round, rule);
  return 1;
}

int main(int argc, char **argv) {
  unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 1000;
  const char *path = argc > 2 ? argv[2] : "gunzip_check.gz";
  enum { DATA = 1 << 20, ROOM = 3 << 20 };
  uint8_t *data = malloc(DATA), *file = malloc(ROOM), *inflated = malloc(DATA + 1);
  for (unsigned round = 0; round < rounds; round++) {
    size_t length = next_random() % DATA, size = 0;
    for (size_t i = 0; i < length; i++) data[i] = (uint8_t)(i % 5 == 0 ? next_random() : i);
    /* One to three members splitting the data, some stored, some compressed. */
    unsigned members = 1 + next_random() % 3;
    size_t from = 0;
    for (unsigned m = 0; m < members; m++) {
      size_t to = m + 1 == members ? length : from + next_random() % (length - from + 1);
      size += gzip_member(data + from, to - from, file + size, ROOM - size, (int)(next_random() % 10));
      from = to;
    }
    if (next_random() % 4 == 0) {
      size_t padding = next_random() % 300000;
      memset(file + size, 0, padding);
      size += padding;
    }
    int damaged = next_random() % 2;
    if (damaged) {
      if (next_random() % 2) size = next_random() % (size + 1);
      for (unsigned flips = next_random() % 4; flips > 0 && size > 0; flips--) file[next_random() % size] ^= (uint8_t)(1u << next_random() % 8);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(file, 1, size, f) != size || fclose(f) != 0) return fail("cannot write the file", round);
    FILE *r = fopen(path, "rb");
    np_gunzip *g = np_gunzip_open(fileno(r));
    size_t got = 0;
    int was_short = 0;
    for (;;) {
      size_t want = 1 + next_random() % (next_random() % 2 ? 70000 : 7);
      uint8_t *window = malloc(want);
      long n = np_gunzip_read(g, window, want);
      if (n < 0 || (size_t)n > want) return fail("read out of range", round);
      if (was_short && n > 0) return fail("a short read before the end", round);
      was_short = (size_t)n < want;
      if (got + (size_t)n <= DATA) memcpy(inflated + got, window, (size_t)n);
      got += (size_t)n;
      free(window);
      if (n == 0) break;
    }
    const char *damage = np_gunzip_damage(g);
    if (np_gunzip_file_bytes_read(g) > size) return fail("read past the file's end", round);
    if (!damaged && (damage || got != length || memcmp(inflated, data, length) != 0)) return fail("a whole file inflated wrong", round);
    if (damaged && !damage && (got != length || memcmp(inflated, data, length) != 0)) return fail("damage inflated wrong without a word", round);
    np_gunzip_close(g);
    fclose(r);
  }
  unlink(path);
  printf("%u files inflated\n", rounds);
  free(data);
  free(file);
  free(inflated);
  return 0;
}
