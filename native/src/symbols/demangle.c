/*
 * Demangling: C++ (Itanium) through libstdc++'s __cxa_demangle; Rust legacy names (Itanium-like
 * `_ZN...17h<hash>E`) through the same, then without the hash and with the `$LT$`-style escapes
 * decoded; Rust v0 (`_R...`) by the small parser below.
 *
 * The v0 parser covers paths (crate roots, nested names, closures and shims, inherent and trait
 * impls, generic arguments, back-references), types (basic, references, pointers, arrays,
 * slices, tuples, fn pointers, dyn traits) and integer/bool/char constants. It prints the
 * "alternate" form: no crate hashes, no const types, erased lifetimes as '_. It gives up
 * (the caller keeps the mangled name) on punycode identifiers, an encoding version, string or
 * aggregate constants and anything it does not know.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "symbols/symbols.h"

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* ---- Rust legacy ---- */

/* `_ZN ... 17h<16 hex>E`, possibly followed by a ".llvm.1234" suffix */
static bool rust_legacy_hash(const char *name)
{
	const char *h = strstr(name, "17h");
	for (; h; h = strstr(h + 1, "17h")) {
		size_t i = 3;
		while (i < 19 && isxdigit((unsigned char)h[i]))
			i++;
		if (i == 19 && h[19] == 'E' && (h[20] == 0 || h[20] == '.'))
			return true;
	}
	return false;
}

static void rust_legacy_unescape(const char *s, size_t n, struct swp_buf *out)
{
	static const struct {
		const char *code, *text;
	} esc[] = { { "SP", "@" }, { "BP", "*" }, { "RF", "&" }, { "LT", "<" }, { "GT", ">" },
		    { "LP", "(" }, { "RP", ")" }, { "C", "," } };
	for (size_t i = 0; i < n;) {
		bool seg_start = i == 0 || (i >= 2 && s[i - 1] == ':' && s[i - 2] == ':');
		if (seg_start && s[i] == '_' && i + 1 < n && s[i + 1] == '$') {
			i++; /* "_$LT$" starts a segment that would otherwise begin with '$' */
			continue;
		}
		if (s[i] == '.' && i + 1 < n && s[i + 1] == '.') {
			swp__buf_puts(out, "::");
			i += 2;
			continue;
		}
		const char *end = s[i] == '$' ? memchr(s + i + 1, '$', n - i - 1) : NULL;
		if (end) {
			size_t len = (size_t)(end - s) - i - 1;
			const char *code = s + i + 1, *text = NULL;
			char ch[2] = { 0, 0 };
			for (size_t k = 0; k < SWP_ARRAY_SIZE(esc) && !text; k++)
				if (strlen(esc[k].code) == len && !memcmp(esc[k].code, code, len))
					text = esc[k].text;
			if (!text && len >= 2 && len <= 3 && code[0] == 'u') {
				char hex[3] = { code[1], len == 3 ? code[2] : 0, 0 };
				char *e;
				long v = strtol(hex, &e, 16);
				if (!*e && v > 0x1f && v < 0x7f)
					ch[0] = (char)v, text = ch;
			}
			if (text) {
				swp__buf_puts(out, text);
				i += len + 2;
				continue;
			}
		}
		swp__buf_putc(out, s[i++]);
	}
}

/* ---- Rust v0 ---- */

struct v0 {
	const char *s; /* the symbol after "_R" (back-references count from here) */
	size_t n, pos;
	struct swp_buf *out;
	size_t out_max; /* give up past this length (back-references can multiply the output) */
	int depth, quiet;
	bool bad;
};

static char v0_peek(struct v0 *p)
{
	return p->pos < p->n ? p->s[p->pos] : 0;
}

static char v0_next(struct v0 *p)
{
	if (p->pos >= p->n) {
		p->bad = true;
		return 0;
	}
	return p->s[p->pos++];
}

static bool v0_eat(struct v0 *p, char c)
{
	if (p->pos < p->n && p->s[p->pos] == c) {
		p->pos++;
		return true;
	}
	return false;
}

