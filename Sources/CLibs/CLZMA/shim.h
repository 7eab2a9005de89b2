#ifndef FERRY_CLZMA_SHIM_H
#define FERRY_CLZMA_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <lzma.h>

/* LZMA_STREAM_INIT is an initializer macro Swift cannot import. */
static inline lzma_stream ferry_lzma_stream_init(void) {
    lzma_stream s = LZMA_STREAM_INIT;
    return s;
}

/* Constants defined through UINT32_C / UINT64_C, which Swift does not import. */
static const uint32_t FERRY_LZMA_PRESET_DEFAULT = LZMA_PRESET_DEFAULT;
static const uint32_t FERRY_LZMA_PRESET_EXTREME = LZMA_PRESET_EXTREME;
static const uint32_t FERRY_LZMA_CONCATENATED = LZMA_CONCATENATED;
static const uint32_t FERRY_LZMA_TELL_UNSUPPORTED_CHECK = LZMA_TELL_UNSUPPORTED_CHECK;
static const uint64_t FERRY_LZMA_MEMLIMIT_UNLIMITED = UINT64_MAX;

#endif
