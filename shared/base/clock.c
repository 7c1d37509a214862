#include <stdio.h>
#include <time.h>

#include "base/clock.h"

int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
clock_iso8601(int64_t real_ms, char out[CLOCK_ISO_MAX])
{
	time_t secs = (time_t)(real_ms / 1000);
	struct tm tm;

	if (real_ms < 0 || gmtime_r(&secs, &tm) == NULL) {
		snprintf(out, CLOCK_ISO_MAX, "1970-01-01T00:00:00.000Z");
		return;
	}
	/* The moduli only tell the compiler the widths: gmtime_r keeps to them. */
	snprintf(out, CLOCK_ISO_MAX, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
	    (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
	    (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
	    (unsigned)tm.tm_sec % 100u, (unsigned)(real_ms % 1000));
}
