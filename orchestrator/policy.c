/* policy.c - policy files -> struct fp_policy (a sandbox spec + limits).
 *
 * Theory of operation. A policy is read in three steps:
 *  1. parse: jsonc.c blanks the comments and cJSON parses the text;
 *  2. apply: the tree is checked field by field and applied onto a
 *     struct pol_doc. "extends" applies the base file first, then this
 *     one: objects merge key by key (null removes a key of files, tmpfs
 *     and env), arrays and scalars replace, seccomp.rules are appended.
 *     Every check happens here, where the text is at hand, so an error
 *     names file:line: field.path;
 *  3. build: the doc becomes the sbx_spec through the sandbox API.
 *
 * Unknown fields are errors everywhere: a misspelt "memroy_mb" silently
 * ignored would leave a limit at its default while the author believes
 * otherwise. struct fp_policy has no room for the doc (mounts, rules,
 * their reasons), which fp_policy_describe needs: a small table keyed by
 * the spec pointer keeps it until fp_policy_free. */
#include "policy.h"
#include "jsonc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define POL_MAX_FILE_BYTES (256u << 10) /* a policy file */
#define POL_MAX_DEPTH 12                /* field path depth */
#define POL_MAX_EXTENDS 4               /* base of a base of ... */
#define POL_MAX_ITEMS 256               /* binds, files, env, rules ... */
#define POL_MAX_CONTENT (64u << 10)     /* one filesystem.files entry */
#define POL_MAX_PATH 1024
#define POL_MAX_CMPS 6

/* ---- numeric fields: one table for checks, defaults and describe ---- */

enum num_id {
	N_UID, N_TMP_MB, N_WS_MB, N_MEMORY_MB, N_PIDS, N_CPU_S, N_CPU_S_PROC,
	N_CPU_PCT, N_FILE_MB, N_OPEN_FILES, N_STACK_MB, N_AS_MB, N_WALL_S,
	N_OUTPUT_KB, N_START_S, N_PROBE_S, N_TEST_S, N_MAX_FILES,
	N_MAX_FILE_KB, N_MAX_TOTAL_KB, N_COUNT
};

struct num_field {
	const char *section; /* "" = top level */
	const char *key;
	uint64_t min, max, def;
};

/* Defaults match the header's and the shipped default policy. uid 0 is
 * refused: root inside with capabilities dropped still owns root's files
 * (facts.md); 65534/65535 are nobody and the "no uid" value. */
static const struct num_field num_fields[N_COUNT] = {
	[N_UID] = { "", "uid", 1, 65533, 1000 },
	[N_TMP_MB] = { "filesystem", "tmp_mb", 1, 16384, 64 },
	[N_WS_MB] = { "filesystem", "workspace_mb", 1, 65536, 256 },
	[N_MEMORY_MB] = { "limits", "memory_mb", 1, 1u << 20, 1024 },
	[N_PIDS] = { "limits", "pids", 1, 1u << 22, 128 },
	[N_CPU_S] = { "limits", "cpu_seconds", 1, 7 * 86400, 120 },
	[N_CPU_S_PROC] = { "limits", "cpu_seconds_per_process", 1, 7 * 86400,
	                   120 },
	[N_CPU_PCT] = { "limits", "cpu_percent", 1, 100 * 1024, 100 },
	[N_FILE_MB] = { "limits", "file_mb", 1, 1u << 20, 64 },
	[N_OPEN_FILES] = { "limits", "open_files", 1, 1u << 20, 256 },
	[N_STACK_MB] = { "limits", "stack_mb", 1, 4096, 8 },
	/* 0 = no RLIMIT_AS: threads reserve large stacks and JITs reserve
	 * address space they never touch; memory_mb is the real cap. */
	[N_AS_MB] = { "limits", "address_space_mb", 0, 1u << 24, 0 },
	[N_WALL_S] = { "limits", "wall_seconds", 1, 7 * 86400, 300 },
	[N_OUTPUT_KB] = { "limits", "output_kb", 1, 1u << 20, 1024 },
	[N_START_S] = { "timeouts", "start_seconds", 1, 3600, 30 },
	[N_PROBE_S] = { "timeouts", "probe_seconds", 1, 3600, 5 },
	[N_TEST_S] = { "timeouts", "test_seconds", 1, 86400, 180 },
	[N_MAX_FILES] = { "candidate", "max_files", 1, 100000, 200 },
	[N_MAX_FILE_KB] = { "candidate", "max_file_kb", 1, 1u << 20, 1024 },
	[N_MAX_TOTAL_KB] = { "candidate", "max_total_kb", 1, 1u << 22, 8192 },
};

/* ---- symbolic names ------------------------------------------------- */

struct sym {
	const char *name;
	uint64_t value;
};

#define SYM(x) { #x, (uint64_t)(x) }
/* Values for seccomp argument comparisons, from the real headers. */
static const struct sym arg_syms[] = {
	SYM(CLONE_NEWNS), SYM(CLONE_NEWUTS), SYM(CLONE_NEWIPC),
	SYM(CLONE_NEWUSER), SYM(CLONE_NEWPID), SYM(CLONE_NEWNET),
	SYM(CLONE_NEWCGROUP), SYM(CLONE_VM), SYM(CLONE_FS), SYM(CLONE_FILES),
	SYM(CLONE_SIGHAND), SYM(CLONE_THREAD), SYM(CLONE_VFORK),
	SYM(CLONE_PARENT), SYM(CLONE_PTRACE), SYM(CLONE_UNTRACED),
	SYM(AF_UNIX), SYM(AF_INET), SYM(AF_INET6), SYM(AF_NETLINK),
	SYM(AF_PACKET), SYM(AF_KEY), SYM(AF_BLUETOOTH), SYM(AF_VSOCK),
	SYM(AF_ALG),
	SYM(SOCK_STREAM), SYM(SOCK_DGRAM), SYM(SOCK_RAW), SYM(SOCK_RDM),
	SYM(SOCK_SEQPACKET), SYM(SOCK_PACKET), SYM(SOCK_NONBLOCK),
	SYM(SOCK_CLOEXEC),
	SYM(TIOCSTI), SYM(TIOCLINUX), SYM(TIOCSETD), SYM(TIOCCONS),
	SYM(PER_LINUX), SYM(ADDR_NO_RANDOMIZE), SYM(READ_IMPLIES_EXEC),
};

static const struct sym errno_syms[] = {
	SYM(EPERM), SYM(ENOENT), SYM(EINTR), SYM(EIO), SYM(ENXIO),
	SYM(E2BIG), SYM(ENOEXEC), SYM(EBADF), SYM(ECHILD), SYM(EAGAIN),
	SYM(ENOMEM), SYM(EACCES), SYM(EFAULT), SYM(EBUSY), SYM(EEXIST),
	SYM(ENODEV), SYM(ENOTDIR), SYM(EISDIR), SYM(EINVAL), SYM(ENFILE),
	SYM(EMFILE), SYM(ENOTTY), SYM(EFBIG), SYM(ENOSPC), SYM(ESPIPE),
	SYM(EROFS), SYM(EMLINK), SYM(EPIPE), SYM(ENOSYS), SYM(ENOTSUP),
	SYM(EAFNOSUPPORT), SYM(EPROTONOSUPPORT), SYM(ECONNREFUSED),
	SYM(ENETUNREACH), SYM(ENOTSOCK), SYM(ESRCH), SYM(ERANGE),
};

static const char *const action_names[] = {
	[SBX_ACT_ALLOW] = "allow", [SBX_ACT_ERRNO] = "errno",
	[SBX_ACT_KILL] = "kill", [SBX_ACT_LOG] = "log",
};

static const char *const op_names[] = {
	[SBX_CMP_EQ] = "eq", [SBX_CMP_NE] = "ne", [SBX_CMP_LT] = "lt",
	[SBX_CMP_LE] = "le", [SBX_CMP_GT] = "gt", [SBX_CMP_GE] = "ge",
	[SBX_CMP_MASKED_EQ] = "masked_eq",
};

static const char *const ns_names[] = {
	"user", "mount", "pid", "net", "ipc", "uts", "cgroup",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool sym_lookup(const struct sym *t, size_t n, const char *name,
                       uint64_t *value)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, name) == 0) {
			*value = t[i].value;
			return true;
		}
	}
	return false;
}

