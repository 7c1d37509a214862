/*
 * clock: the service's one clock module. The monotonic clock measures
 * durations and deadlines; the real-time clock stamps what people read (the
 * log's times) and what the sandbox reports of itself (it shares the host's
 * real-time clock, not its monotonic one).
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

/* "2025-01-31T23:59:59.999Z" and its NUL. */
#define CLOCK_ISO_MAX 32

/* Milliseconds of CLOCK_MONOTONIC (deadlines, durations). */
int64_t clock_mono_ms(void);

/* Milliseconds since the epoch, CLOCK_REALTIME. */
int64_t clock_real_ms(void);

/* Writes real_ms (since the epoch, UTC) as ISO 8601 with milliseconds,
 * "2025-01-31T23:59:59.999Z", into out. */
void clock_iso8601(int64_t real_ms, char out[CLOCK_ISO_MAX]);

#endif
