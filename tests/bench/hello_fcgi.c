/* The floor of the request path for `make bench`: the smallest FastCGI
 * responder, answering a fixed JSON body, behind the same server. */
#include <fcgiapp.h>
#include <signal.h>

int
main(void)
{
	static const char body[] = "{\"hello\":\"world\"}";
	FCGX_Request r;

	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_FPrintF(r.out, "Status: 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: %d\r\n\r\n", (int)sizeof(body) - 1);
		FCGX_PutStr(body, (int)sizeof(body) - 1, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
