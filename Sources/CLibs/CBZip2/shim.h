#ifndef FERRY_CBZIP2_SHIM_H
#define FERRY_CBZIP2_SHIM_H
/* Debian's libbz2-dev ships no pkg-config file; the header is in /usr/include. */
#include <bzlib.h>
#endif
