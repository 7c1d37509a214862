/*
 * pq_load: libpq loaded on first use (pq_load.h says why).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "store/pq_load.h"

struct pq_lib pq_lib;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_rc = -1;
static char load_why[200];

static void
load(void)
{
	void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
	void *f;

	if (h == NULL) {
		snprintf(load_why, sizeof(load_why), "libpq (Debian's libpq5) could not be "
		    "loaded: %s", dlerror());
		return;
	}
#define PQ_SYM(name) \
	if ((f = dlsym(h, #name)) == NULL) { \
		snprintf(load_why, sizeof(load_why), "libpq.so.5 has no %s", #name); \
		return; \
	} \
	memcpy(&pq_lib.name, &f, sizeof(f));
	PQ_FUNCS(PQ_SYM)
#undef PQ_SYM
	load_rc = 0;
}

int
pq_load(char *err, size_t errlen)
{
	pthread_once(&once, load);
	if (load_rc < 0)
		snprintf(err, errlen, "%s", load_why);
	return load_rc;
}