static const char *sym_name(const struct sym *t, size_t n, uint64_t value)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == value)
			return t[i].name;
	return NULL;
}

/* ---- the document ---------------------------------------------------- */

struct pol_bind {
	char *src, *dst;
	bool optional;
};

struct pol_binds {
	struct pol_bind *v;
	size_t n;
};

/* A key -> string (files, env) or key -> number (tmpfs) map. */
struct pol_kv {
	char *key;
	char *str;
	uint64_t num;
};

struct pol_kvs {
	struct pol_kv *v;
	size_t n;
};

struct pol_rule {
	char **names;             /* owned syscall names */
	size_t nnames;
	enum sbx_action action;
	int errnum;               /* for SBX_ACT_ERRNO */
	struct sbx_arg_cmp cmps[POL_MAX_CMPS];
	unsigned ncmp;
	bool optional;
	char args_text[256];      /* "arg0 & CLONE_NEWUSER == CLONE_NEWUSER" */
	char *why;                /* owned */
	char *origin;             /* owned: file of the rule, for errors */
	size_t index;             /* in its file's seccomp.rules */
};

struct pol_doc {
	char *name, *description, *python, *hostname, *workspace_path;
	char *wheelhouse;
	char *chain;              /* owned: "default.json <- tests.json" */
	enum sbx_workspace_mode ws_mode;
	uint64_t num[N_COUNT];
	struct pol_binds ro, rw;
	struct pol_kvs files, tmpfs, env;
	bool have_seccomp;
	enum sbx_action sc_default;
	int sc_errno;
	struct pol_rule *rules;
	size_t nrules;
};

static void binds_clear(struct pol_binds *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].src);
		free(b->v[i].dst);
	}
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

static void kvs_clear(struct pol_kvs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].str);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static void rule_free(struct pol_rule *r)
{
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	free(r->why);
	free(r->origin);
}

static void doc_free(struct pol_doc *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->description);
	free(d->python);
	free(d->hostname);
	free(d->workspace_path);
	free(d->wheelhouse);
	free(d->chain);
	binds_clear(&d->ro);
	binds_clear(&d->rw);
	kvs_clear(&d->files);
	kvs_clear(&d->tmpfs);
	kvs_clear(&d->env);
	for (size_t i = 0; i < d->nrules; i++)
		rule_free(&d->rules[i]);
	free(d->rules);
	free(d);
}

static struct pol_doc *doc_new(void)
{
	struct pol_doc *d = fp_xcalloc(1, sizeof(*d));

	for (size_t i = 0; i < N_COUNT; i++)
		d->num[i] = num_fields[i].def;
	/* Writes of candidate code never reach the host directory. */
	d->ws_mode = SBX_WS_COPY;
	d->sc_default = SBX_ACT_ALLOW;
	return d;
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? fp_strdup(s) : NULL;
}

/* Sets, replaces or (str == NULL and !is_num) removes |key|. */
static void kvs_set(struct pol_kvs *m, const char *key, const char *str,
                    uint64_t num, bool remove)
{
	size_t i;

	for (i = 0; i < m->n && strcmp(m->v[i].key, key) != 0; i++)
		;
	if (remove) {
		if (i < m->n) {
			free(m->v[i].key);
			free(m->v[i].str);
			memmove(&m->v[i], &m->v[i + 1],
			        (m->n - i - 1) * sizeof(m->v[0]));
			m->n--;
		}
		return;
	}
	if (i == m->n) {
		m->v = fp_xrealloc(m->v, (m->n + 1) * sizeof(m->v[0]));
		m->v[m->n++] = (struct pol_kv){ .key = fp_strdup(key) };
	}
	set_str(&m->v[i].str, str);
	m->v[i].num = num;
}

/* ---- parse context and errors ---------------------------------------- */

struct pctx {
	struct pol_doc *doc;
	const char *origin;
	const char *text;         /* the file's text, for line numbers */
	size_t len;
	const char *path[POL_MAX_DEPTH];
	char idx[POL_MAX_DEPTH][24];
	int depth;
	int level;                /* 0 = the file asked for, 1 = its base ... */
	char *chain[POL_MAX_EXTENDS + 2]; /* real paths being applied */
	struct fp_err *err;
};

static void push(struct pctx *c, const char *key)
{
	if (c->depth < POL_MAX_DEPTH)
		c->path[c->depth] = key;
	c->depth++;
}

static void push_idx(struct pctx *c, size_t i)
{
	if (c->depth < POL_MAX_DEPTH) {
		snprintf(c->idx[c->depth], sizeof(c->idx[0]), "[%zu]", i);
		c->path[c->depth] = c->idx[c->depth];
	}
	c->depth++;
}

static void pop(struct pctx *c)
{
	c->depth--;
}

