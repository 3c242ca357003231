/*
 * A gzip file inflated as it is read, for the capture readers (recorder/import/gzip.ts): one or
 * several members (as `cat a.gz b.gz` makes), zero padding after the last ignored (as gzip does),
 * inflated straight into the caller's buffer — memory is one compressed piece and zlib's window,
 * whatever the file's size or ratio.
 */
#ifndef NP_GUNZIP_H
#define NP_GUNZIP_H

#include <stddef.h>
#include <stdint.h>

typedef struct np_gunzip np_gunzip;

/* Reads the gzip data of `fd` (left open: the caller's) from offset 0; NULL when out of memory. */
np_gunzip *np_gunzip_open(int fd);

/*
 * Inflates up to `want` bytes into `out`: how many it wrote, fewer than `want` only at the end,
 * 0 once ended (np_gunzip_damage then says whether it ended early). -1: reading the file failed
 * (errno says why).
 */
long np_gunzip_read(np_gunzip *g, unsigned char *out, size_t want);

/* Why the data ended before its end — cut short, corrupt — naming compressed offsets; NULL if whole. */
const char *np_gunzip_damage(const np_gunzip *g);

/* Bytes of the file read so far. */
uint64_t np_gunzip_file_bytes_read(const np_gunzip *g);

void np_gunzip_close(np_gunzip *g);

#endif