static void v0_put(struct v0 *p, const char *s, size_t n)
{
	if (p->quiet || p->bad)
		return;
	if (p->out->len + n > p->out_max)
		p->bad = true;
	else
		swp__buf_put(p->out, s, n);
}

static void v0_puts(struct v0 *p, const char *s)
{
	v0_put(p, s, strlen(s));
}

static void v0_putu(struct v0 *p, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	v0_put(p, tmp, (size_t)n);
}

/* base-62-number: "_" is 0, "<digits>_" is value + 1 */
static uint64_t v0_b62(struct v0 *p)
{
	if (v0_eat(p, '_'))
		return 0;
	uint64_t v = 0;
	for (;;) {
		char c = v0_next(p);
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10
			: c >= 'A' && c <= 'Z' ? c - 'A' + 36 : c == '_' ? -2 : -1;
		if (d == -2)
			return v + 1;
		if (d < 0 || v > (UINT64_MAX - 61) / 62) {
			p->bad = true;
			return 0;
		}
		v = v * 62 + (uint64_t)d;
	}
}

/* [tag base-62-number] as value + 1, 0 when absent (disambiguators, binders) */
static uint64_t v0_opt_b62(struct v0 *p, char tag)
{
	return v0_eat(p, tag) ? v0_b62(p) + 1 : 0;
}

/* undisambiguated-identifier: decimal length, "_" when the bytes start with a digit or '_' */
static void v0_ident(struct v0 *p, const char **name, size_t *len)
{
	*name = "";
	*len = 0;
	if (v0_peek(p) == 'u' || !isdigit((unsigned char)v0_peek(p))) {
		p->bad = true; /* punycode is not supported */
		return;
	}
	size_t n = 0;
	if (!v0_eat(p, '0')) {
		while (isdigit((unsigned char)v0_peek(p)) && n < 100000)
			n = n * 10 + (size_t)(v0_next(p) - '0');
	}
	v0_eat(p, '_');
	if (n > p->n - p->pos) {
		p->bad = true;
		return;
	}
	*name = p->s + p->pos;
	*len = n;
	p->pos += n;
}

static void v0_path(struct v0 *p, bool in_value);
static void v0_type(struct v0 *p);
static void v0_const(struct v0 *p);

static bool v0_enter(struct v0 *p)
{
	if (p->bad || ++p->depth > 200) {
		p->bad = true;
		return false;
	}
	return true;
}

/* "B" base-62-number: parse again at an earlier position; skipped without printing when quiet */
static void v0_backref(struct v0 *p, void (*fn)(struct v0 *, bool), bool arg)
{
	size_t at = p->pos - 1;
	uint64_t to = v0_b62(p);
	if (p->bad || to >= at) {
		p->bad = true;
		return;
	}
	if (p->quiet)
		return;
	size_t save = p->pos;
	p->pos = (size_t)to;
	fn(p, arg);
	p->pos = save;
}

static void v0_type_fn(struct v0 *p, bool unused)
{
	v0_type(p);
}

static void v0_const_fn(struct v0 *p, bool unused)
{
	v0_const(p);
}

static void v0_generic_args(struct v0 *p)
{
	v0_puts(p, "<");
	for (int i = 0; !p->bad && !v0_eat(p, 'E'); i++) {
		if (i)
			v0_puts(p, ", ");
		if (v0_eat(p, 'L')) {
			v0_b62(p);
			v0_puts(p, "'_");
		} else if (v0_eat(p, 'K')) {
			v0_const(p);
		} else {
			v0_type(p);
		}
	}
	v0_puts(p, ">");
}

