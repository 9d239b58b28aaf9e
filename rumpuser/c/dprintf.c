/*
 * dprintf.c -- rumpuser_dprintf: a small printf that writes through rumpuser_putchar.
 *
 * docs/contract.md §1.7: callable in any state, even before rumpuser_init, and never upcalls.
 * No libc: the conversions are formatted here. Supported: %d %i %u %x %X %o %p %s %c %%,
 * the flags '-' and '0', a decimal or '*' field width, an optional precision for %s,
 * and the length modifiers hh h l ll z j t.
 */
#include <stdarg.h>
#include <stdint.h>

#include "rumpuser.h"

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

struct spec {
	int left;        /* '-' */
	int zero;        /* '0' */
	int width;       /* minimum field width */
	int precision;   /* -1 when absent; limits %s */
	enum length len;
};

static void pad(int count, int ch)
{
	while (count-- > 0)
		rumpuser_putchar(ch);
}

/* Prints `text` (length n) padded to the field width; zero padding goes after a sign. */
static void emit(const struct spec *sp, const char *text, int n, int numeric)
{
	int fill = sp->width > n ? sp->width - n : 0;
	int i = 0;

	if (sp->left) {
		for (; i < n; i++)
			rumpuser_putchar(text[i]);
		pad(fill, ' ');
		return;
	}
	if (sp->zero && numeric) {
		if (n > 0 && text[0] == '-')
			rumpuser_putchar(text[i++]);
		pad(fill, '0');
	} else {
		pad(fill, ' ');
	}
	for (; i < n; i++)
		rumpuser_putchar(text[i]);
}

/* Formats `value` in `base` into the end of buf (size 24 is enough for 64 bits octal). */
static int digits(char *buf, int size, uint64_t value, unsigned base, int upper, int negative)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int pos = size;

	do {
		buf[--pos] = set[value % base];
		value /= base;
	} while (value != 0);
	if (negative)
		buf[--pos] = '-';
	return pos;
}

static int64_t signed_arg(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR: return (signed char)va_arg(*ap, int);
	case LEN_SHORT: return (short)va_arg(*ap, int);
	case LEN_LONG: return va_arg(*ap, long);
	case LEN_LLONG: return va_arg(*ap, long long);
	case LEN_SIZE: return va_arg(*ap, long);
	default: return va_arg(*ap, int);
	}
}

static uint64_t unsigned_arg(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR: return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT: return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG: return va_arg(*ap, unsigned long);
	case LEN_LLONG: return va_arg(*ap, unsigned long long);
	case LEN_SIZE: return va_arg(*ap, size_t);
	default: return va_arg(*ap, unsigned int);
	}
}

/* Parses flags, width, precision and length; returns the position of the conversion. */
static const char *parse_spec(const char *p, struct spec *sp, va_list *ap)
{
	sp->left = sp->zero = sp->width = 0;
	sp->precision = -1;
	sp->len = LEN_INT;
	for (;; p++) {
		if (*p == '-')
			sp->left = 1;
		else if (*p == '0')
			sp->zero = 1;
		else if (*p != '+' && *p != ' ' && *p != '#')
			break;
	}
	if (*p == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->left = 1;
			sp->width = -sp->width;
		}
		p++;
	}
	for (; *p >= '0' && *p <= '9'; p++)
		sp->width = sp->width * 10 + (*p - '0');
	if (*p == '.') {
		sp->precision = 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			sp->precision = sp->precision * 10 + (*p - '0');
	}
	if (p[0] == 'h' && p[1] == 'h') {
		sp->len = LEN_CHAR;
		p += 2;
	} else if (p[0] == 'h') {
		sp->len = LEN_SHORT;
		p++;
	} else if (p[0] == 'l' && p[1] == 'l') {
		sp->len = LEN_LLONG;
		p += 2;
	} else if (p[0] == 'l' || p[0] == 'j' || p[0] == 't') {
		sp->len = LEN_LONG;
		p++;
	} else if (p[0] == 'z') {
		sp->len = LEN_SIZE;
		p++;
	}
	return p;
}

void rumpuser_dprintf(const char *fmt, ...)
{
	char buf[24];
	struct spec sp;
	va_list ap;
	const char *p;

	if (fmt == NULL)
		return;
	va_start(ap, fmt);
	for (p = fmt; *p != '\0'; p++) {
		if (*p != '%') {
			rumpuser_putchar((unsigned char)*p);
			continue;
		}
		p = parse_spec(p + 1, &sp, &ap);
		switch (*p) {
		case 'd':
		case 'i': {
			int64_t v = signed_arg(&ap, sp.len);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			int pos = digits(buf, sizeof(buf), mag, 10, 0, v < 0);
			emit(&sp, buf + pos, (int)sizeof(buf) - pos, 1);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			unsigned base = *p == 'u' ? 10 : *p == 'o' ? 8 : 16;
			uint64_t v = unsigned_arg(&ap, sp.len);
			int pos = digits(buf, sizeof(buf), v, base, *p == 'X', 0);
			emit(&sp, buf + pos, (int)sizeof(buf) - pos, 1);
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			int pos = digits(buf, sizeof(buf), v, 16, 0, 0);
			buf[--pos] = 'x';
			buf[--pos] = '0';
			emit(&sp, buf + pos, (int)sizeof(buf) - pos, 0);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n = 0;
			if (s == NULL)
				s = "(null)";
			while (s[n] != '\0' && (sp.precision < 0 || n < sp.precision))
				n++;
			emit(&sp, s, n, 0);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			emit(&sp, &c, 1, 0);
			break;
		}
		case '%':
			rumpuser_putchar('%');
			break;
		case '\0':
			/* A lone '%' at the end: print it and stop. */
			rumpuser_putchar('%');
			p--;
			break;
		default:
			/* Unknown conversion: print it literally so the message stays readable. */
			rumpuser_putchar('%');
			rumpuser_putchar((unsigned char)*p);
			break;
		}
	}
	va_end(ap);
}
