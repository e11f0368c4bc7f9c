// SHA-1 block compression with the x86 SHA extensions (the instruction sequence of Intel's
// "New Instructions Supporting the Secure Hash Algorithm on Intel Architecture Processors",
// 2013): four rounds per `sha1rnds4`, the message schedule with `sha1msg1`/`sha1msg2`.
// Community ID hashes one block per flow; this is ~10x fewer cycles than the portable rounds.
#include "CSHA1.h"

#if defined(__x86_64__)
#include <immintrin.h>

static int detected = -1;

int smtpscope_sha1_has_shani(void) {
    int has = __atomic_load_n(&detected, __ATOMIC_RELAXED);
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("sha") && __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1");
        __atomic_store_n(&detected, has, __ATOMIC_RELAXED);
    }
    return has;
}

// Four rounds: group `i` (0..19) with round function `f` (i / 5). `w[i % 4]` holds the
// group's four schedule words (the first in the highest lane); from group 4 on it is made
// from the four before it. `previous` is the state before the last group: its `a` rotated
// is this group's `e` (`sha1nexte`).
#define GROUP(i, f)                                                                                      \
    do {                                                                                                 \
        if ((i) >= 4) {                                                                                  \
            w[(i) % 4] = _mm_sha1msg2_epu32(                                                             \
                _mm_xor_si128(_mm_sha1msg1_epu32(w[(i) % 4], w[((i) + 1) % 4]), w[((i) + 2) % 4]),       \
                w[((i) + 3) % 4]);                                                                       \
        }                                                                                                \
        if ((i) > 0) e = _mm_sha1nexte_epu32(previous, w[(i) % 4]);                                      \
        previous = abcd;                                                                                 \
        abcd = _mm_sha1rnds4_epu32(abcd, e, f);                                                          \
    } while (0)

__attribute__((target("sha,ssse3,sse4.1")))
void smtpscope_sha1_blocks_shani(uint32_t state[5], const void *data, intptr_t blocks) {
    // Reverses a block's 16 bytes: each word big-endian, the first word in the highest lane.
    const __m128i reverse = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)state), 0x1B);
    __m128i e0 = _mm_set_epi32((int)state[4], 0, 0, 0);
    const uint8_t *bytes = (const uint8_t *)data;
    for (intptr_t block = 0; block < blocks; block++, bytes += 64) {
        const __m128i abcdBefore = abcd;
        const __m128i eBefore = e0;
        __m128i w[4];
        for (int k = 0; k < 4; k++) w[k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(bytes + 16 * k)), reverse);
        __m128i e = _mm_add_epi32(e0, w[0]);
        __m128i previous = abcd;
        GROUP(0, 0); GROUP(1, 0); GROUP(2, 0); GROUP(3, 0); GROUP(4, 0);
        GROUP(5, 1); GROUP(6, 1); GROUP(7, 1); GROUP(8, 1); GROUP(9, 1);
        GROUP(10, 2); GROUP(11, 2); GROUP(12, 2); GROUP(13, 2); GROUP(14, 2);
        GROUP(15, 3); GROUP(16, 3); GROUP(17, 3); GROUP(18, 3); GROUP(19, 3);
        e0 = _mm_sha1nexte_epu32(previous, eBefore);
        abcd = _mm_add_epi32(abcd, abcdBefore);
    }
    _mm_storeu_si128((__m128i *)state, _mm_shuffle_epi32(abcd, 0x1B));
    state[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}

#else

int smtpscope_sha1_has_shani(void) { return 0; }

void smtpscope_sha1_blocks_shani(uint32_t state[5], const void *data, intptr_t blocks) {
    (void)state; (void)data; (void)blocks;
}

#endif