static bool is_ident(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* "limits.memory_mb", "seccomp.rules[3].why", "filesystem.files["/x"]". */
static void format_path(const struct pctx *c, char *buf, size_t len)
{
	size_t o = 0;
	int n = c->depth < POL_MAX_DEPTH ? c->depth : POL_MAX_DEPTH;

	buf[0] = '\0';
	for (int i = 0; i < n && o < len; i++) {
		const char *k = c->path[i];
		int w;

		if (k[0] == '[')
			w = snprintf(buf + o, len - o, "%s", k);
		else if (!is_ident(k))
			w = snprintf(buf + o, len - o, "[\"%s\"]", k);
		else
			w = snprintf(buf + o, len - o, "%s%s", o ? "." : "", k);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* Fills c->err with "origin:line: field.path: message". To fail with it
 * at once, use perr() below. */
static void perr_set(struct pctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void perr_set(struct pctx *c, const char *fmt, ...)
{
	char path[160], msg[FP_ERR_MAX];
	int depth = c->depth < POL_MAX_DEPTH ? c->depth : POL_MAX_DEPTH;
	int line = fp_jsonc_line(c->text, c->len, c->path, depth);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	format_path(c, path, sizeof(path));
	if (path[0])
		fp_errf(c->err, "%s:%d: %s: %s", c->origin, line, path, msg);
	else
		fp_errf(c->err, "%s:%d: %s", c->origin, line, msg);
}

/* Fails with "origin:line: field.path: message" and yields -1. A macro so
 * the -1 is visible at each call: the static analyzer does not look inside
 * variadic functions and would otherwise follow "success" paths out of
 * every error return. */
#define perr(c, ...) (perr_set((c), __VA_ARGS__), -1)

/* ---- typed getters ---------------------------------------------------- */

static int get_uint(struct pctx *c, const cJSON *v, uint64_t min,
                    uint64_t max, uint64_t *out)
{
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;

	/* !(d >= min) also catches NaN; the cast test needs d in range. */
	if (!cJSON_IsNumber(v) || !(d >= (double)min) ||
	    (d < 9e18 && d != (double)(uint64_t)d))
		return perr(c, min ? "expected a positive integer"
		                   : "expected a non-negative integer");
	if (d > (double)max)
		return perr(c, "must be at most %llu", (unsigned long long)max);
	*out = (uint64_t)d;
	return 0;
}

static int get_str(struct pctx *c, const cJSON *v, size_t maxlen,
                   const char **out)
{
	if (!cJSON_IsString(v))
		return perr(c, "expected a string");
	if (strlen(v->valuestring) > maxlen)
		return perr(c, "longer than %zu bytes", maxlen);
	*out = v->valuestring;
	return 0;
}

/* An absolute, normalised path: no "." or ".." component, no "//", no
 * trailing slash. What is mounted where must be obvious from the text. */
static int check_abs(struct pctx *c, const char *s)
{
	if (s[0] != '/')
		return perr(c, "'%s' is not an absolute path", s);
	if (strlen(s) > POL_MAX_PATH)
		return perr(c, "path longer than %d bytes", POL_MAX_PATH);
	for (const char *p = s; *p; p++) {
		if (*p != '/')
			continue;
		if (p[1] == '/' || (p[1] == '\0' && p != s) ||
		    (p[1] == '.' && (p[2] == '/' || p[2] == '\0')) ||
		    (p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == '\0')))
			return perr(c, "'%s' is not a normalised path", s);
	}
	return 0;
}

static int get_abs(struct pctx *c, const cJSON *v, const char **out)
{
	if (get_str(c, v, POL_MAX_PATH, out) < 0)
		return -1;
	return check_abs(c, *out);
}

static int get_bool(struct pctx *c, const cJSON *v, bool *out)
{
	if (!cJSON_IsBool(v))
		return perr(c, "expected true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

/* Objects: a JSON object with no key twice (cJSON keeps both silently)
 * and at most POL_MAX_ITEMS members. */
static int want_object(struct pctx *c, const cJSON *v)
{
	size_t n = 0;

	if (!cJSON_IsObject(v))
		return perr(c, "expected an object");
	for (const cJSON *a = v->child; a; a = a->next, n++) {
		if (n >= POL_MAX_ITEMS)
			return perr(c, "more than %d entries", POL_MAX_ITEMS);
		for (const cJSON *b = v->child; b != a; b = b->next) {
			if (strcmp(a->string, b->string) == 0) {
				int rc;

				push(c, a->string);
				rc = perr(c, "appears twice");
				pop(c);
				return rc;
			}
		}
	}
	return 0;
}

static int want_array(struct pctx *c, const cJSON *v)
{
	if (!cJSON_IsArray(v))
		return perr(c, "expected an array");
	if (cJSON_GetArraySize(v) > POL_MAX_ITEMS)
		return perr(c, "more than %d entries", POL_MAX_ITEMS);
	return 0;
}

/* ---- field tables ---------------------------------------------------- */

struct field {
	const char *key;
	int (*fn)(struct pctx *c, const cJSON *v); /* NULL: numeric */
};

/* Applies each member of |obj| through |fields| (numbers through
 * num_fields, section |section|); an unknown key is an error. */
static int apply_fields(struct pctx *c, const cJSON *obj,
                        const struct field *fields, const char *section)
{
	if (want_object(c, obj) < 0)
		return -1;
	for (const cJSON *m = obj->child; m; m = m->next) {
		const struct field *f = fields;
		int rc = -1;

		push(c, m->string);
		for (; f && f->key && strcmp(f->key, m->string) != 0; f++)
			;
		if (f && f->key) {
			rc = f->fn(c, m);
		} else {
			size_t i;

			for (i = 0; i < N_COUNT; i++)
				if (strcmp(num_fields[i].section, section) == 0 &&
				    strcmp(num_fields[i].key, m->string) == 0)
					break;
			if (i < N_COUNT)
				rc = get_uint(c, m, num_fields[i].min,
				              num_fields[i].max, &c->doc->num[i]);
			else
				rc = perr(c, "unknown field");
		}
		pop(c);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* ---- filesystem -------------------------------------------------------- */

static int bind_object(struct pctx *c, const cJSON *v, struct pol_bind *b)
{
	const char *src = NULL, *dst = NULL;

	if (want_object(c, v) < 0)
		return -1;
	for (const cJSON *m = v->child; m; m = m->next) {
		int rc;

		push(c, m->string);
		if (strcmp(m->string, "src") == 0)
			rc = get_abs(c, m, &src);
		else if (strcmp(m->string, "dst") == 0)
			rc = get_abs(c, m, &dst);
		else if (strcmp(m->string, "optional") == 0)
			rc = get_bool(c, m, &b->optional);
		else
			rc = perr(c, "unknown field");
		pop(c);
		if (rc < 0)
			return -1;
	}
	if (!src) {
		push(c, "src");
		perr_set(c, "required field missing");
		pop(c);
		return -1;
	}
	b->src = fp_strdup(src);
	b->dst = fp_strdup(dst ? dst : src);
	return 0;
}

static int apply_binds(struct pctx *c, const cJSON *v, struct pol_binds *out)
{
	struct pol_binds b = { 0 };
	size_t i = 0;

	if (want_array(c, v) < 0)
		return -1;
	b.v = fp_xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(b.v[0]));
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		const char *s = NULL;
		int rc;

		push_idx(c, i);
		if (cJSON_IsString(e)) {
			rc = get_abs(c, e, &s);
			if (rc == 0) {
				b.v[i].src = fp_strdup(s);
				b.v[i].dst = fp_strdup(s);
			}
		} else if (cJSON_IsObject(e)) {
			rc = bind_object(c, e, &b.v[i]);
		} else {
			rc = perr(c, "expected a path or {\"src\", \"dst\", "
			             "\"optional\"}");
		}
		pop(c);
		b.n = i + 1;
		if (rc < 0) {
			binds_clear(&b);
			return -1;
		}
	}
	b.n = i;
	binds_clear(out); /* arrays replace what a base said */
	*out = b;
	return 0;
}

static int fs_ro(struct pctx *c, const cJSON *v)
{
	return apply_binds(c, v, &c->doc->ro);
}

static int fs_rw(struct pctx *c, const cJSON *v)
{
	return apply_binds(c, v, &c->doc->rw);
}

static int fs_files(struct pctx *c, const cJSON *v)
{
	if (want_object(c, v) < 0)
		return -1;
	for (const cJSON *m = v->child; m; m = m->next) {
		const char *s = NULL;
		int rc;

		push(c, m->string);
		rc = check_abs(c, m->string);
		if (rc == 0 && !cJSON_IsNull(m))
			rc = get_str(c, m, POL_MAX_CONTENT, &s);
		pop(c);
		if (rc < 0)
			return -1;
		kvs_set(&c->doc->files, m->string, s, 0, s == NULL);
	}
	return 0;
}

static int fs_tmpfs(struct pctx *c, const cJSON *v)
{
	if (want_object(c, v) < 0)
		return -1;
	for (const cJSON *m = v->child; m; m = m->next) {
		uint64_t mb = 0;
		int rc;

		push(c, m->string);
		rc = check_abs(c, m->string);
		if (rc == 0 && !cJSON_IsNull(m))
			rc = get_uint(c, m, 1, 16384, &mb);
		pop(c);
		if (rc < 0)
			return -1;
		kvs_set(&c->doc->tmpfs, m->string, NULL, mb, cJSON_IsNull(m));
	}
	return 0;
}

static int fs_workspace(struct pctx *c, const cJSON *v)
{
	static const struct { const char *name; enum sbx_workspace_mode m; }
	modes[] = { { "copy", SBX_WS_COPY }, { "rw", SBX_WS_RW },
	            { "ro", SBX_WS_RO } };

	for (size_t i = 0; cJSON_IsString(v) && i < NELEM(modes); i++) {
		if (strcmp(v->valuestring, modes[i].name) == 0) {
			c->doc->ws_mode = modes[i].m;
			return 0;
		}
	}
	if (cJSON_IsString(v) && strcmp(v->valuestring, "overlay") == 0)
		return perr(c, "\"overlay\" is now \"copy\" (the sandbox "
		               "copies the workspace into a tmpfs)");
	return perr(c, "expected \"copy\", \"rw\" or \"ro\"");
}

static int fs_workspace_path(struct pctx *c, const cJSON *v)
{
	const char *s = NULL;

	if (get_abs(c, v, &s) < 0)
		return -1;
	if (strcmp(s, "/") == 0)
		return perr(c, "the workspace cannot be the root directory");
	set_str(&c->doc->workspace_path, s);
	return 0;
}

static const struct field fs_fields[] = {
	{ "ro", fs_ro }, { "rw", fs_rw }, { "files", fs_files },
	{ "tmpfs", fs_tmpfs }, { "workspace", fs_workspace },
	{ "workspace_path", fs_workspace_path }, { NULL, NULL },
};

static int top_filesystem(struct pctx *c, const cJSON *v)
{
	return apply_fields(c, v, fs_fields, "filesystem");
}

/* ---- seccomp ---------------------------------------------------------- */

/* A number, or "NAME", "0x10", "A|B" (ORed) for argument values. */
static int get_arg_value(struct pctx *c, const cJSON *v, uint64_t *out)
{
	char buf[256], *save = NULL;
	size_t ntok = 0, len;

	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) ||
		    d != (double)(int64_t)d)
			return perr(c, "expected an integer (use a string "
			               "like \"0xffffffff\" for large values)");
		*out = d < 0 ? (uint64_t)(int64_t)d : (uint64_t)d;
		return 0;
	}
	if (!cJSON_IsString(v))
		return perr(c, "expected a number or a constant name");
	len = strlen(v->valuestring);
	if (len >= sizeof(buf))
		return perr(c, "expected a number or a constant name");
	memcpy(buf, v->valuestring, len + 1);
	*out = 0;
	for (char *t = strtok_r(buf, "| ", &save); t;
	     t = strtok_r(NULL, "| ", &save), ntok++) {
		uint64_t x;
		char *end = NULL;

		if (!sym_lookup(arg_syms, NELEM(arg_syms), t, &x)) {
			errno = 0;
			x = strtoull(t, &end, 0);
			if (!isdigit((unsigned char)t[0]) || *end || errno)
				return perr(c, "unknown constant '%s'", t);
		}
		*out |= x;
	}
	if (ntok == 0)
		return perr(c, "expected a number or a constant name");
	return 0;
}

static int get_op(struct pctx *c, const cJSON *v, enum sbx_cmp_op *op)
{
	for (size_t i = 0; cJSON_IsString(v) && i < NELEM(op_names); i++) {
		if (strcmp(v->valuestring, op_names[i]) == 0) {
			*op = (enum sbx_cmp_op)i;
			return 0;
		}
	}
	return perr(c, "expected one of eq, ne, lt, le, gt, ge, masked_eq");
}

static int arg_member(struct pctx *c, const cJSON *m, struct sbx_arg_cmp *a,
                      unsigned *seen)
{
	uint64_t n;

	if (strcmp(m->string, "arg") == 0) {
		if (get_uint(c, m, 0, 5, &n) < 0)
			return -1;
		a->arg = (unsigned)n;
		*seen |= 1;
	} else if (strcmp(m->string, "op") == 0) {
		if (get_op(c, m, &a->op) < 0)
			return -1;
		*seen |= 2;
	} else if (strcmp(m->string, "value") == 0) {
		if (get_arg_value(c, m, &a->value) < 0)
			return -1;
		*seen |= 4;
	} else if (strcmp(m->string, "mask") == 0) {
		if (get_arg_value(c, m, &a->mask) < 0)
			return -1;
		*seen |= 8;
	} else {
		return perr(c, "unknown field");
	}
	return 0;
}

static int rule_arg(struct pctx *c, const cJSON *v, struct sbx_arg_cmp *a)
{
	static const char *const need[] = { "arg", "op", "value" };
	unsigned seen = 0;

	if (want_object(c, v) < 0)
		return -1;
	for (const cJSON *m = v->child; m; m = m->next) {
		int rc;

		push(c, m->string);
		rc = arg_member(c, m, a, &seen);
		pop(c);
		if (rc < 0)
			return -1;
	}
	for (unsigned i = 0; i < 3; i++)
		if (!(seen & (1u << i)))
			return perr(c, "'%s' is required", need[i]);
	if (a->op == SBX_CMP_MASKED_EQ && !(seen & 8))
		return perr(c, "masked_eq needs a \"mask\"");
	if (a->op != SBX_CMP_MASKED_EQ && (seen & 8))
		return perr(c, "\"mask\" is only for masked_eq");
	return 0;
}

/* The comparison as the policy spelt it, for fp_policy_describe. */
static void value_text(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v))
		snprintf(buf, len, "%s", v->valuestring);
	else
		snprintf(buf, len, "%.0f", v->valuedouble);
}

