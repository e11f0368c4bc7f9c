#include "CByteMask.h"

#include <stddef.h>

#include "XXH64Fold.h"

#if defined(__x86_64__) && defined(__SSE2__)
#define SMTPSCOPE_X86_64 1
#include <immintrin.h>
#endif

#define CR 0x0D
#define LF 0x0A

/// Bytes after a `\r\n` that end a plain run: each may begin a terminator, a near miss, a
/// dot-stuffed line or a NUL-prefixed candidate, which the scanner's byte machines read.
static const uint8_t beginsSomething[256] = {[0x00] = 1, [LF] = 1, [CR] = 1, ['.'] = 1};

/// `b[p...]` starts with `\r\n` and an ordinary byte; the caller knows all three are there.
static inline __attribute__((always_inline)) int is_plain_line_end(const uint8_t *b, intptr_t p) {
    uint16_t pair;
    __builtin_memcpy(&pair, b + p, 2);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint16_t crlf = CR | LF << 8;
#else
    const uint16_t crlf = CR << 8 | LF;
#endif
    return pair == crlf && !beginsSomething[b[p + 2]];
}

/// Eight bytes per word (SWAR): a byte is a candidate when its top five bits are 00001; the
/// flags are exact (no borrow runs from one byte into the next), then gathered by a multiply.
static inline __attribute__((always_inline)) uint64_t mask_scalar(const uint8_t *p) {
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7FULL;
    uint64_t mask = 0;
    for (int k = 0; k < 64; k += 8) {
        uint64_t w;
        __builtin_memcpy(&w, p + k, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        uint64_t x = (w & 0xF8F8F8F8F8F8F8F8ULL) ^ 0x0808080808080808ULL;  // 0 where a candidate
        uint64_t zero = ~(((x & low7) + low7) | x | low7);  // 0x80 in each zero byte
        mask |= (((zero >> 7) * 0x0102040810204080ULL) >> 56) << k;
    }
    return mask;
}

#if SMTPSCOPE_X86_64
/// One compare and movemask per 16 bytes.
static inline __attribute__((always_inline)) uint64_t mask_sse2(const uint8_t *p) {
    const __m128i seven = _mm_set1_epi8(0x07);
    const __m128i fifteen = _mm_set1_epi8(0x0F);
    const __m128i *v = (const __m128i *)p;
    uint64_t m0 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(_mm_loadu_si128(v), seven), fifteen));
    uint64_t m1 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(_mm_loadu_si128(v + 1), seven), fifteen));
    uint64_t m2 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(_mm_loadu_si128(v + 2), seven), fifteen));
    uint64_t m3 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(_mm_loadu_si128(v + 3), seven), fifteen));
    return m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
}

/// The same per 32 bytes: half the instructions of SSE2.
static inline __attribute__((always_inline, target("avx2,bmi"))) uint64_t mask_avx2(const uint8_t *p) {
    const __m256i seven = _mm256_set1_epi8(0x07);
    const __m256i fifteen = _mm256_set1_epi8(0x0F);
    const __m256i *v = (const __m256i *)p;
    uint64_t low = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256(v), seven), fifteen));
    uint64_t high = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256(v + 1), seven), fifteen));
    return low | (high << 32);
}
#endif

/// Goes through the candidates in `mask` (bit k is byte `at + k`) in order. Returns the index
/// of the first line break that is no plain line end, or -1; `*reached` is set past the last
/// plain line end (whose `\n` and next byte may lie beyond the block).
static inline __attribute__((always_inline)) intptr_t walk(
    const uint8_t *b, intptr_t at, uint64_t mask, intptr_t *reached) {
    while (mask != 0) {
        intptr_t p = at + __builtin_ctzll(mask);
        if (is_plain_line_end(b, p)) {
            // Drops the `\r` and its `\n` (when in this block). The byte after them is either no
            // candidate or a tab-like one, which the next turn lets pass.
            mask &= mask - 1;
            mask &= mask - 1;
            *reached = p + 3;
        } else if (b[p] == CR || b[p] == LF) {
            return p;
        } else {
            mask &= mask - 1;  // a tab or another control byte: content
        }
    }
    return -1;
}

