#ifndef FERRY_CLINUX_SHIM_H
#define FERRY_CLINUX_SHIM_H

/* Linux calls that Swift's Glibc module leaves out (they sit behind _GNU_SOURCE). */

/* syncfs(2): flushes the whole file system that holds fd; glibc 2.14 and later. */
int syncfs(int fd);

#include <stdint.h>

/* sync_file_range(2): starts or waits for writeback of part of a file; glibc 2.6. */
int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags);

/* Its flag that starts writeback of the range's dirty pages without waiting. */
enum { FERRY_SYNC_FILE_RANGE_WRITE = 2 };

#endif
