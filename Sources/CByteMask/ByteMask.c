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

/// The line breaks of a 64-byte block that are no part of a plain line end (`\r\n` and an
/// ordinary byte): bit k of `cr` for a `\r` at byte k, bit k of `lf` for a `\n` at byte k + 1
/// (bytes 1...64; byte 0's `\n` is the block before's bit 63, or checked before the first
/// block). A plain line end's third byte is no line break, so it needs no bit.
typedef struct {
    uint64_t cr, lf;
} smtpscope_strays;

/// Offset in the block of its first stray line break; one of the masks is not 0.
static inline __attribute__((always_inline)) intptr_t first_stray(smtpscope_strays k) {
    intptr_t cr = k.cr != 0 ? __builtin_ctzll(k.cr) : 64;
    intptr_t lf = k.lf != 0 ? __builtin_ctzll(k.lf) + 1 : 65;
    return cr < lf ? cr : lf;
}

/// Eight bytes per word (SWAR): a byte is a candidate (0x08...0x0F) when its top five bits
/// are 00001; the flags are exact (no borrow runs from one byte into the next), then
/// gathered by a multiply.
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

/// The byte loop (off x86-64 only): each candidate of the block looked at in turn, and byte
/// 64 (a branch per line end: there the branchless test's work costs more than the branches).
static inline __attribute__((always_inline)) smtpscope_strays strays_scalar(const uint8_t *p) {
    smtpscope_strays k = {0, 0};
    for (uint64_t mask = mask_scalar(p); mask != 0; mask &= mask - 1) {
        int at = __builtin_ctzll(mask);
        if (p[at] == CR) {
            if (!is_plain_line_end(p, at)) k.cr |= (uint64_t)1 << at;
        } else if (p[at] == LF && at > 0) {
            if (!(p[at - 1] == CR && is_plain_line_end(p, at - 1))) k.lf |= (uint64_t)1 << (at - 1);
        }
    }
    if (p[64] == LF && !(p[63] == CR && is_plain_line_end(p, 63))) k.lf |= (uint64_t)1 << 63;
    return k;
}

static inline __attribute__((always_inline)) int any_stray_scalar(const uint8_t *p) {
    smtpscope_strays k = strays_scalar(p);
    return (k.cr | k.lf) != 0;
}

#if SMTPSCOPE_X86_64
/// Per 16 bytes: `\r` at `p`, `\n` at `p + 1`, and NUL, `\n`, `\r`, `.` at `p + 2` (four
/// compares: SSE2 has no byte shuffle). Plain: all three; stray: a `\r` or `\n` of those.
static inline __attribute__((always_inline)) smtpscope_strays strays_sse2(const uint8_t *p) {
    const __m128i cr = _mm_set1_epi8(CR), lf = _mm_set1_epi8(LF), dot = _mm_set1_epi8('.');
    smtpscope_strays k = {0, 0};
    for (int i = 0; i < 64; i += 16) {
        __m128i v2 = _mm_loadu_si128((const __m128i *)(p + i + 2));
        __m128i isCR = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), cr);
        __m128i isLF = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i + 1)), lf);
        __m128i special = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v2, _mm_setzero_si128()), _mm_cmpeq_epi8(v2, lf)),
            _mm_or_si128(_mm_cmpeq_epi8(v2, cr), _mm_cmpeq_epi8(v2, dot)));
        __m128i plain = _mm_andnot_si128(special, _mm_and_si128(isCR, isLF));
        k.cr |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_andnot_si128(plain, isCR)) << i;
        k.lf |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_andnot_si128(plain, isLF)) << i;
    }
    return k;
}

static inline __attribute__((always_inline)) int any_stray_sse2(const uint8_t *p) {
    smtpscope_strays k = strays_sse2(p);
    return (k.cr | k.lf) != 0;
}

/// Indexed by a byte's low four bits: the one byte of NUL, `\n`, `\r`, `.` with those bits, or
/// one without them (a byte of 0x80 or more shuffles to 0, equal to none of them either).
#define SMTPSCOPE_SPECIAL_TABLE 0x00, 0x00, 0x03, 0x02, 0x05, 0x04, 0x07, 0x06, \
    0x09, 0x08, LF, 0x0A, 0x0D, CR, '.', 0x0E