static void v0_path(struct v0 *p, bool in_value)
{
	if (!v0_enter(p))
		return;
	const char *name;
	size_t len;
	char tag = v0_next(p);
	switch (tag) {
	case 'C': /* crate root; its hash (the disambiguator) is not printed */
		v0_opt_b62(p, 's');
		v0_ident(p, &name, &len);
		v0_put(p, name, len);
		break;
	case 'M': /* <Type> */
	case 'X': /* <Type as Trait> */
	case 'Y': /* <Type as Trait>, a trait's own item */
		if (tag != 'Y') {
			v0_opt_b62(p, 's');
			p->quiet++; /* the impl's own path is not printed */
			v0_path(p, false);
			p->quiet--;
		}
		v0_puts(p, "<");
		v0_type(p);
		if (tag != 'M') {
			v0_puts(p, " as ");
			v0_path(p, false);
		}
		v0_puts(p, ">");
		break;
	case 'N': {
		char ns = v0_next(p);
		v0_path(p, in_value);
		uint64_t dis = v0_opt_b62(p, 's');
		v0_ident(p, &name, &len);
		if (ns >= 'A' && ns <= 'Z') { /* {closure#0}, {shim:vtable#0} */
			v0_puts(p, "::{");
			v0_puts(p, ns == 'C' ? "closure" : ns == 'S' ? "shim" : (char[2]){ ns, 0 });
			if (len) {
				v0_puts(p, ":");
				v0_put(p, name, len);
			}
			v0_puts(p, "#");
			v0_putu(p, dis);
			v0_puts(p, "}");
		} else if (ns >= 'a' && ns <= 'z') {
			if (len) {
				v0_puts(p, "::");
				v0_put(p, name, len);
			}
		} else {
			p->bad = true;
		}
		break;
	}
	case 'I':
		v0_path(p, in_value);
		if (in_value)
			v0_puts(p, "::");
		v0_generic_args(p);
		break;
	case 'B':
		v0_backref(p, v0_path, in_value);
		break;
	default:
		p->bad = true;
	}
	p->depth--;
}

static const char *v0_basic(char c)
{
	switch (c) {
	case 'a': return "i8";
	case 'b': return "bool";
	case 'c': return "char";
	case 'd': return "f64";
	case 'e': return "str";
	case 'f': return "f32";
	case 'h': return "u8";
	case 'i': return "isize";
	case 'j': return "usize";
	case 'l': return "i32";
	case 'm': return "u32";
	case 'n': return "i128";
	case 'o': return "u128";
	case 'p': return "_";
	case 's': return "i16";
	case 't': return "u16";
	case 'u': return "()";
	case 'v': return "...";
	case 'x': return "i64";
	case 'y': return "u64";
	case 'z': return "!";
	default: return NULL;
	}
}

/* dyn-trait: a trait path and its associated type bindings, merged into one <...> list */
static void v0_dyn_trait(struct v0 *p)
{
	v0_path(p, false);
	bool open = false;
	while (!p->bad && v0_eat(p, 'p')) {
		const char *name;
		size_t len;
		if (open) {
			v0_puts(p, ", ");
		} else if (!p->quiet && p->out->len && p->out->data[p->out->len - 1] == '>') {
			p->out->data[--p->out->len] = 0;
			v0_puts(p, ", ");
		} else {
			v0_puts(p, "<");
		}
		open = true;
		v0_ident(p, &name, &len);
		v0_put(p, name, len);
		v0_puts(p, " = ");
		v0_type(p);
	}
	if (open)
		v0_puts(p, ">");
}