/// The plain run with `mask_of` for 64-byte blocks. Every block ends at least 2 bytes before
/// the chunk's end, so a line end found in one is checked in place. `j` stays in
/// `start...count`: no index arithmetic overflows.
/// With `fold` (then `state` too), each block's bytes are hashed once the block is read.
static inline __attribute__((always_inline)) intptr_t plain_run(
    const uint8_t *b, intptr_t start, intptr_t n, uint64_t (*mask_of)(const uint8_t *),
    smtpscope_folder *fold, smtpscope_xxh64 *state) {
    intptr_t j = start;
    if (n >= 66) {
        for (;;) {
            // With `fold`, the blocks stop each time a group of stripes waits to be hashed,
            // so the loop tests one bound per block.
            intptr_t bound = n - 66;
            const intptr_t group = 32 * SMTPSCOPE_FOLD_STRIPES;
            if (fold && fold->next + group - 1 < bound) bound = fold->next + group - 1;
            while (j <= bound) {
                intptr_t reached = j;
                intptr_t stop = walk(b, j, mask_of(b + j), &reached);
                if (stop >= 0) return stop;
                j = reached > j + 64 ? reached : j + 64;
            }
            if (j > n - 66) break;
            smtpscope_folder_fold(fold, state, SMTPSCOPE_FOLD_STRIPES);
        }
        // The last block, 2 bytes before the end, overlaps bytes already read (`j` is 1...63
        // past its start): their bits are dropped.
        if (j < n - 2) {
            intptr_t last = n - 66;
            intptr_t reached = j;
            uint64_t mask = mask_of(b + last) & (~(uint64_t)0 << (j - last));
            intptr_t stop = walk(b, last, mask, &reached);
            if (stop >= 0) return stop;
            j = reached > n - 2 ? reached : n - 2;
        }
    }
    // The last two bytes, or a chunk under 66 bytes, byte by byte.
    while (j < n) {
        uint8_t c = b[j];
        if (c == CR || c == LF) {
            if (j + 2 < n && is_plain_line_end(b, j)) {
                j += 3;
            } else {
                return j;
            }
        } else {
            j += 1;
        }
    }
    return n;
}

/// The hashing run: the plain run, then what remains of it after the last block.
static inline __attribute__((always_inline)) intptr_t plain_run_hashing(
    const uint8_t *b, intptr_t start, intptr_t n, uint64_t (*mask_of)(const uint8_t *), smtpscope_xxh64 *state) {
    smtpscope_folder fold = smtpscope_folder_begin(state, b, start);
    intptr_t end = plain_run(b, start, n, mask_of, &fold, state);
    smtpscope_folder_finish(&fold, state, end);
    return end;
}

static intptr_t run_scalar(const uint8_t *b, intptr_t start, intptr_t n) {
    return plain_run(b, start, n, mask_scalar, NULL, NULL);
}

static intptr_t run_hashing_scalar(const uint8_t *b, intptr_t start, intptr_t n, smtpscope_xxh64 *state) {
    return plain_run_hashing(b, start, n, mask_scalar, state);
}

#if SMTPSCOPE_X86_64
static intptr_t run_sse2(const uint8_t *b, intptr_t start, intptr_t n) {
    return plain_run(b, start, n, mask_sse2, NULL, NULL);
}

static intptr_t run_hashing_sse2(const uint8_t *b, intptr_t start, intptr_t n, smtpscope_xxh64 *state) {
    return plain_run_hashing(b, start, n, mask_sse2, state);
}

/// With BMI1 too (`blsr` clears a mask's lowest bit): every CPU with AVX2 has it.
__attribute__((target("avx2,bmi"))) static intptr_t run_avx2(const uint8_t *b, intptr_t start, intptr_t n) {
    return plain_run(b, start, n, mask_avx2, NULL, NULL);
}

__attribute__((target("avx2,bmi"))) static intptr_t run_hashing_avx2(
    const uint8_t *b, intptr_t start, intptr_t n, smtpscope_xxh64 *state) {
    return plain_run_hashing(b, start, n, mask_avx2, state);
}
#endif

/// The level detected once (-1 before); a relaxed atomic, as every thread finds the same value.
static int detected = -1;

