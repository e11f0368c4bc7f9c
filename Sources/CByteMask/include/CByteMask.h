#ifndef SMTPSCOPE_CBYTEMASK_H
#define SMTPSCOPE_CBYTEMASK_H

#include <stdint.h>

/// The message-body scan's plain run (`MessageScanner.plainRun`), in C because Swift's SIMD
/// types reach neither `movemask` nor AVX2/AVX-512 chosen at run time. Four builds of the same
/// loop differ in how they find a 64-byte block's stray line breaks (those of no plain line
/// end): 0 a byte loop (any machine), 1 SSE2 (every x86-64), 2 AVX2, 3 AVX-512 F, BW, DQ and VL
/// on 256-bit registers (one three-input logic instruction for the test; its hashing run keeps
/// the four XXH64 lanes in one register, with 64-bit multiplies). The best the CPU has is used.
enum {
    SMTPSCOPE_SCAN_SCALAR = 0,
    SMTPSCOPE_SCAN_SSE2 = 1,
    SMTPSCOPE_SCAN_AVX2 = 2,
    SMTPSCOPE_SCAN_AVX512 = 3,
    /// The highest level there is.
    SMTPSCOPE_SCAN_BEST = SMTPSCOPE_SCAN_AVX512,
};

/// End of the plain run in `bytes[start..<count]`: the index of the first `\r` or `\n` that
/// does not begin `\r\n` plus an ordinary byte (none of `\r`, `\n`, `.`, NUL), or `count`.
/// A plain line end is skipped whole (its `\r\n` and the byte after it). Reads only
/// `bytes[start..<count]`; `0 <= start <= count`. Uses the best level this CPU has.
intptr_t smtpscope_plain_run(const void *bytes, intptr_t start, intptr_t count);

/// `smtpscope_plain_run` at a given level (for tests and benchmarks). A level the CPU lacks
/// (or this architecture has not) runs the best one below it.
intptr_t smtpscope_plain_run_at_level(int level, const void *bytes, intptr_t start, intptr_t count);

/// Streaming XXH64 (seed 0) of the bytes added so far: four lanes, the count, and the
/// `total % 32` bytes of an unfinished 32-byte stripe. The digest depends only on the bytes,
/// never on how they were split into updates. Zeroed memory is no valid state: reset it.
typedef struct {
    uint64_t lanes[4];
    uint64_t total;
    uint8_t buffer[32];
} smtpscope_xxh64;

/// The state of no bytes.
void smtpscope_xxh64_reset(smtpscope_xxh64 *state);

/// Adds `bytes[0..<count]` (nothing when `count <= 0`).
void smtpscope_xxh64_update(smtpscope_xxh64 *state, const void *bytes, intptr_t count);

/// The XXH64 digest of all bytes added so far.
uint64_t smtpscope_xxh64_digest(const smtpscope_xxh64 *state);

/// `smtpscope_plain_run`, adding the run (`bytes[start..<end]`, end returned) to `state` as
/// it goes: each 32-byte stripe is folded in while its block is fresh in cache.
intptr_t smtpscope_plain_run_hashing(const void *bytes, intptr_t start, intptr_t count, smtpscope_xxh64 *state);

/// `smtpscope_plain_run_hashing` at a given level (for tests and benchmarks).
intptr_t smtpscope_plain_run_hashing_at_level(
    int level, const void *bytes, intptr_t start, intptr_t count, smtpscope_xxh64 *state);

/// The level `smtpscope_plain_run` uses on this CPU (detected once).
int smtpscope_scan_level(void);

/// The stray line breaks of the 64 bytes at `p` (those that stop a plain run), computed at
/// `level` (as above); reads `p[0..<66]`. Returns bit k set when byte k is a `\r` not followed
/// by `\n` and an ordinary byte; sets bit k of `*strayLF` when byte k + 1 is a `\n` not
/// between such a `\r` and byte, and `*any` to whether the level's quick test (the one
/// the run loop takes) finds any (either pointer may be NULL).
uint64_t smtpscope_stray_breaks64(int level, const void *p, uint64_t *strayLF, int *any);

#endif
