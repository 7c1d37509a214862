/*
 * log: the one diagnostics front end. Lines go to stderr (the web server's
 * or spawn-fcgi's error log) as "time prog[pid]: message".
 *   log_warn  adds ": strerror(errno)";  log_warnx does not.
 *   die       is for start-up only: a long-lived responder never aborts.
 */
#ifndef LOG_H
#define LOG_H

void log_init(const char *progname);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
