#ifndef FERRY_CZSTD_SHIM_H
#define FERRY_CZSTD_SHIM_H
#include <stddef.h>
#define ZSTD_STATIC_LINKING_ONLY  /* the memory estimators live in the "experimental" section */
#include <zstd.h>

/* ZSTD_isError's result as a plain int, and the frame-size sentinels as constants. */
static inline int ferry_zstd_is_error(size_t code) { return ZSTD_isError(code) ? 1 : 0; }
static const unsigned long long FERRY_ZSTD_CONTENTSIZE_UNKNOWN = ZSTD_CONTENTSIZE_UNKNOWN;
static const unsigned long long FERRY_ZSTD_CONTENTSIZE_ERROR = ZSTD_CONTENTSIZE_ERROR;

#endif