static void describe_arg(const cJSON *e, char *out, size_t outlen)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(e, "op");
	const cJSON *mask = cJSON_GetObjectItemCaseSensitive(e, "mask");
	static const char *const sign[] = {
		[SBX_CMP_EQ] = "==", [SBX_CMP_NE] = "!=", [SBX_CMP_LT] = "<",
		[SBX_CMP_LE] = "<=", [SBX_CMP_GT] = ">", [SBX_CMP_GE] = ">=",
		[SBX_CMP_MASKED_EQ] = "==",
	};
	enum sbx_cmp_op o = SBX_CMP_EQ;
	char val[96], msk[96] = "";
	size_t n = strlen(out);

	for (size_t i = 0; i < NELEM(op_names); i++)
		if (strcmp(op->valuestring, op_names[i]) == 0)
			o = (enum sbx_cmp_op)i;
	value_text(cJSON_GetObjectItemCaseSensitive(e, "value"), val,
	           sizeof(val));
	if (mask)
		value_text(mask, msk, sizeof(msk));
	snprintf(out + n, outlen - n, "%sarg%d%s%s %s %s", n ? " and " : "",
	         cJSON_GetObjectItemCaseSensitive(e, "arg")->valueint,
	         mask ? " & " : "", msk, sign[o], val);
}

static int rule_args(struct pctx *c, const cJSON *v, struct pol_rule *r)
{
	unsigned i = 0;

	if (want_array(c, v) < 0)
		return -1;
	if (cJSON_GetArraySize(v) > POL_MAX_CMPS)
		return perr(c, "at most %d comparisons", POL_MAX_CMPS);
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		int rc;

		push_idx(c, i);
		rc = rule_arg(c, e, &r->cmps[i]);
		for (unsigned j = 0; rc == 0 && j < i; j++)
			if (r->cmps[j].arg == r->cmps[i].arg)
				/* libseccomp 2.5 refuses this (EINVAL). */
				rc = perr(c, "argument %u is already compared in "
				             "this rule; libseccomp allows one "
				             "comparison per argument: split the "
				             "rule", r->cmps[i].arg);
		pop(c);
		if (rc < 0)
			return -1;
		describe_arg(e, r->args_text, sizeof(r->args_text));
	}
	r->ncmp = i;
	return 0;
}

static int add_syscall(struct pctx *c, const cJSON *v, struct pol_rule *r)
{
	const char *s = NULL;

	if (get_str(c, v, 64, &s) < 0)
		return -1;
	if (!*s)
		return perr(c, "empty syscall name");
	r->names = fp_xrealloc(r->names, (r->nnames + 1) * sizeof(char *));
	r->names[r->nnames++] = fp_strdup(s);
	return 0;
}

static int rule_syscalls(struct pctx *c, const cJSON *v, struct pol_rule *r)
{
	size_t i = 0;

	if (want_array(c, v) < 0)
		return -1;
	if (!v->child)
		return perr(c, "expected at least one syscall name");
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		int rc;

		push_idx(c, i);
		rc = add_syscall(c, e, r);
		pop(c);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int get_action(struct pctx *c, const cJSON *v, enum sbx_action *a)
{
	for (size_t i = 0; cJSON_IsString(v) && i < NELEM(action_names); i++) {
		if (strcmp(v->valuestring, action_names[i]) == 0) {
			*a = (enum sbx_action)i;
			return 0;
		}
	}
	return perr(c, "expected \"allow\", \"errno\", \"kill\" or \"log\"");
}

static int get_errno(struct pctx *c, const cJSON *v, int *out)
{
	uint64_t n;

	if (cJSON_IsString(v)) {
		if (!sym_lookup(errno_syms, NELEM(errno_syms), v->valuestring,
		                &n))
			return perr(c, "unknown errno name '%s'",
			            v->valuestring);
		*out = (int)n;
		return 0;
	}
	if (get_uint(c, v, 1, 4095, &n) < 0)
		return -1;
	*out = (int)n;
	return 0;
}

/* The members of one rule; |seen| collects which were given. */
static int rule_member(struct pctx *c, const cJSON *m, struct pol_rule *r,
                       unsigned *seen)
{
	const char *s = NULL;

	if (strcmp(m->string, "syscall") == 0 ||
	    strcmp(m->string, "syscalls") == 0) {
		if (*seen & 1)
			return perr(c, "give \"syscall\" or \"syscalls\", "
			               "not both");
		*seen |= 1;
		return m->string[7] ? rule_syscalls(c, m, r)
		                    : add_syscall(c, m, r);
	}
	if (strcmp(m->string, "action") == 0) {
		*seen |= 2;
		return get_action(c, m, &r->action);
	}
	if (strcmp(m->string, "errno") == 0) {
		*seen |= 4;
		return get_errno(c, m, &r->errnum);
	}
	if (strcmp(m->string, "optional") == 0)
		return get_bool(c, m, &r->optional);
	if (strcmp(m->string, "args") == 0)
		return rule_args(c, m, r);
	if (strcmp(m->string, "why") != 0)
		return perr(c, "unknown field");
	if (get_str(c, m, 2000, &s) < 0)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return perr(c, "must say why the rule exists");
	r->why = fp_strdup(s);
	*seen |= 8;
	return 0;
}

/* Every name must be a syscall of this architecture unless the rule is
 * optional: a typo would otherwise leave the call allowed. */
static int rule_check_names(struct pctx *c, const cJSON *v,
                            const struct pol_rule *r)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(v, "syscalls");

	for (size_t i = 0; i < r->nnames && !r->optional; i++) {
		int rc = 0;

		if (sbx_syscall_known(r->names[i]))
			continue;
		push(c, list ? "syscalls" : "syscall");
		if (list)
			push_idx(c, i);
		rc = perr(c, "unknown syscall '%s' (mark the rule \"optional\": "
		             "true if it is missing only on some "
		             "architectures)", r->names[i]);
		c->depth -= list ? 2 : 1;
		return rc;
	}
	return 0;
}

