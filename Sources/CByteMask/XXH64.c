#include "XXH64Fold.h"

void smtpscope_xxh64_reset(smtpscope_xxh64 *state) {
    *state = (smtpscope_xxh64){{SMTPSCOPE_P1 + SMTPSCOPE_P2, SMTPSCOPE_P2, 0, 0 - SMTPSCOPE_P1}, 0, {0}};
}

void smtpscope_xxh64_update(smtpscope_xxh64 *state, const void *bytes, intptr_t count) {
    if (state == NULL || bytes == NULL || count <= 0) return;
    smtpscope_folder f = smtpscope_folder_begin(state, (const uint8_t *)bytes, 0);
    smtpscope_folder_finish(&f, state, count);
}

static uint64_t merge(uint64_t h, uint64_t lane) {
    return (h ^ smtpscope_round(0, lane)) * SMTPSCOPE_P1 + SMTPSCOPE_P4;
}

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t smtpscope_xxh64_digest(const smtpscope_xxh64 *state) {
    uint64_t h;
    const uint64_t *v = state->lanes;
    if (state->total >= 32) {
        h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
        h = merge(merge(merge(merge(h, v[0]), v[1]), v[2]), v[3]);
    } else {
        h = SMTPSCOPE_P5;
    }
    h += state->total;
    size_t rest = (size_t)(state->total & 31), i = 0;
    const uint8_t *tail = state->buffer;
    for (; i + 8 <= rest; i += 8) {
        h ^= smtpscope_round(0, smtpscope_word(tail + i));
        h = rotl(h, 27) * SMTPSCOPE_P1 + SMTPSCOPE_P4;
    }
    if (i + 4 <= rest) {
        uint32_t word;
        __builtin_memcpy(&word, tail + i, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap32(word);
#endif
        h ^= (uint64_t)word * SMTPSCOPE_P1;
        h = rotl(h, 23) * SMTPSCOPE_P2 + SMTPSCOPE_P3;
        i += 4;
    }
    for (; i < rest; i++) {
        h ^= tail[i] * SMTPSCOPE_P5;
        h = rotl(h, 11) * SMTPSCOPE_P1;
    }
    h ^= h >> 33;
    h *= SMTPSCOPE_P2;
    h ^= h >> 29;
    h *= SMTPSCOPE_P3;
    h ^= h >> 32;
    return h;
}
