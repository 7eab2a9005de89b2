#ifndef FERRY_CBROTLI_SHIM_H
#define FERRY_CBROTLI_SHIM_H
#include <brotli/decode.h>
#include <brotli/encode.h>
#endif