/// 32 bytes from `p`: the `\r` at `p`, the `\n` at `p + 1`, and the plain line ends.
typedef struct {
    __m256i cr, lf, plain;
} smtpscope_half;

static inline __attribute__((always_inline, target("avx2"))) smtpscope_half half_avx2(const uint8_t *p) {
    const __m256i table = _mm256_setr_epi8(SMTPSCOPE_SPECIAL_TABLE, SMTPSCOPE_SPECIAL_TABLE);
    __m256i v2 = _mm256_loadu_si256((const __m256i *)(p + 2));
    smtpscope_half h;
    h.cr = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)p), _mm256_set1_epi8(CR));
    h.lf = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + 1)), _mm256_set1_epi8(LF));
    __m256i special = _mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, v2), v2);
    h.plain = _mm256_andnot_si256(special, _mm256_and_si256(h.cr, h.lf));
    return h;
}

/// Per 32 bytes, as SSE2 with one shuffle for the four bytes after `\r\n`.
static inline __attribute__((always_inline, target("avx2"))) smtpscope_strays strays_avx2(const uint8_t *p) {
    smtpscope_strays k = {0, 0};
    for (int i = 0; i < 64; i += 32) {
        smtpscope_half h = half_avx2(p + i);
        k.cr |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_andnot_si256(h.plain, h.cr)) << i;
        k.lf |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_andnot_si256(h.plain, h.lf)) << i;
    }
    return k;
}

/// Whether the block has a stray: one test of both halves' `\r` and `\n` outside plain line
/// ends, no mask moved out of the vector registers.
static inline __attribute__((always_inline, target("avx2"))) int any_stray_avx2(const uint8_t *p) {
    smtpscope_half a = half_avx2(p), b = half_avx2(p + 32);
    __m256i stray = _mm256_or_si256(_mm256_andnot_si256(a.plain, _mm256_or_si256(a.cr, a.lf)),
                                    _mm256_andnot_si256(b.plain, _mm256_or_si256(b.cr, b.lf)));
    return !_mm256_testz_si256(stray, stray);
}

/// AVX-512 on 256-bit registers only (`no-evex512`: the compiler would otherwise join two
/// halves' masks in a 512-bit one): F and VL for `vpternlog` and 64-bit rotates, DQ for 64-bit
/// multiplies, BW for byte masks (every CPU with VL and DQ has it).
#define SMTPSCOPE_AVX512 "avx2,avx512f,avx512bw,avx512dq,avx512vl,bmi,no-evex512"

/// Per 32 bytes, the AVX2 compares: `\r` at `p` (a), `\n` at `p + 1` (b), a byte after `\r\n`
/// that ends a plain run at `p + 2` (c); the strays then come from all three in one three-input
/// logic instruction (`vpternlog`, AVX-512 F and VL). No mask registers: on Zen 4 their logic
/// instructions share one port, and 512-bit compares take two passes (both builds ran slower).
typedef struct {
    __m256i cr, lf, special;
} smtpscope_compares;

static inline __attribute__((always_inline, target(SMTPSCOPE_AVX512))) smtpscope_compares compares_avx512(const uint8_t *p) {
    const __m256i table = _mm256_setr_epi8(SMTPSCOPE_SPECIAL_TABLE, SMTPSCOPE_SPECIAL_TABLE);
    __m256i v2 = _mm256_loadu_si256((const __m256i *)(p + 2));
    smtpscope_compares c;
    c.cr = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)p), _mm256_set1_epi8(CR));
    c.lf = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + 1)), _mm256_set1_epi8(LF));
    c.special = _mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, v2), v2);
    return c;
}

/// Truth tables (bit 4a + 2b + c): a stray `\r`, a & ~(b & ~c); a stray `\n`, b & ~(a & ~c);
/// either, (a | b) & ~(a & b & ~c).
#define SMTPSCOPE_STRAY_CR 0xB0
#define SMTPSCOPE_STRAY_LF 0x8C
#define SMTPSCOPE_STRAY_ANY 0xBC

