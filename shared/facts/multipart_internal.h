/*
 * multipart_internal.h: what the parts of the multipart parser share:
 * multipart.c (the stream) and multipart_header.c (a part's
 * Content-Disposition). Not for other modules.
 */
#ifndef MULTIPART_INTERNAL_H
#define MULTIPART_INTERNAL_H

#include <stddef.h>

#define MP_NAME_MAX		256	/* longest field name kept (longer ones are unknown anyway) */

/* What one Content-Disposition header said. */
struct mp_disposition {
	int	 seen;
	int	 has_name;
	char	 name[MP_NAME_MAX];
	size_t	 name_len;		/* full decoded length, even if name was cut */
	int	 has_filename;
	char	 filename[256];
	int	 has_filename_star;
	char	 filename_star[256];
};

/* Whether c may be in a header name (an RFC 7230 tchar). */
int mp_is_tchar(unsigned char c);

/* Returns v moved past spaces and tabs, never past e. */
const char *mp_skip_ws(const char *v, const char *e);

/* Parses a parameter value (a quoted-string with backslash escapes, or a
 * token) at *vp (< e) into out[0..outsz), moving *vp past it; *lenp gets
 * its whole decoded length. Returns 0, or -1 when it is malformed. */
int mp_param_value(const char **vp, const char *e, char *out, size_t outsz, size_t *lenp);

/* Parses the value v[0..n) of a Content-Disposition header into d. Returns
 * 0, or -1 with a reason for a person in *why. */
int mp_disposition(const char *v, size_t n, struct mp_disposition *d, const char **why);

#endif
