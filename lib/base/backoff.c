/*
 * backoff.c: exponential backoff, jitter and a small PRNG (see backoff.h).
 *
 * The PRNG is xoshiro256** (public-domain algorithm by Blackman and Vigna),
 * written from its description; per-thread state is seeded lazily from
 * getrandom(2), falling back to time and address bits if that fails.
 */
#include <stddef.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

#include "base/backoff.h"
#include "base/banned.h"

static __thread uint64_t rng[4];
static __thread int rng_seeded;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static void seed(void)
{
	if (getrandom(rng, sizeof(rng), GRND_NONBLOCK) != (ssize_t)sizeof(rng)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		rng[0] = (uint64_t)ts.tv_nsec ^ 0x9e3779b97f4a7c15ull;
		rng[1] = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&ts;
		rng[2] = 0xbf58476d1ce4e5b9ull;
		rng[3] = 0x94d049bb133111ebull;
	}
	if (!(rng[0] | rng[1] | rng[2] | rng[3]))
		rng[0] = 1;
	rng_seeded = 1;
}

uint64_t rand_u64(void)
{
	uint64_t r, t;

	if (!rng_seeded)
		seed();
	r = rotl(rng[1] * 5, 7) * 9;
	t = rng[1] << 17;
	rng[2] ^= rng[0];
	rng[3] ^= rng[1];
	rng[1] ^= rng[2];
	rng[0] ^= rng[3];
	rng[2] ^= t;
	rng[3] = rotl(rng[3], 45);
	return r;
}

double rand_unit(void)
{
	return (double)(rand_u64() >> 11) * 0x1.0p-53;
}

uint64_t backoff_next(struct backoff *b, uint64_t now_ms)
{
	uint64_t d;

	if (b->reset_after_ms && b->current_ms && now_ms - b->last_ms >= b->reset_after_ms)
		b->current_ms = 0;
	b->last_ms = now_ms;
	if (!b->current_ms) {
		b->current_ms = b->initial_ms;
	} else {
		double next = (double)b->current_ms * (b->factor > 1.0 ? b->factor : 2.0);

		b->current_ms = next >= (double)b->max_ms ? b->max_ms : (uint64_t)next;
	}
	d = b->current_ms;
	if (b->jitter > 0)
		d += (uint64_t)((double)d * b->jitter * rand_unit());
	return d;
}

void backoff_reset(struct backoff *b)
{
	b->current_ms = 0;
	b->last_ms = 0;
}

uint64_t jitter_interval(uint64_t interval_ms, double fraction)
{
	double spread = (double)interval_ms * fraction;
	double v = (double)interval_ms + spread * (2.0 * rand_unit() - 1.0);

	return v < 1.0 ? 1 : (uint64_t)v;
}

void rand_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = hex[rand_u64() & 15];
	out[n] = '\0';
}

void rand_uuid(char out[37])
{
	uint64_t hi = rand_u64(), lo = rand_u64();

	hi = (hi & ~UINT64_C(0xf000)) | UINT64_C(0x4000);
	lo = (lo & ~(UINT64_C(0xc) << 60)) | (UINT64_C(0x8) << 60);
	snprintf(out, 37, "%08llx-%04llx-%04llx-%04llx-%012llx",
		 (unsigned long long)(hi >> 32), (unsigned long long)((hi >> 16) & 0xffff),
		 (unsigned long long)(hi & 0xffff), (unsigned long long)(lo >> 48),
		 (unsigned long long)(lo & UINT64_C(0xffffffffffff)));
}
