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

/// Adds `b[start..<end]` to `state` a piece at a time, as a scan confirms them: `reach` each
/// new end (never less than the last), then `finish` at `end`. Full stripes are folded as soon
/// as their bytes are reached; the state's unfinished stripe is completed first.
typedef struct {
    smtpscope_lanes lanes;
    const uint8_t *b;
    intptr_t start;
    /// Bytes that complete the state's buffered stripe (0 when it is empty or done).
    intptr_t need;
    /// First byte not folded yet (`start + need` until then).
    intptr_t next;
} smtpscope_folder;

static inline __attribute__((always_inline)) smtpscope_folder smtpscope_folder_begin(
    const smtpscope_xxh64 *state, const uint8_t *b, intptr_t start) {
    intptr_t fill = (intptr_t)(state->total & 31);
    intptr_t need = fill == 0 ? 0 : 32 - fill;
    smtpscope_folder f = {{state->lanes[0], state->lanes[1], state->lanes[2], state->lanes[3]}, b, start, need, start + need};
    return f;
}

/// Completes the state's buffered stripe once `end` covers it; false while it cannot.
static inline __attribute__((always_inline)) int smtpscope_folder_unbuffer(
    smtpscope_folder *f, smtpscope_xxh64 *state, intptr_t end) {
    if (f->need == 0) return 1;
    if (end < f->next) return 0;
    __builtin_memcpy(state->buffer + (32 - f->need), f->b + f->start, (size_t)f->need);
    smtpscope_stripe(&f->lanes, state->buffer);
    f->need = 0;
    return 1;
}

/// Four stripes from the first byte not folded yet; the caller knows `end` covers them (and
/// so the buffered stripe's bytes too).
static inline __attribute__((always_inline)) void smtpscope_folder_four(smtpscope_folder *f, smtpscope_xxh64 *state) {
    smtpscope_folder_unbuffer(f, state, f->next);
    const uint8_t *p = f->b + f->next;
    smtpscope_stripe(&f->lanes, p);
    smtpscope_stripe(&f->lanes, p + 32);
    smtpscope_stripe(&f->lanes, p + 64);
    smtpscope_stripe(&f->lanes, p + 96);
    f->next += 128;
}

/// `smtpscope_folder_four` with the lanes kept in `state` between calls (loaded and stored
/// around the four stripes), for a caller short of registers.
static inline __attribute__((always_inline)) void smtpscope_folder_four_spilled(
    smtpscope_folder *f, smtpscope_xxh64 *state) {
    if (f->need != 0) {
        __builtin_memcpy(state->buffer + (32 - f->need), f->b + f->start, (size_t)f->need);
        smtpscope_lanes l = {state->lanes[0], state->lanes[1], state->lanes[2], state->lanes[3]};
        smtpscope_stripe(&l, state->buffer);
        state->lanes[0] = l.a, state->lanes[1] = l.b, state->lanes[2] = l.c, state->lanes[3] = l.d;
        f->need = 0;
    }
    const uint8_t *p = f->b + f->next;
    smtpscope_lanes l = {state->lanes[0], state->lanes[1], state->lanes[2], state->lanes[3]};
    smtpscope_stripe(&l, p);
    smtpscope_stripe(&l, p + 32);
    smtpscope_stripe(&l, p + 64);
    smtpscope_stripe(&l, p + 96);
    state->lanes[0] = l.a, state->lanes[1] = l.b, state->lanes[2] = l.c, state->lanes[3] = l.d;
    f->next += 128;
}

/// `end` anywhere from the last call's on.
static inline __attribute__((always_inline)) void smtpscope_folder_reach(
    smtpscope_folder *f, smtpscope_xxh64 *state, intptr_t end) {
    if (!smtpscope_folder_unbuffer(f, state, end)) return;
    // Four stripes per turn, then up to three.
    while (end - f->next >= 128) smtpscope_folder_four(f, state);
    if (end - f->next >= 64) {
        smtpscope_stripe(&f->lanes, f->b + f->next);
        smtpscope_stripe(&f->lanes, f->b + f->next + 32);
        f->next += 64;
    }
    if (end - f->next >= 32) {
        smtpscope_stripe(&f->lanes, f->b + f->next);
        f->next += 32;
    }
}

static inline __attribute__((always_inline)) void smtpscope_folder_finish(
    smtpscope_folder *f, smtpscope_xxh64 *state, intptr_t end) {
    smtpscope_folder_reach(f, state, end);
    if (f->need != 0) {
        // Too few bytes to complete the buffered stripe: they wait with the others.
        __builtin_memcpy(state->buffer + (32 - f->need), f->b + f->start, (size_t)(end - f->start));
    } else if (end > f->next) {
        __builtin_memcpy(state->buffer, f->b + f->next, (size_t)(end - f->next));
    }
    state->lanes[0] = f->lanes.a;
    state->lanes[1] = f->lanes.b;
    state->lanes[2] = f->lanes.c;
    state->lanes[3] = f->lanes.d;
    state->total += (uint64_t)(end - f->start);
}

#endif
