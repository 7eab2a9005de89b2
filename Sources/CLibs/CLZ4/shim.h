#ifndef FERRY_CLZ4_SHIM_H
#define FERRY_CLZ4_SHIM_H
#include <lz4frame.h>

/* LZ4F_VERSION is a plain macro; kept here so Swift sees it as a constant. */
static const unsigned FERRY_LZ4F_VERSION = LZ4F_VERSION;
#endif