static inline __attribute__((always_inline, target(SMTPSCOPE_AVX512))) smtpscope_strays strays_avx512(const uint8_t *p) {
    smtpscope_strays k = {0, 0};
    for (int i = 0; i < 64; i += 32) {
        smtpscope_compares c = compares_avx512(p + i);
        __m256i cr = _mm256_ternarylogic_epi32(c.cr, c.lf, c.special, SMTPSCOPE_STRAY_CR);
        __m256i lf = _mm256_ternarylogic_epi32(c.cr, c.lf, c.special, SMTPSCOPE_STRAY_LF);
        k.cr |= (uint64_t)(uint32_t)_mm256_movemask_epi8(cr) << i;
        k.lf |= (uint64_t)(uint32_t)_mm256_movemask_epi8(lf) << i;
    }
    return k;
}

/// Whether the block has a stray: one logic instruction per half, one test.
static inline __attribute__((always_inline, target(SMTPSCOPE_AVX512))) int any_stray_avx512(const uint8_t *p) {
    smtpscope_compares a = compares_avx512(p), b = compares_avx512(p + 32);
    __m256i stray = _mm256_or_si256(_mm256_ternarylogic_epi32(a.cr, a.lf, a.special, SMTPSCOPE_STRAY_ANY),
                                    _mm256_ternarylogic_epi32(b.cr, b.lf, b.special, SMTPSCOPE_STRAY_ANY));
    return !_mm256_testz_si256(stray, stray);
}
#endif

typedef int (*any_function)(const uint8_t *);
typedef smtpscope_strays (*strays_function)(const uint8_t *);