int smtpscope_scan_level(void) {
    int level = __atomic_load_n(&detected, __ATOMIC_RELAXED);
    if (level < 0) {
#if SMTPSCOPE_X86_64
        __builtin_cpu_init();
        // "avx2" is true only when the OS saves the YMM registers too.
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi");
        level = avx2 ? SMTPSCOPE_SCAN_AVX2 : SMTPSCOPE_SCAN_SSE2;
#else
        level = SMTPSCOPE_SCAN_SCALAR;
#endif
        __atomic_store_n(&detected, level, __ATOMIC_RELAXED);
    }
    return level;
}

/// `level`, lowered to what this CPU has.
static inline int usable(int level) {
    int best = smtpscope_scan_level();
    return level < best ? level : best;
}

intptr_t smtpscope_plain_run_at_level(int level, const void *bytes, intptr_t start, intptr_t count) {
    if (bytes == NULL || start < 0 || start >= count) return count;
    const uint8_t *b = (const uint8_t *)bytes;
    switch (usable(level)) {
#if SMTPSCOPE_X86_64
    case SMTPSCOPE_SCAN_AVX2: return run_avx2(b, start, count);
    case SMTPSCOPE_SCAN_SSE2: return run_sse2(b, start, count);
#endif
    default: return run_scalar(b, start, count);
    }
}

typedef intptr_t (*run_function)(const uint8_t *b, intptr_t start, intptr_t n);

/// The run of the detected level, chosen at the first call (relaxed, as for `detected`).
static run_function chosen = NULL;

intptr_t smtpscope_plain_run(const void *bytes, intptr_t start, intptr_t count) {
    if (bytes == NULL || start < 0 || start >= count) return count;
    run_function run = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (run == NULL) {
        switch (smtpscope_scan_level()) {
#if SMTPSCOPE_X86_64
        case SMTPSCOPE_SCAN_AVX2: run = run_avx2; break;
        case SMTPSCOPE_SCAN_SSE2: run = run_sse2; break;
#endif
        default: run = run_scalar; break;
        }
        __atomic_store_n(&chosen, run, __ATOMIC_RELAXED);
    }
    return run((const uint8_t *)bytes, start, count);
}

typedef intptr_t (*hashing_function)(const uint8_t *b, intptr_t start, intptr_t n, smtpscope_xxh64 *state);

static hashing_function hashing_at(int level) {
    switch (usable(level)) {
#if SMTPSCOPE_X86_64
    case SMTPSCOPE_SCAN_AVX2: return run_hashing_avx2;
    case SMTPSCOPE_SCAN_SSE2: return run_hashing_sse2;
#endif
    default: return run_hashing_scalar;
    }
}

/// As `chosen`, for the hashing run.
static hashing_function chosen_hashing = NULL;

intptr_t smtpscope_plain_run_hashing(const void *bytes, intptr_t start, intptr_t count, smtpscope_xxh64 *state) {
    if (bytes == NULL || state == NULL || start < 0 || start >= count) return count;
    hashing_function run = __atomic_load_n(&chosen_hashing, __ATOMIC_RELAXED);
    if (run == NULL) {
        run = hashing_at(SMTPSCOPE_SCAN_AVX2);
        __atomic_store_n(&chosen_hashing, run, __ATOMIC_RELAXED);
    }
    return run((const uint8_t *)bytes, start, count, state);
}

intptr_t smtpscope_plain_run_hashing_at_level(
    int level, const void *bytes, intptr_t start, intptr_t count, smtpscope_xxh64 *state) {
    if (bytes == NULL || state == NULL || start < 0 || start >= count) return count;
    return hashing_at(level)((const uint8_t *)bytes, start, count, state);
}

#if SMTPSCOPE_X86_64
__attribute__((target("avx2,bmi"))) static uint64_t candidates_avx2(const uint8_t *p) { return mask_avx2(p); }
#endif

uint64_t smtpscope_line_break_candidates64(int level, const void *p) {
    const uint8_t *b = (const uint8_t *)p;
    switch (usable(level)) {
#if SMTPSCOPE_X86_64
    case SMTPSCOPE_SCAN_AVX2: return candidates_avx2(b);
    case SMTPSCOPE_SCAN_SSE2: return mask_sse2(b);
#endif
    default: return mask_scalar(b);
    }
}
