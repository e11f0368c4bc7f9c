#ifndef SMTPSCOPE_CBYTEMASK_H
#define SMTPSCOPE_CBYTEMASK_H

#include <stdint.h>

/// The message-body scan's plain run (`MessageScanner.plainRun`), in C because Swift's SIMD
/// types reach neither `movemask` nor AVX2 chosen at run time. Three builds of the same loop
/// differ only in how they take the 64-byte mask of line-break candidates:
/// 0 a byte loop (any machine), 1 SSE2 (every x86-64), 2 AVX2 (chosen when the CPU has it).
enum {
    SMTPSCOPE_SCAN_SCALAR = 0,
    SMTPSCOPE_SCAN_SSE2 = 1,
    SMTPSCOPE_SCAN_AVX2 = 2,
};

/// End of the plain run in `bytes[start..<count]`: the index of the first `\r` or `\n` that
/// does not begin `\r\n` plus an ordinary byte (none of `\r`, `\n`, `.`, NUL), or `count`.
/// A plain line end is skipped whole (its `\r\n` and the byte after it). Reads only
/// `bytes[start..<count]`; `0 <= start <= count`. Uses the best level this CPU has.
intptr_t smtpscope_plain_run(const void *bytes, intptr_t start, intptr_t count);

/// `smtpscope_plain_run` at a given level (for tests and benchmarks). A level the CPU lacks
/// (or this architecture has not) runs the best one below it.
intptr_t smtpscope_plain_run_at_level(int level, const void *bytes, intptr_t start, intptr_t count);

/// The level `smtpscope_plain_run` uses on this CPU (detected once).
int smtpscope_scan_level(void);

/// Bit k set when byte k of the 64 bytes at `p` lies in 0x08...0x0F (`\r`, `\n` and six
/// control bytes rare in mail, tab among them), computed at `level` (as above).
uint64_t smtpscope_line_break_candidates64(int level, const void *p);

#endif
