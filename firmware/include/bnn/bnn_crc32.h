/*
 * CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320, init and final XOR 0xFFFFFFFF): the value
 * zlib.crc32 computes. Nibble-table implementation: 64 bytes of flash, two lookups per byte.
 */
#ifndef BNN_CRC32_H
#define BNN_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BNN_CRC32_INIT 0u

/* Incremental: crc = bnn_crc32_update(BNN_CRC32_INIT, a, n); crc = bnn_crc32_update(crc, b, m);
 * equals zlib.crc32(a + b), like zlib.crc32(b, zlib.crc32(a)). */
uint32_t bnn_crc32_update(uint32_t crc, const uint8_t *data, size_t len);
uint32_t bnn_crc32(const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* BNN_CRC32_H */
