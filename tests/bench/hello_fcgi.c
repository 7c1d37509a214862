/* The floor of the request path for `make bench`: the smallest FastCGI
 * responder, behind the same server. It answers a fixed JSON body of 17
 * bytes, or, asked with ?bytes=N (17..4194304), one of exactly N bytes: the
 * floor for an answer the size of one of ours. */
#include <fcgiapp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BYTES (4 << 20)

/* The body's size from the query string: 17 unless ?bytes=N is valid. */
static long
wanted(const char *query)
{
	const char *p = query != NULL ? strstr(query, "bytes=") : NULL;
	long n;

	if (p == NULL || (p != query && p[-1] != '&'))
		return 17;
	n = strtol(p + 6, NULL, 10);
	return n >= 17 && n <= MAX_BYTES ? n : 17;
}

int
main(void)
{
	static char body[MAX_BYTES + 1];
	FCGX_Request r;
	long n;

	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		/* {"hello":"xxx...x"}: 12 bytes around the x's. */
		n = wanted(FCGX_GetParam("QUERY_STRING", r.envp));
		memcpy(body, "{\"hello\":\"", 10);
		memset(body + 10, n == 17 ? 'w' : 'x', (size_t)(n - 12));
		if (n == 17)
			memcpy(body + 10, "world", 5);
		memcpy(body + n - 2, "\"}", 2);
		FCGX_FPrintF(r.out, "Status: 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: %ld\r\n\r\n", n);
		FCGX_PutStr(body, (int)n, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