static int rule_parse(struct pctx *c, const cJSON *v, struct pol_rule *r)
{
	static const char *const need[] = { "\"syscall\" or \"syscalls\"",
		                            "\"action\"" };
	unsigned seen = 0;

	if (want_object(c, v) < 0)
		return -1;
	/* The line is looked up only if the rule fails later (rule_line):
	 * locating every rule's line up front cost 0.6 ms of every start. */
	r->origin = fp_strdup(c->origin);
	for (const cJSON *m = v->child; m; m = m->next) {
		int rc;

		push(c, m->string);
		rc = rule_member(c, m, r, &seen);
		pop(c);
		if (rc < 0)
			return -1;
	}
	for (unsigned i = 0; i < 2; i++)
		if (!(seen & (1u << i)))
			return perr(c, "%s is required", need[i]);
	if (!(seen & 8)) {
		push(c, "why");
		perr_set(c, "required: every rule says why it exists");
		pop(c);
		return -1;
	}
	if ((seen & 4) && r->action != SBX_ACT_ERRNO) {
		push(c, "errno");
		perr_set(c, "only valid with \"action\": \"errno\"");
		pop(c);
		return -1;
	}
	if (r->action == SBX_ACT_ERRNO && !r->errnum)
		r->errnum = EPERM;
	return rule_check_names(c, v, r);
}

static int sc_rules(struct pctx *c, const cJSON *v)
{
	struct pol_doc *d = c->doc;
	size_t i = 0;

	if (want_array(c, v) < 0)
		return -1;
	if (d->nrules + (size_t)cJSON_GetArraySize(v) > POL_MAX_ITEMS)
		return perr(c, "more than %d rules in all", POL_MAX_ITEMS);
	/* Appended: a policy that extends another adds rules to its base. */
	d->rules = fp_xrealloc(d->rules, (d->nrules + (size_t)cJSON_GetArraySize(v) + 1) *
	                                  sizeof(d->rules[0]));
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		struct pol_rule *r = &d->rules[d->nrules];
		int rc;

		memset(r, 0, sizeof(*r));
		r->index = i;
		push_idx(c, i);
		rc = rule_parse(c, e, r);
		pop(c);
		d->nrules++;
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int sc_default(struct pctx *c, const cJSON *v)
{
	return get_action(c, v, &c->doc->sc_default);
}

static int sc_default_errno(struct pctx *c, const cJSON *v)
{
	return get_errno(c, v, &c->doc->sc_errno);
}

static const struct field sc_fields[] = {
	{ "default", sc_default }, { "default_errno", sc_default_errno },
	{ "rules", sc_rules }, { NULL, NULL },
};

static int top_seccomp(struct pctx *c, const cJSON *v)
{
	if (apply_fields(c, v, sc_fields, "seccomp") < 0)
		return -1;
	c->doc->have_seccomp = true;
	if (cJSON_GetObjectItemCaseSensitive(v, "default_errno") &&
	    c->doc->sc_default != SBX_ACT_ERRNO) {
		push(c, "default_errno");
		perr_set(c, "only valid with \"default\": \"errno\"");
		pop(c);
		return -1;
	}
	return 0;
}

/* ---- top-level fields --------------------------------------------------- */

static int top_noop(struct pctx *c, const cJSON *v)
{
	(void)c;
	(void)v;
	return 0; /* version and extends: handled before the others */
}

static int top_name(struct pctx *c, const cJSON *v)
{
	const char *s = NULL;

	if (get_str(c, v, 64, &s) < 0)
		return -1;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return perr(c, "use letters, digits, '.', '_', '-'");
	if (!*s || s[0] == '.')
		return perr(c, "expected a name like \"default\"");
	set_str(&c->doc->name, s);
	return 0;
}

static int top_description(struct pctx *c, const cJSON *v)
{
	const char *s = NULL;

	if (get_str(c, v, 2000, &s) < 0)
		return -1;
	set_str(&c->doc->description, s);
	return 0;
}

/* firstpass always creates all seven namespaces; the field exists so a
 * policy can say so, and a list that leaves one out must not pass for a
 * weaker sandbox that firstpass does not build. */
static int top_namespaces(struct pctx *c, const cJSON *v)
{
	unsigned seen = 0;
	size_t i = 0;

	if (want_array(c, v) < 0)
		return -1;
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		size_t k;
		int rc = 0;

		push_idx(c, i);
		for (k = 0; cJSON_IsString(e) && k < NELEM(ns_names); k++)
			if (strcmp(e->valuestring, ns_names[k]) == 0)
				break;
		if (!cJSON_IsString(e) || k == NELEM(ns_names))
			rc = perr(c, "expected one of user, mount, pid, net, "
			             "ipc, uts, cgroup");
		else if (seen & (1u << k))
			rc = perr(c, "'%s' appears twice", ns_names[k]);
		pop(c);
		if (rc < 0)
			return -1;
		seen |= 1u << k;
	}
	for (size_t k = 0; k < NELEM(ns_names); k++)
		if (!(seen & (1u << k)))
			return perr(c, "'%s' is missing: firstpass always uses "
			               "all seven namespaces (user mount pid net "
			               "ipc uts cgroup)", ns_names[k]);
	return 0;
}

static int top_hostname(struct pctx *c, const cJSON *v)
{
	const char *s = NULL;
	size_t n;

	if (get_str(c, v, 63, &s) < 0)
		return -1;
	n = strlen(s);
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return perr(c, "use letters, digits and '-'");
	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return perr(c, "expected a host name like \"firstpass\"");
	set_str(&c->doc->hostname, s);
	return 0;
}

static int top_python(struct pctx *c, const cJSON *v)
{
	const char *s = NULL;

	if (get_abs(c, v, &s) < 0)
		return -1;
	set_str(&c->doc->python, s);
	return 0;
}

static int top_wheelhouse(struct pctx *c, const cJSON *v)
{
	const char *s = NULL;

	if (!cJSON_IsNull(v) && get_abs(c, v, &s) < 0)
		return -1;
	/* Reserved: offline installs from a local wheel directory are not
	 * implemented yet, and a field that silently does nothing would let
	 * a user believe their requirements get installed. */
	if (s)
		return perr(c, "offline installs from a wheelhouse are not "
		            "supported in this version (use null)");
	set_str(&c->doc->wheelhouse, s);
	return 0;
}

static int top_network(struct pctx *c, const cJSON *v)
{
	if (cJSON_IsString(v) && strcmp(v->valuestring, "loopback") == 0)
		return 0;
	return perr(c, "only \"loopback\" is supported: every sandbox has its "
	               "own network namespace with nothing but lo");
}

static int top_capabilities(struct pctx *c, const cJSON *v)
{
	if (want_array(c, v) < 0)
		return -1;
	if (v->child)
		return perr(c, "must be empty: firstpass drops every capability "
		               "(bounding, permitted, effective, ambient) and "
		               "cannot grant one");
	return 0;
}

static int top_env(struct pctx *c, const cJSON *v)
{
	if (want_object(c, v) < 0)
		return -1;
	for (const cJSON *m = v->child; m; m = m->next) {
		const char *s = NULL;
		int rc = 0;

		push(c, m->string);
		if (!is_ident(m->string))
			rc = perr(c, "not a valid variable name");
		else if (strcmp(m->string, "OPENAI_API_KEY") == 0)
			rc = perr(c, "the API key never enters a sandbox");
		else if (!cJSON_IsNull(m))
			rc = get_str(c, m, 4096, &s);
		pop(c);
		if (rc < 0)
			return -1;
		kvs_set(&c->doc->env, m->string, s, 0, s == NULL);
	}
	return 0;
}

