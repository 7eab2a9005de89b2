#ifndef FERRY_CLINUX_SHIM_H
#define FERRY_CLINUX_SHIM_H

/* Linux calls that Swift's Glibc module leaves out (they sit behind _GNU_SOURCE). */

/* syncfs(2): flushes the whole file system that holds fd; glibc 2.14 and later. */
int syncfs(int fd);

#endif