static void v0_type(struct v0 *p)
{
	if (!v0_enter(p))
		return;
	char tag = v0_next(p);
	const char *basic = v0_basic(tag);
	int i = 0;
	if (basic) {
		v0_puts(p, basic);
	} else if (tag == 'R' || tag == 'Q') {
		v0_puts(p, "&");
		if (v0_eat(p, 'L') && v0_b62(p))
			v0_puts(p, "'_ ");
		if (tag == 'Q')
			v0_puts(p, "mut ");
		v0_type(p);
	} else if (tag == 'P' || tag == 'O') {
		v0_puts(p, tag == 'P' ? "*const " : "*mut ");
		v0_type(p);
	} else if (tag == 'A' || tag == 'S') {
		v0_puts(p, "[");
		v0_type(p);
		if (tag == 'A') {
			v0_puts(p, "; ");
			v0_const(p);
		}
		v0_puts(p, "]");
	} else if (tag == 'T') {
		v0_puts(p, "(");
		for (; !p->bad && !v0_eat(p, 'E'); i++) {
			if (i)
				v0_puts(p, ", ");
			v0_type(p);
		}
		v0_puts(p, i == 1 ? ",)" : ")");
	} else if (tag == 'F') {
		v0_opt_b62(p, 'G');
		if (v0_eat(p, 'U'))
			v0_puts(p, "unsafe ");
		if (v0_eat(p, 'K')) {
			v0_puts(p, "extern \"");
			if (v0_eat(p, 'C')) {
				v0_puts(p, "C");
			} else {
				const char *abi;
				size_t len;
				v0_ident(p, &abi, &len);
				for (size_t k = 0; k < len; k++)
					v0_put(p, abi[k] == '_' ? "-" : &abi[k], 1);
			}
			v0_puts(p, "\" ");
		}
		v0_puts(p, "fn(");
		for (; !p->bad && !v0_eat(p, 'E'); i++) {
			if (i)
				v0_puts(p, ", ");
			v0_type(p);
		}
		v0_puts(p, ")");
		if (!v0_eat(p, 'u')) {
			v0_puts(p, " -> ");
			v0_type(p);
		}
	} else if (tag == 'D') {
		v0_opt_b62(p, 'G');
		v0_puts(p, "dyn ");
		for (; !p->bad && !v0_eat(p, 'E'); i++) {
			if (i)
				v0_puts(p, " + ");
			v0_dyn_trait(p);
		}
		if (!v0_eat(p, 'L'))
			p->bad = true;
		v0_b62(p);
	} else if (tag == 'B') {
		v0_backref(p, v0_type_fn, false);
	} else {
		p->pos--; /* a path used as a type */
		v0_path(p, false);
	}
	p->depth--;
}

/* integers, bool and char; a placeholder is "_" */
static void v0_const(struct v0 *p)
{
	if (!v0_enter(p))
		return;
	if (v0_eat(p, 'B')) {
		v0_backref(p, v0_const_fn, false);
	} else if (v0_eat(p, 'p')) {
		v0_puts(p, "_");
	} else {
		char ty = v0_next(p);
		bool neg = v0_eat(p, 'n');
		uint64_t v = 0;
		size_t digits = 0;
		for (char c; (c = v0_next(p)) != '_' && !p->bad; digits++) {
			if (!isxdigit((unsigned char)c) || digits >= 16) {
				p->bad = true; /* 128-bit values are not printed */
				break;
			}
			v = v * 16 + (uint64_t)(isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10);
		}
		if (ty == 'b') {
			v0_puts(p, v ? "true" : "false");
		} else if (ty == 'c' && v >= 0x20 && v < 0x7f && v != '\'' && v != '\\') {
			v0_put(p, "'", 1);
			v0_put(p, (char[1]){ (char)v }, 1);
			v0_put(p, "'", 1);
		} else if (strchr("ahijlmnostxy", ty) && ty) {
			if (neg)
				v0_puts(p, "-");
			v0_putu(p, v);
		} else {
			p->bad = true;
		}
	}
	p->depth--;
}

static bool rust_v0(const char *name, struct swp_buf *out)
{
	struct v0 p = { .s = name + 2, .out = out, .out_max = out->len + 4096 };
	p.n = strcspn(p.s, "."); /* ".llvm.123" and other vendor suffixes */
	if (isdigit((unsigned char)v0_peek(&p)))
		return false; /* an encoding version: none is defined yet */
	size_t start = out->len;
	v0_path(&p, true);
	/* an instantiating crate may follow; it is not printed */
	if (p.bad) {
		out->len = start;
		if (out->data)
			out->data[start] = 0;
		return false;
	}
	return true;
}

bool swp__demangle(const char *name, struct swp_buf *out)
{
	if (name[0] != '_')
		return false;
	if (name[1] == 'R' && isupper((unsigned char)name[2]))
		return rust_v0(name, out);
	if (name[1] != 'Z')
		return false;
	int status = 0;
	char *d = __cxa_demangle(name, NULL, NULL, &status);
	if (!d || status != 0) {
		free(d);
		return false;
	}
	size_t n = strlen(d);
	if (name[2] == 'N' && rust_legacy_hash(name) && n > 19 && !memcmp(d + n - 19, "::h", 3))
		rust_legacy_unescape(d, n - 19, out);
	else
		swp__buf_put(out, d, n);
	free(d);
	return true;
}
