#ifndef SMTPSCOPE_ALLOCATION_COUNTER_H
#define SMTPSCOPE_ALLOCATION_COUNTER_H

#include <stddef.h>
#include <stdint.h>

/// Counts of heap calls made while counting was on (all threads).
typedef struct {
    uint64_t mallocs;   ///< malloc, calloc, memalign, posix_memalign, aligned_alloc, valloc, pvalloc
    uint64_t reallocs;  ///< realloc and reallocarray
    uint64_t frees;     ///< free of a non-null pointer
} smtpscope_allocation_counts;

/// Whether this executable's malloc is the counting one (false if another
/// allocator was preloaded in front of it, for example).
int smtpscope_allocation_counter_installed(void);

/// Resets the counts and starts counting.
void smtpscope_allocation_counting_start(void);

/// `every` > 0 discards earlier samples and from now on records a backtrace of
/// every Nth counted allocation (malloc-like or realloc); 0 stops sampling.
void smtpscope_allocation_sampling(uint32_t every);

/// Stops counting; the counts stay readable.
void smtpscope_allocation_counting_stop(void);

smtpscope_allocation_counts smtpscope_allocation_counts_read(void);

/// Number of backtraces recorded since the last start (at most the buffer's capacity).
size_t smtpscope_allocation_sample_count(void);

/// Copies sample `index`'s return addresses (innermost first, starting with
/// the caller of malloc & co.) into `frames`; returns how many were copied.
size_t smtpscope_allocation_sample(size_t index, void **frames, size_t capacity);

/// dladdr(3) (a GNU extension Swift's Glibc module leaves out): the load
/// address and file of the image holding `address`; 0 when none does.
int smtpscope_image_of(const void *address, const void **base, const char **file);

#endif
