#include "base/pyname.h"

int
pyname_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

int
pyname_char(int c)
{
	return pyname_start(c) || (c >= '0' && c <= '9');
}

int
pyname_dotted(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !pyname_start((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++) {
		if (s[i] == '.') {
			if (i + 1 >= n || !pyname_start((unsigned char)s[i + 1]))
				return 0;
		} else if (!pyname_char((unsigned char)s[i]))
			return 0;
	}
	return 1;
}