static int top_limits(struct pctx *c, const cJSON *v)
{
	return apply_fields(c, v, NULL, "limits");
}

static int top_timeouts(struct pctx *c, const cJSON *v)
{
	return apply_fields(c, v, NULL, "timeouts");
}

static int top_candidate(struct pctx *c, const cJSON *v)
{
	return apply_fields(c, v, NULL, "candidate");
}

static const struct field top_fields[] = {
	{ "version", top_noop }, { "extends", top_noop },
	{ "name", top_name }, { "description", top_description },
	{ "namespaces", top_namespaces }, { "hostname", top_hostname },
	{ "python", top_python }, { "filesystem", top_filesystem },
	{ "network", top_network }, { "capabilities", top_capabilities },
	{ "env", top_env }, { "limits", top_limits },
	{ "timeouts", top_timeouts }, { "candidate", top_candidate },
	{ "wheelhouse", top_wheelhouse }, { "seccomp", top_seccomp },
	{ NULL, NULL },
};

/* ---- files and extends ------------------------------------------------- */

#ifndef FP_INSTALL_POLICY_DIR
#define FP_INSTALL_POLICY_DIR ""
#endif
#ifndef FP_SOURCE_POLICY_DIR
#define FP_SOURCE_POLICY_DIR ""
#endif

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int fp_policy_resolve(const char *name_or_path, char *out, size_t outlen,
                      struct fp_err *err)
{
	const char *dirs[] = { getenv("FIRSTPASS_POLICY_DIR"),
		               FP_INSTALL_POLICY_DIR, FP_SOURCE_POLICY_DIR };
	const char *s = name_or_path;

	if (strchr(s, '/') || ends_with(s, ".json")) {
		if ((size_t)snprintf(out, outlen, "%s", s) >= outlen)
			return fp_errf(err, "policy path too long");
		errno = 0;
		if (!is_regular(out))
			return fp_errf(err, "cannot open policy '%s': %s", s,
			               errno ? strerror(errno) : "not a file");
		return 0;
	}
	if (!*s || s[0] == '.' || strlen(s) > 64)
		return fp_errf(err, "invalid policy name '%s'", s);
	for (size_t i = 0; i < NELEM(dirs); i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		if ((size_t)snprintf(out, outlen, "%s/%s.json", dirs[i], s) <
		            outlen && is_regular(out))
			return 0;
	}
	return fp_errf(err, "no policy named '%s' (looked in "
	                    "$FIRSTPASS_POLICY_DIR, %s, %s)", s,
	               FP_INSTALL_POLICY_DIR, FP_SOURCE_POLICY_DIR);
}

/* The base of an "extends": a path is relative to the extending file's
 * directory; a NAME is first looked up beside it, then like --policy. */
static int resolve_base(const struct pctx *c, const char *name, char *out,
                        size_t outlen, struct fp_err *err)
{
	const char *slash = strrchr(c->origin, '/');
	int dirlen = slash ? (int)(slash - c->origin + 1) : 0;
	size_t n;

	if (strchr(name, '/') || ends_with(name, ".json")) {
		if (name[0] == '/')
			n = (size_t)snprintf(out, outlen, "%s", name);
		else
			n = (size_t)snprintf(out, outlen, "%.*s%s", dirlen,
			                     c->origin, name);
		return n < outlen ? 0 : fp_errf(err, "path too long");
	}
	n = (size_t)snprintf(out, outlen, "%.*s%s.json", dirlen, c->origin,
	                     name);
	if (n < outlen && name[0] != '.' && is_regular(out))
		return 0;
	return fp_policy_resolve(name, out, outlen, err);
}

static int apply_text(struct pol_doc *d, const struct pctx *parent,
                      const char *origin, const char *real,
                      const char *text, size_t len, struct fp_err *err);

static int do_extends(struct pctx *c, const cJSON *v)
{
	char path[PATH_MAX], real[PATH_MAX], *text = NULL;
	struct fp_err e;
	const char *name = NULL;
	size_t len = 0;
	int rc;

	if (get_str(c, v, 256, &name) < 0)
		return -1;
	if (c->level >= POL_MAX_EXTENDS)
		return perr(c, "too deep: at most %d levels of extends",
		            POL_MAX_EXTENDS);
	if (resolve_base(c, name, path, sizeof(path), &e) < 0)
		return perr(c, "%s", e.msg);
	if (!realpath(path, real))
		return perr(c, "cannot open '%s': %s", path, strerror(errno));
	for (int i = 0; i <= c->level; i++)
		if (strcmp(c->chain[i], real) == 0)
			return perr(c, "cycle: '%s' is already in the "
			               "extends chain", path);
	if (fp_read_file(path, POL_MAX_FILE_BYTES, &text, &len, &e) < 0)
		return perr(c, "%s", e.msg);
	rc = apply_text(c->doc, c, path, real, text, len, c->err);
	free(text);
	return rc;
}

static void chain_append(struct pol_doc *d, const char *origin)
{
	const char *base = strrchr(origin, '/') ? strrchr(origin, '/') + 1
	                                        : origin;
	size_t n = (d->chain ? strlen(d->chain) + 4 : 0) + strlen(base) + 1;
	char *s = fp_xmalloc(n);

	snprintf(s, n, "%s%s%s", d->chain ? d->chain : "",
	         d->chain ? " <- " : "", base);
	free(d->chain);
	d->chain = s;
}

static int apply_root(struct pctx *c, const cJSON *root)
{
	const cJSON *v;
	int rc = 0;

	if (!cJSON_IsObject(root))
		return perr(c, "expected a JSON object");
	if (want_object(c, root) < 0)
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	push(c, "version");
	if (!v)
		rc = perr(c, "required field missing");
	else if (!cJSON_IsNumber(v) || v->valuedouble != 1)
		rc = perr(c, "unsupported version (this firstpass reads 1)");
	pop(c);
	v = cJSON_GetObjectItemCaseSensitive(root, "extends");
	if (rc == 0 && v && !cJSON_IsNull(v)) {
		push(c, "extends");
		rc = do_extends(c, v);
		pop(c);
	}
	if (rc < 0)
		return -1;
	/* A base's name and description describe the base, not this file. */
	set_str(&c->doc->name, NULL);
	set_str(&c->doc->description, NULL);
	chain_append(c->doc, c->origin);
	return apply_fields(c, root, top_fields, "");
}

static int apply_text(struct pol_doc *d, const struct pctx *parent,
                      const char *origin, const char *real,
                      const char *text, size_t len, struct fp_err *err)
{
	struct pctx c = { .doc = d, .origin = origin, .text = text,
		          .len = len, .err = err };
	cJSON *root = NULL;
	int rc;

	if (parent) {
		c.level = parent->level + 1;
		memcpy(c.chain, parent->chain, sizeof(c.chain));
	}
	c.chain[c.level] = (char *)real;
	if (fp_jsonc_parse_at(origin, text, len, &root, err) < 0)
		return -1;
	rc = apply_root(&c, root);
	cJSON_Delete(root);
	return rc;
}

/* Checks that need the merged document (line: the top file's). */
static int final_checks(struct pctx *c)
{
	const uint64_t *n = c->doc->num;
	int rc = 0;

	if (!c->doc->have_seccomp) {
		push(c, "seccomp");
		rc = perr(c, "required field missing (a policy states its "
		             "syscall rules, or extends one that does)");
		pop(c);
	} else if (n[N_MAX_FILE_KB] > n[N_MAX_TOTAL_KB]) {
		push(c, "candidate");
		push(c, "max_file_kb");
		rc = perr(c, "larger than candidate.max_total_kb");
		c->depth -= 2;
	}
	return rc;
}

/* ---- build: doc -> sbx_spec ----------------------------------------- */

