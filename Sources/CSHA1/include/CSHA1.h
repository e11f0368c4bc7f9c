#ifndef SMTPSCOPE_CSHA1_H
#define SMTPSCOPE_CSHA1_H

#include <stdint.h>

/// Whether this CPU has the SHA extensions (SHA-NI) and SSSE3/SSE4.1, which
/// `smtpscope_sha1_blocks_shani` needs (detected once; 0 on other architectures).
int smtpscope_sha1_has_shani(void);

/// SHA-1's compression of `blocks` 64-byte blocks at `data` into `state` (a, b, c, d, e),
/// with the SHA-NI instructions. Call only when `smtpscope_sha1_has_shani()` is 1.
void smtpscope_sha1_blocks_shani(uint32_t state[5], const void *data, intptr_t blocks);

#endif
