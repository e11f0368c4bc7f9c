#ifndef SMTPSCOPE_XXH64_FOLD_H
#define SMTPSCOPE_XXH64_FOLD_H

// XXH64's stripe rounds (doc/xxhash_spec.md at https://github.com/Cyan4973/xxHash), shared
// by the plain update (XXH64.c) and the body scan that hashes as it goes (ByteMask.c).

#include "CByteMask.h"

#include <stddef.h>

#define SMTPSCOPE_P1 0x9E3779B185EBCA87ULL
#define SMTPSCOPE_P2 0xC2B2AE3D27D4EB4FULL
#define SMTPSCOPE_P3 0x165667B19E3779F9ULL
#define SMTPSCOPE_P4 0x85EBCA77C2B2AE63ULL
#define SMTPSCOPE_P5 0x27D4EB2F165667C5ULL

/// The little-endian word at `p` (any alignment), the same value on every machine.
static inline __attribute__((always_inline)) uint64_t smtpscope_word(const uint8_t *p) {
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline __attribute__((always_inline)) uint64_t smtpscope_round(uint64_t acc, uint64_t input) {
    acc += input * SMTPSCOPE_P2;
    acc = (acc << 31) | (acc >> 33);
    return acc * SMTPSCOPE_P1;
}

/// Lanes held in registers while stripes are folded in.
typedef struct {
    uint64_t a, b, c, d;
} smtpscope_lanes;

/// One 32-byte stripe at `p` into the four lanes.
static inline __attribute__((always_inline)) void smtpscope_stripe(smtpscope_lanes *l, const uint8_t *p) {
    l->a = smtpscope_round(l->a, smtpscope_word(p));
    l->b = smtpscope_round(l->b, smtpscope_word(p + 8));
    l->c = smtpscope_round(l->c, smtpscope_word(p + 16));
    l->d = smtpscope_round(l->d, smtpscope_word(p + 24));
}

/// Copies `n` (0...32) bytes with a few fixed-size moves (two that overlap when `n` is not a
/// power of two), not a `memcpy` call: a stripe's tail is copied once per update.
static inline __attribute__((always_inline)) void smtpscope_copy_small(uint8_t *dst, const uint8_t *src, intptr_t n) {
    if (n >= 16) {
        uint8_t head[16], tail[16];
        __builtin_memcpy(head, src, 16);
        __builtin_memcpy(tail, src + n - 16, 16);
        __builtin_memcpy(dst, head, 16);
        __builtin_memcpy(dst + n - 16, tail, 16);
    } else if (n >= 8) {
        uint64_t head, tail;
        __builtin_memcpy(&head, src, 8);
        __builtin_memcpy(&tail, src + n - 8, 8);
        __builtin_memcpy(dst, &head, 8);
        __builtin_memcpy(dst + n - 8, &tail, 8);
    } else if (n >= 4) {
        uint32_t head, tail;
        __builtin_memcpy(&head, src, 4);
        __builtin_memcpy(&tail, src + n - 4, 4);
        __builtin_memcpy(dst, &head, 4);
        __builtin_memcpy(dst + n - 4, &tail, 4);
    } else if (n > 0) {
        // 1...3 bytes: first, middle and last (some of them the same byte).
        uint8_t first = src[0], middle = src[n >> 1], last = src[n - 1];
        dst[0] = first;
        dst[n >> 1] = middle;
        dst[n - 1] = last;
    }
}

/// Adds `b[start..<end]` to `state` a piece at a time, as a scan confirms the bytes: `fold`
/// whole stripes the scan has passed, then `finish` at `end`. The lanes stay in `state`
/// between folds (a scan loop has no registers to spare for them); the state's unfinished
/// stripe is completed by the first fold.
typedef struct {
    const uint8_t *b;
    intptr_t start;
    /// Bytes that complete the state's buffered stripe (0 when it is empty or done).
    intptr_t need;
    /// First byte not folded yet (`start + need` until the buffered stripe is done).
    intptr_t next;
} smtpscope_folder;

static inline __attribute__((always_inline)) smtpscope_folder smtpscope_folder_begin(
    const smtpscope_xxh64 *state, const uint8_t *b, intptr_t start) {
    intptr_t fill = (intptr_t)(state->total & 31);
    intptr_t need = fill == 0 ? 0 : 32 - fill;
    smtpscope_folder f = {b, start, need, start + need};
    return f;
}

/// Stripes the scan folds at a time: 128 bytes, at most 194 behind it, all still in L1. Twice
/// as many cost fewer instructions but run slower: the longer burst of multiplies no longer
/// overlaps the scan.
#define SMTPSCOPE_FOLD_STRIPES 4

/// Folds the buffered stripe (when its bytes are due) and `count` stripes from `next`; the
/// caller knows the scan has passed them.
static inline __attribute__((always_inline)) void smtpscope_folder_fold(
    smtpscope_folder *f, smtpscope_xxh64 *state, intptr_t count) {
    // Loaded and stored one by one (volatile): four lanes side by side invite the vectorizer,
    // and AVX2 has no 64-bit multiply (a dozen instructions each, a longer chain than `imul`).
    volatile uint64_t *lanes = state->lanes;
    smtpscope_lanes l = {lanes[0], lanes[1], lanes[2], lanes[3]};
    if (f->need != 0) {
        smtpscope_copy_small(state->buffer + (32 - f->need), f->b + f->start, f->need);
        smtpscope_stripe(&l, state->buffer);
        f->need = 0;
    }
    const uint8_t *p = f->b + f->next;
    // Four per turn, then two and one straight (a loop of one costs register moves each).
    for (intptr_t k = count >> 2; k > 0; k--, p += 128) {
        smtpscope_stripe(&l, p);
        smtpscope_stripe(&l, p + 32);
        smtpscope_stripe(&l, p + 64);
        smtpscope_stripe(&l, p + 96);
    }
    if (count & 2) {
        smtpscope_stripe(&l, p);
        smtpscope_stripe(&l, p + 32);
        p += 64;
    }
    if (count & 1) smtpscope_stripe(&l, p);
    lanes[0] = l.a, lanes[1] = l.b, lanes[2] = l.c, lanes[3] = l.d;
    f->next += 32 * count;
}

/// The rest up to `end` (the run's end): whole stripes folded, the tail buffered.
static inline __attribute__((always_inline)) void smtpscope_folder_finish(
    smtpscope_folder *f, smtpscope_xxh64 *state, intptr_t end) {
    if (f->need != 0 && end < f->next) {
        // Too few bytes to complete the buffered stripe (fewer than `need`): they wait with
        // the others.
        smtpscope_copy_small(state->buffer + (32 - f->need), f->b + f->start, end - f->start);
    } else {
        smtpscope_folder_fold(f, state, end > f->next ? (end - f->next) >> 5 : 0);
        // Under 32 bytes (checked all the same: the buffer is never written past its end).
        intptr_t rest = end - f->next;
        if (rest > 0 && rest < 32) smtpscope_copy_small(state->buffer, f->b + f->next, rest);
    }
    state->total += (uint64_t)(end - f->start);
}

#endif
