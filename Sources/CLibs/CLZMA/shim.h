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
static const uint32_t FERRY_LZMA_CONCATENATED = LZMA_CONCATENATED;
static const uint32_t FERRY_LZMA_DICT_SIZE_MIN = LZMA_DICT_SIZE_MIN;

/* The one-filter chain (LZMA2 with `options`) of an .xz stream: the filter ids are
   UINT64_C macros Swift does not import. */
static inline lzma_ret ferry_lzma2_stream_encoder(lzma_stream *stream, lzma_options_lzma *options) {
    lzma_filter filters[2] = { { LZMA_FILTER_LZMA2, options }, { LZMA_VLI_UNKNOWN, NULL } };
    return lzma_stream_encoder(stream, filters, LZMA_CHECK_CRC64);
}

static inline uint64_t ferry_lzma2_encoder_memusage(lzma_options_lzma *options) {
    lzma_filter filters[2] = { { LZMA_FILTER_LZMA2, options }, { LZMA_VLI_UNKNOWN, NULL } };
    return lzma_raw_encoder_memusage(filters);
}

#endif
