// Counting malloc for the benchmark: this executable defines malloc & co.,
// so the dynamic linker binds every library's calls (Swift runtime,
// Foundation, libpcap, libc itself through its PLT) to these, and they
// forward to glibc's allocator through its exported __libc_* entry points.
// Counting is two relaxed atomic adds while on, one relaxed load while off.
#define _GNU_SOURCE
#include "CAllocationCounter.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

enum { sample_capacity = 8192, sample_depth = 24, counter_frames = 2 };

static atomic_int counting;
static atomic_int installed_probe;
static atomic_uint_fast64_t mallocs, reallocs, frees;
static _Atomic uint32_t every;
static atomic_uint_fast64_t sample_ticket;
static atomic_size_t samples_taken;
static void *samples[sample_capacity][sample_depth];
static uint8_t sample_frames[sample_capacity];
// backtrace() may allocate (its first call loads libgcc_s): not counted, not sampled.
static __thread int in_backtrace;

// Not inlined, and its caller count_alloc always is, so the first two frames
// of every backtrace are ours (sample, then malloc or its sibling): skipped.
__attribute__((noinline)) static void sample(void) {
    uint32_t period = atomic_load_explicit(&every, memory_order_relaxed);
    if (period == 0) return;
    uint64_t ticket = atomic_fetch_add_explicit(&sample_ticket, 1, memory_order_relaxed);
    if (ticket % period != 0) return;
    size_t slot = atomic_fetch_add_explicit(&samples_taken, 1, memory_order_relaxed);
    if (slot >= sample_capacity) return;
    void *frames[sample_depth + counter_frames];
    in_backtrace = 1;
    int depth = backtrace(frames, sample_depth + counter_frames) - counter_frames;
    in_backtrace = 0;
    if (depth < 0) depth = 0;
    memcpy(samples[slot], frames + counter_frames, (size_t)depth * sizeof(void *));
    sample_frames[slot] = (uint8_t)depth;
}

__attribute__((always_inline)) static inline void count_alloc(atomic_uint_fast64_t *counter) {
    atomic_store_explicit(&installed_probe, 1, memory_order_relaxed);
    if (atomic_load_explicit(&counting, memory_order_relaxed) && !in_backtrace) {
        atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
        sample();
    }
}

void *malloc(size_t size) {
    count_alloc(&mallocs);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    count_alloc(&mallocs);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    count_alloc(&reallocs);
    return __libc_realloc(pointer, size);
}

void *reallocarray(void *pointer, size_t count, size_t size) {
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    count_alloc(&reallocs);
    return __libc_realloc(pointer, bytes);
}

void free(void *pointer) {
    if (pointer != NULL && atomic_load_explicit(&counting, memory_order_relaxed) && !in_backtrace)
        atomic_fetch_add_explicit(&frees, 1, memory_order_relaxed);
    __libc_free(pointer);
}

void *memalign(size_t alignment, size_t size) {
    count_alloc(&mallocs);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count_alloc(&mallocs);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
    count_alloc(&mallocs);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

void *valloc(size_t size) {
    count_alloc(&mallocs);
    return __libc_valloc(size);
}

void *pvalloc(size_t size) {
    count_alloc(&mallocs);
    return __libc_pvalloc(size);
}

int smtpscope_allocation_counter_installed(void) {
    atomic_store_explicit(&installed_probe, 0, memory_order_relaxed);
    // Through a volatile function pointer, so the compiler cannot elide the pair.
    void *(*volatile allocate)(size_t) = malloc;
    void (*volatile release)(void *) = free;
    release(allocate(24));
    return atomic_load_explicit(&installed_probe, memory_order_relaxed);
}

void smtpscope_allocation_counting_start(void) {
    atomic_store(&mallocs, 0);
    atomic_store(&reallocs, 0);
    atomic_store(&frees, 0);
    atomic_store(&counting, 1);
}

void smtpscope_allocation_sampling(uint32_t sample_every) {
    if (sample_every > 0) {
        // Load libgcc_s (backtrace's unwinder) now rather than inside the sampled frames.
        void *warm[2];
        backtrace(warm, 2);
        atomic_store(&sample_ticket, 0);
        atomic_store(&samples_taken, 0);
    }
    every = sample_every;
}

void smtpscope_allocation_counting_stop(void) { atomic_store(&counting, 0); }

smtpscope_allocation_counts smtpscope_allocation_counts_read(void) {
    smtpscope_allocation_counts counts = {
        atomic_load(&mallocs), atomic_load(&reallocs), atomic_load(&frees)};
    return counts;
}

size_t smtpscope_allocation_sample_count(void) {
    size_t taken = atomic_load(&samples_taken);
    return taken < sample_capacity ? taken : sample_capacity;
}

size_t smtpscope_allocation_sample(size_t index, void **frames, size_t capacity) {
    if (index >= smtpscope_allocation_sample_count()) return 0;
    size_t depth = sample_frames[index];
    if (depth > capacity) depth = capacity;
    memcpy(frames, samples[index], depth * sizeof(void *));
    return depth;
}

int smtpscope_image_of(const void *address, const void **base, const char **file) {
    Dl_info info;
    if (dladdr(address, &info) == 0) return 0;
    *base = info.dli_fbase;
    *file = info.dli_fname;
    return 1;
}
