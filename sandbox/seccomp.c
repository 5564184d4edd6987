/* seccomp.c - compiles a spec's syscall rules into a BPF program with
 * libseccomp, once, before any fork: the child only hands the finished
 * program to the kernel (async-signal-safe). What each rule is for is
 * written next to it in the policy file ("why"). */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static uint32_t to_scmp(enum sbx_action a, int errnum)
{
	switch (a) {
	case SBX_ACT_ALLOW:
		return SCMP_ACT_ALLOW;
	case SBX_ACT_ERRNO:
		return SCMP_ACT_ERRNO((uint16_t)(errnum ? errnum : EPERM));
	case SBX_ACT_KILL:
		return SCMP_ACT_KILL_PROCESS;
	case SBX_ACT_LOG:
		return SCMP_ACT_LOG;
	}
	return SCMP_ACT_KILL_PROCESS;
}

static enum scmp_compare to_cmp(enum sbx_cmp_op op)
{
	switch (op) {
	case SBX_CMP_EQ: return SCMP_CMP_EQ;
	case SBX_CMP_NE: return SCMP_CMP_NE;
	case SBX_CMP_LT: return SCMP_CMP_LT;
	case SBX_CMP_LE: return SCMP_CMP_LE;
	case SBX_CMP_GT: return SCMP_CMP_GT;
	case SBX_CMP_GE: return SCMP_CMP_GE;
	case SBX_CMP_MASKED_EQ: return SCMP_CMP_MASKED_EQ;
	}
	return SCMP_CMP_EQ;
}

static int add_rules(scmp_filter_ctx ctx, const struct sbx_spec *s,
                     uint32_t def, struct sbx_error *err)
{
	for (size_t i = 0; i < s->nrules; i++) {
		const struct sbx_rule *r = &s->rules[i];
		uint32_t act = to_scmp(r->action, r->errnum);
		if (act == def)
			continue; /* libseccomp refuses rules equal to the default */
		struct scmp_arg_cmp c[6];
		for (unsigned k = 0; k < r->ncmp; k++) {
			c[k].arg = r->cmps[k].arg;
			c[k].op = to_cmp(r->cmps[k].op);
			if (r->cmps[k].op == SBX_CMP_MASKED_EQ) {
				c[k].datum_a = r->cmps[k].mask;
				c[k].datum_b = r->cmps[k].value;
			} else {
				c[k].datum_a = r->cmps[k].value;
				c[k].datum_b = 0;
			}
		}
		int rc = seccomp_rule_add_array(ctx, act, r->nr, r->ncmp, c);
		if (rc < 0)
			return sbx_err(err, -rc, "cannot add seccomp rule for '%s': %s",
			               r->name, strerror(-rc));
	}
	return 0;
}

/* libseccomp 2.5 can only export to a fd; a memfd keeps it in memory. */
static int export_bpf(scmp_filter_ctx ctx, struct sbx_spec *s,
                      struct sbx_error *err)
{
	int fd = memfd_create("fp-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return sbx_err(err, errno, "cannot create memfd: %s", strerror(errno));
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0) {
		close(fd);
		return sbx_err(err, -rc, "cannot export seccomp filter: %s",
		               strerror(-rc));
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		close(fd);
		return sbx_err(err, EINVAL, "seccomp filter has a bad size (%lld)",
		               (long long)size);
	}
	struct sock_filter *prog = malloc((size_t)size);
	if (!prog || pread(fd, prog, (size_t)size, 0) != size) {
		free(prog);
		close(fd);
		return sbx_err(err, EIO, "cannot read back the seccomp filter");
	}
	close(fd);
	s->bpf = prog;
	s->bpf_len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	return 0;
}

int sbx_seccomp_compile(struct sbx_spec *s, struct sbx_error *err)
{
	if (s->sc_disabled || s->bpf)
		return 0;
	uint32_t def = to_scmp(s->sc_default, s->sc_default_errno);
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return sbx_err(err, ENOMEM, "cannot initialise libseccomp");
	/* Other architectures' syscall numbers (int 0x80, x32) would bypass
	 * the rules: kill instead of evaluating them. no_new_privs is set by
	 * the child itself, so libseccomp need not. */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	                          SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (rc < 0) {
		seccomp_release(ctx);
		return sbx_err(err, -rc, "cannot configure libseccomp: %s",
		               strerror(-rc));
	}
	if (add_rules(ctx, s, def, err) < 0 || export_bpf(ctx, s, err) < 0) {
		seccomp_release(ctx);
		return -1;
	}
	seccomp_release(ctx);
	return 0;
}
