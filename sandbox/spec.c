/* spec.c - building a box specification. Every setter copies its input. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int sbx_err(struct sbx_error *err, int errnum, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		err->errnum = errnum;
	}
	return -1;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort(); /* out of memory: nothing sensible to do in a setter */
	return d;
}

struct sbx_spec *sbx_spec_new(void)
{
	struct sbx_spec *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->uid = SBX_DEFAULT_UID;
	strcpy(s->hostname, "firstpass");
	s->sc_default = SBX_ACT_ALLOW;
	s->limits.tmp_bytes = 64ull << 20;
	s->limits.workspace_bytes = 256ull << 20;
	return s;
}

static void free_rules(struct sbx_spec *s)
{
	for (size_t i = 0; i < s->nrules; i++)
		free(s->rules[i].name);
	free(s->rules);
	s->rules = NULL;
	s->nrules = 0;
}

void sbx_spec_free(struct sbx_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmounts; i++) {
		free(s->mounts[i].src);
		free(s->mounts[i].dst);
		free(s->mounts[i].content);
	}
	free(s->mounts);
	free(s->ws_host);
	free(s->ws_inside);
	free_rules(s);
	free(s->bpf);
	free(s);
}

/* Inside paths: absolute, no "..", no "//", not "/" itself, bounded. */
static int check_inside(const char *dst, struct sbx_error *err)
{
	size_t n = strlen(dst);
	if (dst[0] != '/' || n < 2 || n > 512 || strstr(dst, "//") ||
	    strstr(dst, "/../") || (n >= 3 && !strcmp(dst + n - 3, "/..")) ||
	    strstr(dst, "/./") || dst[n - 1] == '/')
		return sbx_err(err, EINVAL, "bad path inside the sandbox '%s'", dst);
	return 0;
}

static struct sbx_mount *add_mount(struct sbx_spec *s)
{
	struct sbx_mount *m = realloc(s->mounts, (s->nmounts + 1) * sizeof *m);
	if (!m)
		abort();
	s->mounts = m;
	m = &s->mounts[s->nmounts++];
	memset(m, 0, sizeof *m);
	return m;
}

int sbx_spec_bind(struct sbx_spec *s, const char *src, const char *dst,
                  unsigned flags, struct sbx_error *err)
{
	if (src[0] != '/')
		return sbx_err(err, EINVAL, "bind source must be absolute: '%s'", src);
	if (check_inside(dst, err) < 0)
		return -1;
	struct sbx_mount *m = add_mount(s);
	m->kind = SBX_M_BIND;
	m->src = xstrdup(src);
	m->dst = xstrdup(dst);
	m->flags = flags;
	return 0;
}

int sbx_spec_file(struct sbx_spec *s, const char *dst, const char *content,
                  struct sbx_error *err)
{
	if (check_inside(dst, err) < 0)
		return -1;
	struct sbx_mount *m = add_mount(s);
	m->kind = SBX_M_FILE;
	m->dst = xstrdup(dst);
	m->content = xstrdup(content);
	m->content_len = strlen(content);
	return 0;
}

int sbx_spec_tmpfs(struct sbx_spec *s, const char *dst, uint64_t bytes,
                   struct sbx_error *err)
{
	if (check_inside(dst, err) < 0)
		return -1;
	if (bytes == 0)
		return sbx_err(err, EINVAL, "tmpfs '%s' needs a size", dst);
	struct sbx_mount *m = add_mount(s);
	m->kind = SBX_M_TMPFS;
	m->dst = xstrdup(dst);
	m->bytes = bytes;
	return 0;
}

int sbx_spec_workspace(struct sbx_spec *s, const char *host_dir,
                       const char *inside, enum sbx_workspace_mode mode,
                       struct sbx_error *err)
{
	if (!inside)
		inside = "/work";
	if (check_inside(inside, err) < 0)
		return -1;
	free(s->ws_host);
	free(s->ws_inside);
	s->ws_host = NULL;
	s->ws_inside = NULL;
	s->ws_mode = SBX_WS_NONE;
	if (mode == SBX_WS_NONE || !host_dir)
		return 0;
	char *real = realpath(host_dir, NULL);
	if (!real)
		return sbx_err(err, errno, "cannot use workspace '%s': %s",
		               host_dir, strerror(errno));
	s->ws_host = real;
	s->ws_inside = xstrdup(inside);
	s->ws_mode = mode;
	return 0;
}

int sbx_spec_limits(struct sbx_spec *s, const struct sbx_limits *l)
{
	s->limits = *l;
	if (!s->limits.tmp_bytes)
		s->limits.tmp_bytes = 64ull << 20;
	if (!s->limits.workspace_bytes)
		s->limits.workspace_bytes = 256ull << 20;
	return 0;
}

int sbx_spec_hostname(struct sbx_spec *s, const char *name,
                      struct sbx_error *err)
{
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof s->hostname)
		return sbx_err(err, EINVAL, "bad hostname '%s'", name);
	memcpy(s->hostname, name, n + 1);
	return 0;
}

int sbx_spec_uid(struct sbx_spec *s, uid_t inside_uid)
{
	/* 0 would be root inside; 65534 is the overflow id. */
	if (inside_uid == 0 || inside_uid >= 65534)
		return -1;
	s->uid = inside_uid;
	return 0;
}

static void invalidate_bpf(struct sbx_spec *s)
{
	free(s->bpf);
	s->bpf = NULL;
	s->bpf_len = 0;
}

int sbx_spec_seccomp_default(struct sbx_spec *s, enum sbx_action action,
                             int errnum)
{
	s->sc_default = action;
	s->sc_default_errno = errnum ? errnum : EPERM;
	invalidate_bpf(s);
	return 0;
}

bool sbx_syscall_known(const char *name)
{
	return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

int sbx_spec_seccomp_rule(struct sbx_spec *s, const char *syscall,
                          enum sbx_action action, int errnum,
                          const struct sbx_arg_cmp *cmps, unsigned ncmp,
                          bool optional, struct sbx_error *err)
{
	int nr = seccomp_syscall_resolve_name(syscall);
	if (nr == __NR_SCMP_ERROR) {
		if (optional)
			return 0;
		return sbx_err(err, EINVAL, "unknown syscall '%s'", syscall);
	}
	if (ncmp > 6)
		return sbx_err(err, EINVAL, "'%s': at most 6 argument checks", syscall);
	for (unsigned i = 0; i < ncmp; i++)
		if (cmps[i].arg > 5)
			return sbx_err(err, EINVAL, "'%s': argument index %u out of range",
			               syscall, cmps[i].arg);
	struct sbx_rule *r = realloc(s->rules, (s->nrules + 1) * sizeof *r);
	if (!r)
		abort();
	s->rules = r;
	r = &s->rules[s->nrules++];
	memset(r, 0, sizeof *r);
	r->name = xstrdup(syscall);
	r->nr = nr;
	r->action = action;
	r->errnum = errnum ? errnum : EPERM;
	if (ncmp)
		memcpy(r->cmps, cmps, ncmp * sizeof *cmps);
	r->ncmp = ncmp;
	invalidate_bpf(s);
	return 0;
}

int sbx_spec_seccomp_disable(struct sbx_spec *s)
{
	s->sc_disabled = true;
	invalidate_bpf(s);
	return 0;
}
