#define _XOPEN_SOURCE 700 /* pread */
#include "np_gunzip.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

/* Compressed bytes per read(2): large enough that system calls cost nothing beside inflating. */
#define PIECE (256 * 1024)

enum state {
  IN_MEMBER,     /* inside a member, or before the first */
  AFTER_MEMBER,  /* a member ended: another follows, or zero padding, or the end */
  IN_PADDING,    /* zeros after the last member: nothing else may follow */
  ENDED,
};

struct np_gunzip {
  z_stream z;
  int fd;
  enum state state;
  uint64_t piece_at; /* file offset of piece[0] */
  uint64_t file_at;  /* next offset to read */
  char damage[200];
  unsigned char piece[PIECE];
};

np_gunzip *np_gunzip_open(int fd) {
  np_gunzip *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  /* 16 + 15: gzip framing only (a zlib or raw deflate stream is not a .gz), the largest window. */
  if (inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
    free(g);
    return NULL;
  }
  g->fd = fd;
  return g;
}

static uint64_t consumed_to(const np_gunzip *g) {
  return g->piece_at + (uint64_t)(g->z.next_in - g->piece);
}

static void end_damaged(np_gunzip *g, uint64_t from, const char *why) {
  uint64_t to = consumed_to(g);
  snprintf(g->damage, sizeof g->damage, "gzip stream is corrupt in compressed bytes %llu..%llu (%s)",
           (unsigned long long)from, (unsigned long long)(to > from ? to : from + 1), why);
  g->state = ENDED;
}

/* 1: input is ready; 0: the file has ended; -1: the read failed. */
static int refill(np_gunzip *g) {
  ssize_t n;
  do n = pread(g->fd, g->piece, PIECE, (off_t)g->file_at);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return (int)n;
  g->z.next_in = g->piece;
  g->z.avail_in = (uInt)n;
  g->piece_at = g->file_at;
  g->file_at += (uint64_t)n;
  return 1;
}

/* After a member: the next byte starts another, or zero padding begins. */
static void after_member(np_gunzip *g) {
  if (*g->z.next_in == 0) {
    g->state = IN_PADDING;
    return;
  }
  inflateReset(&g->z);
  g->state = IN_MEMBER;
}

static void in_padding(np_gunzip *g) {
  while (g->z.avail_in > 0 && *g->z.next_in == 0) {
    g->z.next_in++;
    g->z.avail_in--;
  }
  if (g->z.avail_in > 0) end_damaged(g, consumed_to(g), "data after the zero padding that ends it");
}

static void inflate_some(np_gunzip *g) {
  uint64_t from = consumed_to(g);
  int rc = inflate(&g->z, Z_NO_FLUSH);
  if (rc == Z_STREAM_END) g->state = AFTER_MEMBER;
  else if (rc == Z_NEED_DICT) end_damaged(g, from, "asks for a preset dictionary");
  else if (rc == Z_MEM_ERROR) end_damaged(g, from, "out of memory");
  else if (rc != Z_OK && rc != Z_BUF_ERROR) end_damaged(g, from, g->z.msg ? g->z.msg : "zlib error");
}

long np_gunzip_read(np_gunzip *g, unsigned char *out, size_t want) {
  g->z.next_out = out;
  g->z.avail_out = want > UINT_MAX ? UINT_MAX : (uInt)want;
  uInt asked = g->z.avail_out;
  while (g->z.avail_out > 0 && g->state != ENDED) {
    if (g->z.avail_in == 0) {
      int got = refill(g);
      if (got < 0) return -1;
      if (got == 0) {
        if (g->state == IN_MEMBER)
          snprintf(g->damage, sizeof g->damage, "gzip stream ends early (compressed offset %llu)", (unsigned long long)g->file_at);
        g->state = ENDED;
        break;
      }
    }
    if (g->state == AFTER_MEMBER) after_member(g);
    if (g->state == IN_PADDING) in_padding(g);
    else inflate_some(g);
  }
  return (long)(asked - g->z.avail_out);
}

const char *np_gunzip_damage(const np_gunzip *g) {
  return g->damage[0] ? g->damage : NULL;
}

uint64_t np_gunzip_file_bytes_read(const np_gunzip *g) {
  return g->file_at;
}

void np_gunzip_close(np_gunzip *g) {
  if (!g) return;
  inflateEnd(&g->z);
  free(g);
}
