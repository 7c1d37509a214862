/*
 * access: who a request comes from, and whether it may read what is the
 * operator's (see access.c).
 */
#ifndef ACCESS_H
#define ACCESS_H

#include <stddef.h>
#include <fcgiapp.h>

/* Reads the token for IMGSANDBOX_LOGS_ACCESS=token. Returns 0, or -1 with
 * a sentence in err (the operator's endpoints then answer 503 saying so). */
int access_init(char *err, size_t errlen);

/* The client's address (see access.c) in out. */
void access_client(FCGX_Request *r, char *out, size_t len);

/* The key of the client's share: its address (see access.c), an IPv6
 * one as its /64 ("2001:db8:1:2::/64"), in out. */
void access_client_key(FCGX_Request *r, char *out, size_t len);

/* Returns 0 when r may start a run or an assist: no browser says it comes
 * from another site's page (Sec-Fetch-Site, Origin), or its origin is in
 * IMGSANDBOX_ALLOWED_ORIGINS; else writes 403 (saying so) and returns -1. */
int access_same_site(FCGX_Request *r);

/* Whether a is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x). */
int access_loopback_address(const char *a);

/* Returns 0 when r may read the operator's endpoints; else writes 403
 * (with how to get in) and returns -1. */
int access_operator(FCGX_Request *r);

#endif
