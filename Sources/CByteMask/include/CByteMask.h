#ifndef SMTPSCOPE_CBYTEMASK_H
#define SMTPSCOPE_CBYTEMASK_H

#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// Bit k set when byte k of the 64 bytes at `p` lies in 0x08...0x0F (`\r`, `\n` and six
/// control bytes rare in mail, tab among them): the line-break candidates of a message body.
/// One SSE2 compare and movemask per 16 bytes; Swift's SIMD types cannot reach movemask, so
/// this one instruction is the whole reason for this header. `p` needs no alignment.
static inline uint64_t smtpscope_line_break_candidates64(const void *p) {
#if defined(__SSE2__)
    const __m128i seven = _mm_set1_epi8(0x07);
    const __m128i fifteen = _mm_set1_epi8(0x0F);
    const __m128i *v = (const __m128i *)p;
    uint64_t m0 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(_mm_loadu_si128(v), seven), fifteen));
    uint64_t m1 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(_mm_loadu_si128(v + 1), seven), fifteen));
    uint64_t m2 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(_mm_loadu_si128(v + 2), seven), fifteen));
    uint64_t m3 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(_mm_loadu_si128(v + 3), seven), fifteen));
    return m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
#else
    const unsigned char *b = (const unsigned char *)p;
    uint64_t mask = 0;
    for (int k = 0; k < 64; k++) mask |= (uint64_t)((b[k] | 0x07) == 0x0F) << k;
    return mask;
#endif
}

#endif