/// The last two bytes, or a chunk under 66 bytes, byte by byte from `j`, whose `\n` (if it is
/// one) is known to end a plain line end.
static inline __attribute__((always_inline)) intptr_t plain_tail(const uint8_t *b, intptr_t j, intptr_t n) {
    if (j < n && b[j] == LF) j += 1;
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

/// The last block, 2 bytes before the end, overlapping bytes already read (`*j` is 0...63 past
/// its start): their bits are dropped. Returns the stop, or -1 with `*j` at the last two bytes.
static inline __attribute__((always_inline)) intptr_t last_block(
    const uint8_t *b, intptr_t *j, intptr_t n, strays_function strays_of) {
    intptr_t last = n - 66;
    smtpscope_strays k = strays_of(b + last);
    uint64_t keep = ~(uint64_t)0 << (*j - last);
    k.cr &= keep;
    k.lf &= keep;
    if ((k.cr | k.lf) != 0) return last + first_stray(k);
    *j = n - 2;
    return -1;
}

/// The plain run, 64-byte blocks at a time: `any_of` tells whether a block has a stray line
/// break (no branch on the plain line ends it holds), `strays_of` where. Every block ends at
/// least 2 bytes before the chunk's end, so the bytes after its line ends are there to read.
/// `j` stays in `start...count`: no index arithmetic overflows. With `fold` (then `state`
/// too), each block's bytes are hashed once the block is read.
static inline __attribute__((always_inline)) intptr_t plain_run(
    const uint8_t *b, intptr_t start, intptr_t n, any_function any_of, strays_function strays_of,
    smtpscope_folder *fold, smtpscope_xxh64 *state) {
    intptr_t j = start;
    // A `\n` first is stray: the blocks check each `\n` after the first byte.
    if (b[j] == LF) return j;
    if (n >= 66) {
        for (;;) {
            // With `fold`, the blocks stop each time a group of stripes waits to be hashed,
            // so the loop tests one bound per block.
            intptr_t bound = n - 66;
            const intptr_t group = 32 * SMTPSCOPE_FOLD_STRIPES;
            if (fold && fold->next + group - 1 < bound) bound = fold->next + group - 1;
            while (j <= bound) {
                if (any_of(b + j)) return j + first_stray(strays_of(b + j));
                j += 64;
            }
            if (j > n - 66) break;
            smtpscope_folder_fold(fold, state, SMTPSCOPE_FOLD_STRIPES);
        }
        if (j < n - 2) {
            intptr_t stop = last_block(b, &j, n, strays_of);
            if (stop >= 0) return stop;
        }
    }
    return plain_tail(b, j, n);
}

/// The hashing run: the plain run, then what remains of it after the last block.
static inline __attribute__((always_inline)) intptr_t plain_run_hashing(
    const uint8_t *b, intptr_t start, intptr_t n, any_function any_of, strays_function strays_of,
    smtpscope_xxh64 *state) {
    smtpscope_folder fold = smtpscope_folder_begin(state, b, start);
    intptr_t end = plain_run(b, start, n, any_of, strays_of, &fold, state);
    smtpscope_folder_finish(&fold, state, end);
    return end;
}

static intptr_t run_scalar(const uint8_t *b, intptr_t start, intptr_t n) {
    return plain_run(b, start, n, any_stray_scalar, strays_scalar, NULL, NULL);
}

static intptr_t run_hashing_scalar(const uint8_t *b, intptr_t start, intptr_t n, smtpscope_xxh64 *state) {
    return plain_run_hashing(b, start, n, any_stray_scalar, strays_scalar, state);
}

#if SMTPSCOPE_X86_64
static intptr_t run_sse2(const uint8_t *b, intptr_t start, intptr_t n) {
    return plain_run(b, start, n, any_stray_sse2, strays_sse2, NULL, NULL);
}

static intptr_t run_hashing_sse2(const uint8_t *b, intptr_t start, intptr_t n, smtpscope_xxh64 *state) {
    return plain_run_hashing(b, start, n, any_stray_sse2, strays_sse2, state);
}

__attribute__((target("avx2,bmi"))) static intptr_t run_avx2(const uint8_t *b, intptr_t start, intptr_t n) {
    return plain_run(b, start, n, any_stray_avx2, strays_avx2, NULL, NULL);
}

__attribute__((target("avx2,bmi"))) static intptr_t run_hashing_avx2(
    const uint8_t *b, intptr_t start, intptr_t n, smtpscope_xxh64 *state) {
    return plain_run_hashing(b, start, n, any_stray_avx2, strays_avx2, state);
}

__attribute__((target(SMTPSCOPE_AVX512))) static intptr_t run_avx512(const uint8_t *b, intptr_t start, intptr_t n) {
    return plain_run(b, start, n, any_stray_avx512, strays_avx512, NULL, NULL);
}

/// One XXH64 stripe into the four lanes of one register: a 64-bit multiply per lane (AVX-512
/// has it, AVX2 has not) and a rotate.
static inline __attribute__((always_inline, target(SMTPSCOPE_AVX512))) __m256i stripe_x4(__m256i acc, const uint8_t *p) {
    const __m256i p1 = _mm256_set1_epi64x((long long)SMTPSCOPE_P1), p2 = _mm256_set1_epi64x((long long)SMTPSCOPE_P2);
    acc = _mm256_add_epi64(acc, _mm256_mullo_epi64(_mm256_loadu_si256((const __m256i *)p), p2));
    return _mm256_mullo_epi64(_mm256_rol_epi64(acc, 31), p1);
}

/// The hashing run with the lanes in a register: each block's scan, then the 64 bytes at
/// `next` (a fixed distance behind `j`: the stripes keep the state's alignment) hashed at once.
/// The lanes' chain of add, rotate and multiply sets the pace; the scan runs beside it.
__attribute__((target(SMTPSCOPE_AVX512))) static intptr_t run_hashing_avx512(
    const uint8_t *b, intptr_t start, intptr_t n, smtpscope_xxh64 *state) {
    intptr_t fill = (intptr_t)(state->total & 31);
    // Bytes that complete the state's buffered stripe, taken from `start` at the first hash.
    intptr_t need = fill == 0 ? 0 : 32 - fill;
    intptr_t next = start + need;  // first byte not hashed
    __m256i acc = _mm256_loadu_si256((const __m256i *)state->lanes);
    intptr_t j = start, end;
    if (b[j] == LF) {
        end = j;
        goto hashRest;
    }
    if (n >= 66) {
        while (j <= n - 66) {
            if (any_stray_avx512(b + j)) {
                end = j + first_stray(strays_avx512(b + j));
                goto hashRest;
            }
            j += 64;
            if (next + 64 <= j) {
                if (__builtin_expect(need != 0, 0)) {
                    smtpscope_copy_small(state->buffer + fill, b + start, need);
                    acc = stripe_x4(acc, state->buffer);
                    need = 0;
                }
                acc = stripe_x4(acc, b + next);
                acc = stripe_x4(acc, b + next + 32);
                next += 64;
            }
        }
        if (j < n - 2) {
            intptr_t stop = last_block(b, &j, n, strays_avx512);
            if (stop >= 0) {
                end = stop;
                goto hashRest;
            }
        }
    }
    end = plain_tail(b, j, n);
hashRest:
    if (need != 0 && end < next) {
        // Too few bytes to complete the buffered stripe: they wait with the others.
        smtpscope_copy_small(state->buffer + fill, b + start, end - start);
    } else {
        if (need != 0) {
            smtpscope_copy_small(state->buffer + fill, b + start, need);
            acc = stripe_x4(acc, state->buffer);
        }
        for (; end - next >= 32; next += 32) acc = stripe_x4(acc, b + next);
        smtpscope_copy_small(state->buffer, b + next, end - next);
    }
    _mm256_storeu_si256((__m256i *)state->lanes, acc);
    state->total += (uint64_t)(end - start);
    return end;
}
#endif

/// The level detected once (-1 before); a relaxed atomic, as every thread finds the same value.
static int detected = -1;

int smtpscope_scan_level(void) {
    int level = __atomic_load_n(&detected, __ATOMIC_RELAXED);
    if (level < 0) {
#if SMTPSCOPE_X86_64
        __builtin_cpu_init();
        // "avx2" and "avx512*" are true only when the OS saves the YMM/ZMM and mask registers too.
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi");
        int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
        level = avx512 ? SMTPSCOPE_SCAN_AVX512 : avx2 ? SMTPSCOPE_SCAN_AVX2 : SMTPSCOPE_SCAN_SSE2;
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

typedef intptr_t (*run_function)(const uint8_t *b, intptr_t start, intptr_t n);

static run_function run_at(int level) {
    switch (usable(level)) {
#if SMTPSCOPE_X86_64
    case SMTPSCOPE_SCAN_AVX512: return run_avx512;
    case SMTPSCOPE_SCAN_AVX2: return run_avx2;
    case SMTPSCOPE_SCAN_SSE2: return run_sse2;
#endif
    default: return run_scalar;
    }
}

intptr_t smtpscope_plain_run_at_level(int level, const void *bytes, intptr_t start, intptr_t count) {
    if (bytes == NULL || start < 0 || start >= count) return count;
    return run_at(level)((const uint8_t *)bytes, start, count);
}

/// The run of the detected level, chosen at the first call (relaxed, as for `detected`).
static run_function chosen = NULL;

intptr_t smtpscope_plain_run(const void *bytes, intptr_t start, intptr_t count) {
    if (bytes == NULL || start < 0 || start >= count) return count;
    run_function run = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (run == NULL) {
        run = run_at(SMTPSCOPE_SCAN_BEST);
        __atomic_store_n(&chosen, run, __ATOMIC_RELAXED);
    }
    return run((const uint8_t *)bytes, start, count);
}

typedef intptr_t (*hashing_function)(const uint8_t *b, intptr_t start, intptr_t n, smtpscope_xxh64 *state);

static hashing_function hashing_at(int level) {
    switch (usable(level)) {
#if SMTPSCOPE_X86_64
    case SMTPSCOPE_SCAN_AVX512: return run_hashing_avx512;
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
        run = hashing_at(SMTPSCOPE_SCAN_BEST);
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
__attribute__((target("avx2"))) static smtpscope_strays test_strays_avx2(const uint8_t *p) { return strays_avx2(p); }
__attribute__((target("avx2"))) static int test_any_avx2(const uint8_t *p) { return any_stray_avx2(p); }
__attribute__((target(SMTPSCOPE_AVX512))) static smtpscope_strays test_strays_avx512(const uint8_t *p) { return strays_avx512(p); }
__attribute__((target(SMTPSCOPE_AVX512))) static int test_any_avx512(const uint8_t *p) { return any_stray_avx512(p); }
#endif

uint64_t smtpscope_stray_breaks64(int level, const void *p, uint64_t *strayLF, int *any) {
    const uint8_t *b = (const uint8_t *)p;
    smtpscope_strays k;
    int found;
    switch (usable(level)) {
#if SMTPSCOPE_X86_64
    case SMTPSCOPE_SCAN_AVX512: k = test_strays_avx512(b), found = test_any_avx512(b); break;
    case SMTPSCOPE_SCAN_AVX2: k = test_strays_avx2(b), found = test_any_avx2(b); break;
    case SMTPSCOPE_SCAN_SSE2: k = strays_sse2(b), found = any_stray_sse2(b); break;
#endif
    default: k = strays_scalar(b), found = any_stray_scalar(b); break;
    }
    if (strayLF != NULL) *strayLF = k.lf;
    if (any != NULL) *any = found;
    return k.cr;
}