static int build_mounts(const struct pol_doc *d, struct sbx_spec *s,
                        struct sbx_error *se)
{
	for (size_t i = 0; i < d->ro.n; i++)
		if (sbx_spec_bind(s, d->ro.v[i].src, d->ro.v[i].dst,
		                  d->ro.v[i].optional ? SBX_BIND_OPTIONAL : 0,
		                  se) < 0)
			return -1;
	for (size_t i = 0; i < d->rw.n; i++)
		if (sbx_spec_bind(s, d->rw.v[i].src, d->rw.v[i].dst,
		                  SBX_BIND_RW | (d->rw.v[i].optional
		                                 ? SBX_BIND_OPTIONAL : 0),
		                  se) < 0)
			return -1;
	for (size_t i = 0; i < d->files.n; i++)
		if (sbx_spec_file(s, d->files.v[i].key, d->files.v[i].str,
		                  se) < 0)
			return -1;
	for (size_t i = 0; i < d->tmpfs.n; i++)
		if (sbx_spec_tmpfs(s, d->tmpfs.v[i].key,
		                   d->tmpfs.v[i].num << 20, se) < 0)
			return -1;
	return 0;
}

/* The line of rule |r| in its file (0 if the file cannot be read again,
 * e.g. a policy parsed from memory). Only called on errors. */
static int rule_line(const struct pol_rule *r)
{
	char *text = NULL, *bare = NULL, idx[32];
	size_t len = 0;
	int line = 0;

	snprintf(idx, sizeof(idx), "[%zu]", r->index);
	const char *const keypath[] = { "seccomp", "rules", idx };
	if (fp_read_file(r->origin, 4 << 20, &text, &len, NULL) == 0 &&
	    fp_jsonc_strip(text, len, &bare, NULL, NULL) == 0)
		line = fp_jsonc_line(bare, len, keypath, 3);
	free(bare);
	free(text);
	return line;
}

static int build_seccomp(const struct pol_doc *d, struct sbx_spec *s,
                         struct fp_err *err)
{
	int def_errno = d->sc_errno ? d->sc_errno : EPERM;

	if (sbx_spec_seccomp_default(s, d->sc_default, def_errno) < 0)
		return fp_errf(err, "cannot set the seccomp default action");
	for (size_t i = 0; i < d->nrules; i++) {
		const struct pol_rule *r = &d->rules[i];
		struct sbx_error se = { 0 };

		/* libseccomp refuses a rule whose action is the default. */
		if (r->action == d->sc_default &&
		    (r->action != SBX_ACT_ERRNO || r->errnum == def_errno))
			return fp_errf(err, "%s:%d: seccomp.rules[%zu].action: "
			                    "same as seccomp.default: the rule "
			                    "would do nothing", r->origin,
			               rule_line(r), r->index);
		for (size_t k = 0; k < r->nnames; k++)
			if (sbx_spec_seccomp_rule(s, r->names[k], r->action,
			                          r->errnum, r->cmps, r->ncmp,
			                          r->optional, &se) < 0)
				return fp_errf(err, "%s:%d: seccomp.rules[%zu]: %s",
				               r->origin, rule_line(r), r->index,
				               se.msg);
	}
	return 0;
}

static void fill_limits(const struct pol_doc *d, struct fp_policy *p)
{
	const uint64_t *n = d->num;

	p->limits = (struct sbx_limits){
		.memory_bytes = n[N_MEMORY_MB] << 20,
		.pids = (uint32_t)n[N_PIDS],
		.cpu_ms_per_proc = n[N_CPU_S_PROC] * 1000,
		.cpu_percent = (uint32_t)n[N_CPU_PCT],
		.file_bytes = n[N_FILE_MB] << 20,
		.open_files = (uint32_t)n[N_OPEN_FILES],
		.tmp_bytes = n[N_TMP_MB] << 20,
		.workspace_bytes = n[N_WS_MB] << 20,
		.stack_bytes = n[N_STACK_MB] << 20,
		.address_space_bytes = n[N_AS_MB] << 20,
	};
	p->wall_ms = n[N_WALL_S] * 1000;
	p->cpu_ms = n[N_CPU_S] * 1000;
	p->output_bytes = n[N_OUTPUT_KB] << 10;
	p->start_timeout_ms = n[N_START_S] * 1000;
	p->probe_timeout_ms = n[N_PROBE_S] * 1000;
	p->test_timeout_ms = n[N_TEST_S] * 1000;
	fp_cand_limits_default(&p->cand);
	p->cand.max_files = (size_t)n[N_MAX_FILES];
	p->cand.max_file_bytes = (size_t)n[N_MAX_FILE_KB] << 10;
	p->cand.max_total_bytes = (size_t)n[N_MAX_TOTAL_KB] << 10;
}

static char *stem(const char *origin)
{
	const char *b = strrchr(origin, '/') ? strrchr(origin, '/') + 1 : origin;
	char *s = fp_strdup(b);

	if (ends_with(s, ".json") && strlen(s) > 5)
		s[strlen(s) - 5] = '\0';
	return s;
}

static int build(const struct pol_doc *d, const char *origin,
                 struct fp_policy *p, struct fp_err *err)
{
	struct sbx_error se = { 0 };

	p->name = d->name ? fp_strdup(d->name) : stem(origin);
	p->origin = fp_strdup(origin);
	p->python = fp_strdup(d->python ? d->python : "/usr/bin/python3");
	p->workspace_path = fp_strdup(d->workspace_path ? d->workspace_path
	                                                : "/work");
	p->workspace_mode = d->ws_mode;
	p->wheelhouse = d->wheelhouse ? fp_strdup(d->wheelhouse) : NULL;
	p->env = fp_xcalloc(d->env.n + 1, sizeof(char *));
	for (size_t i = 0; i < d->env.n; i++) {
		size_t n = strlen(d->env.v[i].key) + strlen(d->env.v[i].str) + 2;

		p->env[i] = fp_xmalloc(n);
		snprintf(p->env[i], n, "%s=%s", d->env.v[i].key,
		         d->env.v[i].str);
	}
	fill_limits(d, p);
	p->spec = sbx_spec_new();
	if (!p->spec)
		return fp_errf(err, "%s: cannot create a sandbox spec", origin);
	if (build_mounts(d, p->spec, &se) < 0 ||
	    sbx_spec_limits(p->spec, &p->limits) < 0 ||
	    sbx_spec_hostname(p->spec, d->hostname ? d->hostname : "firstpass",
	                      &se) < 0 ||
	    sbx_spec_uid(p->spec, (uid_t)d->num[N_UID]) < 0)
		return fp_errf(err, "%s: %s", origin,
		               se.msg[0] ? se.msg : "invalid sandbox limits");
	return build_seccomp(d, p->spec, err);
}

/* ---- the doc table (see the top of the file) -------------------------- */

struct doc_entry {
	const struct sbx_spec *spec;
	struct pol_doc *doc;
	struct doc_entry *next;
};

static pthread_mutex_t docs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct doc_entry *docs;

static void doc_register(const struct sbx_spec *spec, struct pol_doc *d)
{
	struct doc_entry *e = fp_xmalloc(sizeof(*e));

	pthread_mutex_lock(&docs_lock);
	*e = (struct doc_entry){ .spec = spec, .doc = d, .next = docs };
	docs = e;
	pthread_mutex_unlock(&docs_lock);
}

/* Removes the entry of |spec| and returns its doc (or NULL). */
static struct pol_doc *doc_unregister(const struct sbx_spec *spec)
{
	struct pol_doc *d = NULL;

	pthread_mutex_lock(&docs_lock);
	for (struct doc_entry **pp = &docs; *pp; pp = &(*pp)->next) {
		if ((*pp)->spec == spec) {
			struct doc_entry *e = *pp;

			d = e->doc;
			*pp = e->next;
			free(e);
			break;
		}
	}
	pthread_mutex_unlock(&docs_lock);
	return d;
}

static const struct pol_doc *doc_find(const struct sbx_spec *spec)
{
	const struct pol_doc *d = NULL;

	pthread_mutex_lock(&docs_lock);
	for (const struct doc_entry *e = docs; e && !d; e = e->next)
		if (e->spec == spec)
			d = e->doc;
	pthread_mutex_unlock(&docs_lock);
	return d;
}

/* ---- public ------------------------------------------------------------ */

int fp_policy_parse(const char *text, size_t len, const char *origin,
                    struct fp_policy *out, struct fp_err *err)
{
	struct pol_doc *d = doc_new();
	char real[PATH_MAX];
	struct pctx top = { .doc = d, .origin = origin, .text = text,
		            .len = len, .err = err };

