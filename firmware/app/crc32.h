#ifndef CRC32_H
#define CRC32_H
#include <stddef.h>
#include <stdint.h>
/* IEEE 802.3 CRC-32 (zlib's crc32), bitwise: no 1 KB table in flash for a few hundred bytes. */
static inline uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}
#endif
