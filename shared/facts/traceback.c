#include <string.h>

#include "base/pyname.h"
#include "base/text.h"
#include "facts/traceback.h"

static const char code_file[] = "/code/main.py";
static const char tb_head[] = "Traceback (most recent call last):";

/* Where the parse stands between lines. */
struct tb_state {
	int in_tb;		/* a traceback's head or a frame was seen */
	int prev_indented;	/* the line before was a frame or source line */
	int msg_open;		/* the exception's message may go on */
	int found;
	const char *msg_end;
};

/* Reads an indented line (a frame: File "/code/main.py", line 12, in f; or
 * a source line) and notes the line number of a frame of the script. */
static void
frame_line(const char *p, const char *eol, struct tb_facts *f, struct tb_state *s)
{
	const char *q;
	long v;

	for (q = p; q < eol && (*q == ' ' || *q == '\t'); q++)
		;
	if ((size_t)(eol - q) > 6 && memcmp(q, "File \"", 6) == 0) {
		s->in_tb = 1;
		q += 6;
		if ((size_t)(eol - q) > sizeof(code_file) + 7 &&
		    memcmp(q, code_file, sizeof(code_file) - 1) == 0 &&
		    memcmp(q + sizeof(code_file) - 1, "\", line ", 8) == 0) {
			q += sizeof(code_file) - 1 + 8;
			for (v = 0; q < eol && *q >= '0' && *q <= '9' && v < 10000000; q++)
				v = v * 10 + (*q - '0');
			if (v > 0)
				f->line = (int)v;
		}
	}
	s->prev_indented = s->in_tb;
	s->msg_open = 0;
}

/* Reads a line after a frame: when it is an exception line ("Name",
 * "Name:", "Name: message", Name possibly dotted), takes its type and the
 * start of its message. */
static void
exception_line(const char *p, const char *eol, struct tb_facts *f, struct tb_state *s)
{
	const char *q, *name_end;

	s->prev_indented = 0;
	for (name_end = p; name_end < eol && (pyname_char((unsigned char)*name_end) ||
	    *name_end == '.'); name_end++)
		;
	if (name_end != eol && *name_end != ':' && *name_end != '\r')
		return;
	s->found = 1;
	s->msg_open = 1;
	for (q = name_end; q > p && q[-1] != '.'; q--)
		;
	utf8_copy(f->type, sizeof(f->type), q, (size_t)(name_end - q));
	q = name_end;
	if (q < eol && *q == ':') {
		q++;
		if (q < eol && *q == ' ')
			q++;
	}
	f->message = q < eol ? q : eol;
	s->msg_end = eol;
}

/* Reads one line (p..eol, without the newline) into f and s. */
static void
tb_line(const char *p, const char *eol, struct tb_facts *f, struct tb_state *s)
{
	if ((size_t)(eol - p) >= sizeof(tb_head) - 1 &&
	    memcmp(p, tb_head, sizeof(tb_head) - 1) == 0) {
		s->in_tb = 1;
		s->prev_indented = s->msg_open = 0;
	} else if (*p == ' ' || *p == '\t')
		frame_line(p, eol, f, s);
	else if (p == eol || (eol - p == 1 && *p == '\r'))
		s->prev_indented = s->msg_open = 0;
	else if (s->msg_open)
		s->msg_end = eol;	/* the message goes on over several lines */
	else if (!s->in_tb || !s->prev_indented || !pyname_start((unsigned char)*p))
		s->prev_indented = 0;
	else
		exception_line(p, eol, f, s);
}

int
traceback_parse(const char *text, size_t len, struct tb_facts *f)
{
	struct tb_state s = { 0, 0, 0, 0, NULL };
	const char *p, *end, *eol;

	memset(f, 0, sizeof(*f));
	if (text == NULL)
		return 0;
	end = text + len;
	for (p = text; p < end; p = eol < end ? eol + 1 : end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (*p == '\x1e')	/* the sandbox's record line */
			break;
		tb_line(p, eol, f, &s);
	}
	if (!s.found || f->type[0] == '\0') {
		f->message = NULL;
		return 0;
	}
	f->message_len = s.msg_end > f->message ? (size_t)(s.msg_end - f->message) : 0;
	while (f->message_len > 0 && (f->message[f->message_len - 1] == '\r' ||
	    f->message[f->message_len - 1] == ' '))
		f->message_len--;
	return 1;
}