	memset(out, 0, sizeof(*out));
	if (!realpath(origin, real))
		snprintf(real, sizeof(real), "%s", origin);
	if (apply_text(d, NULL, origin, real, text, len, err) < 0 ||
	    final_checks(&top) < 0 || build(d, origin, out, err) < 0) {
		doc_free(d);
		fp_policy_free(out);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	doc_register(out->spec, d);
	return 0;
}

int fp_policy_load(const char *name_or_path, struct fp_policy *out,
                   struct fp_err *err)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (fp_policy_resolve(name_or_path, path, sizeof(path), err) < 0)
		return -1;
	if (fp_read_file(path, POL_MAX_FILE_BYTES, &text, &len, err) < 0)
		return -1;
	rc = fp_policy_parse(text, len, path, out, err);
	free(text);
	return rc;
}

void fp_policy_free(struct fp_policy *p)
{
	if (!p)
		return;
	if (p->spec)
		doc_free(doc_unregister(p->spec));
	sbx_spec_free(p->spec);
	free(p->name);
	free(p->origin);
	for (size_t i = 0; p->env && p->env[i]; i++)
		free(p->env[i]);
	free(p->env);
	free(p->python);
	free(p->workspace_path);
	free(p->wheelhouse);
	memset(p, 0, sizeof(*p));
}

/* ---- describe ------------------------------------------------------------ */

static const char *ws_mode_text(enum sbx_workspace_mode m)
{
	switch (m) {
	case SBX_WS_COPY:
		return "copy: the host directory copied into a tmpfs; writes "
		       "never reach the host and vanish with the sandbox";
	case SBX_WS_RW:
		return "rw: bound read-write, writes reach the host directory";
	case SBX_WS_RO:
		return "ro: read-only";
	case SBX_WS_NONE:
		break;
	}
	return "none";
}

static void describe_fs(const struct fp_policy *p, const struct pol_doc *d,
                        FILE *out)
{
	fprintf(out, "filesystem (besides /proc, a minimal /dev and "
	             "/dev/shm, which every sandbox has):\n");
	for (int rw = 0; rw < 2; rw++) {
		const struct pol_binds *b = rw ? &d->rw : &d->ro;

		for (size_t i = 0; i < b->n; i++) {
			bool same = strcmp(b->v[i].src, b->v[i].dst) == 0;

			fprintf(out, "  %-5s %s%s%s%s\n", rw ? "rw" : "ro",
			        b->v[i].src, same ? "" : " -> ",
			        same ? "" : b->v[i].dst,
			        b->v[i].optional ? "  (optional)" : "");
		}
	}
	for (size_t i = 0; i < d->files.n; i++)
		fprintf(out, "  file  %s  (%zu bytes, read-only)\n",
		        d->files.v[i].key, strlen(d->files.v[i].str));
	fprintf(out, "  tmpfs /tmp  %llu MiB\n",
	        (unsigned long long)(p->limits.tmp_bytes >> 20));
	for (size_t i = 0; i < d->tmpfs.n; i++)
		fprintf(out, "  tmpfs %s  %llu MiB\n", d->tmpfs.v[i].key,
		        (unsigned long long)d->tmpfs.v[i].num);
	fprintf(out, "  workspace %s  %s", p->workspace_path,
	        ws_mode_text(p->workspace_mode));
	if (p->workspace_mode == SBX_WS_COPY)
		fprintf(out, " (tmpfs of %llu MiB)",
		        (unsigned long long)(p->limits.workspace_bytes >> 20));
	fprintf(out, "\n  wheelhouse %s\n",
	        p->wheelhouse ? p->wheelhouse : "none (no pip installs)");
}

static void describe_limits(const struct fp_policy *p, FILE *out)
{
	const struct sbx_limits *l = &p->limits;

	fprintf(out, "limits:\n"
	        "  memory          %llu MiB for the whole sandbox, no swap\n"
	        "  processes       %u (pids cgroup)\n"
	        "  cpu time        %llu s for the whole sandbox, %llu s per "
	        "process\n"
	        "  cpu share       %u %% (100 = one core)\n"
	        "  file size       %llu MiB per file written\n"
	        "  open files      %u per process\n"
	        "  stack           %llu MiB\n",
	        (unsigned long long)(l->memory_bytes >> 20), l->pids,
	        (unsigned long long)(p->cpu_ms / 1000),
	        (unsigned long long)(l->cpu_ms_per_proc / 1000),
	        l->cpu_percent, (unsigned long long)(l->file_bytes >> 20),
	        l->open_files, (unsigned long long)(l->stack_bytes >> 20));
	if (l->address_space_bytes)
		fprintf(out, "  address space   %llu MiB\n",
		        (unsigned long long)(l->address_space_bytes >> 20));
	else
		fprintf(out, "  address space   unlimited (memory is the cap)\n");
	fprintf(out, "  wall clock      %llu s\n"
	        "  output          %llu KiB per captured stream\n"
	        "timeouts: start %llu s, probe %llu s, tests %llu s\n"
	        "candidate: at most %zu files, %zu KiB per file, %zu KiB in "
	        "all\n",
	        (unsigned long long)(p->wall_ms / 1000),
	        (unsigned long long)(p->output_bytes >> 10),
	        (unsigned long long)(p->start_timeout_ms / 1000),
	        (unsigned long long)(p->probe_timeout_ms / 1000),
	        (unsigned long long)(p->test_timeout_ms / 1000),
	        p->cand.max_files, p->cand.max_file_bytes >> 10,
	        p->cand.max_total_bytes >> 10);
}

static void action_text(enum sbx_action a, int errnum, char *buf, size_t len)
{
	const char *e = sym_name(errno_syms, NELEM(errno_syms),
	                         (uint64_t)errnum);

	if (a == SBX_ACT_ERRNO && e)
		snprintf(buf, len, "errno %s", e);
	else if (a == SBX_ACT_ERRNO)
		snprintf(buf, len, "errno %d", errnum);
	else
		snprintf(buf, len, "%s", action_names[a]);
}

static void describe_seccomp(const struct pol_doc *d, FILE *out)
{
	char act[48];
	size_t names = 0;

	for (size_t i = 0; i < d->nrules; i++)
		names += d->rules[i].nnames;
	action_text(d->sc_default, d->sc_errno ? d->sc_errno : EPERM, act,
	            sizeof(act));
	fprintf(out, "seccomp: default %s; %zu rules naming %zu syscalls\n",
	        act, d->nrules, names);
	for (size_t i = 0; i < d->nrules; i++) {
		const struct pol_rule *r = &d->rules[i];

		action_text(r->action, r->errnum, act, sizeof(act));
		fprintf(out, "  %-12s", act);
		for (size_t k = 0; k < r->nnames; k++)
			fprintf(out, " %s", r->names[k]);
		if (r->ncmp)
			fprintf(out, "  if %s", r->args_text);
		fprintf(out, "%s\n               why: %s\n",
		        r->optional ? "  (optional)" : "", r->why);
	}
}

void fp_policy_describe(const struct fp_policy *p, FILE *out)
{
	const struct pol_doc *d = doc_find(p->spec);

	fprintf(out, "policy %s (%s)\n", p->name, p->origin);
	if (d && d->description)
		fprintf(out, "  %s\n", d->description);
	if (d && strstr(d->chain, " <- "))
		fprintf(out, "  extends: %s\n", d->chain);
	fprintf(out, "isolation:\n"
	        "  namespaces      user mount pid net ipc uts cgroup (always "
	        "all seven)\n"
	        "  network         loopback only: its own network namespace, "
	        "no route out\n"
	        "  capabilities    none: all dropped\n"
	        "  user            uid/gid %u inside, hostname %s\n"
	        "  python          %s\n",
	        d ? (unsigned)d->num[N_UID] : 0u,
	        d && d->hostname ? d->hostname : "firstpass", p->python);
	if (d)
		describe_fs(p, d, out);
	fprintf(out, "environment (nothing else of the caller's):\n");
	for (size_t i = 0; p->env && p->env[i]; i++)
		fprintf(out, "  %s\n", p->env[i]);
	describe_limits(p, out);
	if (d)
		describe_seccomp(d, out);
}
