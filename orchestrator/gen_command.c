/* gen_command.c - "command:CMD": a local program as the model.
 *
 * Theory of operation: each request runs `/bin/sh -c CMD` (posix_spawn, in
 * its own process group) with the prompt on stdin, its stdout as the reply
 * and the last 2 KB of its stderr kept for the error message. Everything is
 * nonblocking on the fp_loop: the stdin socket (EPOLLOUT), the stdout and
 * stderr pipes (EPOLLIN) and a pidfd that becomes readable when the child
 * exits, so no SIGCHLD handler is needed. The request is over when the
 * child has exited and both pipes reached EOF; then the process group is
 * killed so that nothing the command left behind outlives the request. The
 * timer kills the group with SIGKILL at timeout_ms.
 *
 * stdin is a socketpair, not a pipe: send(MSG_NOSIGNAL) to a command that
 * never reads its input gets EPIPE instead of killing us with SIGPIPE.
 *
 * The child inherits the caller's environment, OPENAI_API_KEY included: a
 * command may be a wrapper around an API that needs it. It also gets
 * FIRSTPASS_ROUND and FIRSTPASS_INDEX. This is the user's own command, not
 * candidate code, so it runs unsandboxed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gen_internal.h"

#define CMD_STDERR_TAIL 2048

extern char **environ;

struct cmd;

struct cmd_req {
	struct cmd_req *next;
	struct cmd *c;
	int index;
	fp_gen_done_cb *cb;
	void *arg;
	pid_t pid;
	int pidfd, in_fd, out_fd, err_fd;   /* -1 when closed */
	bool exited;
	int status;
	char *prompt;                       /* owned */
	size_t prompt_len, prompt_off;
	struct fp_buf out;                  /* capped at max_reply_bytes */
	char tail[CMD_STDERR_TAIL];
	size_t tail_len;
	struct fp_timer *timer;
};

struct cmd {
	struct fp_gen *g;
	struct fp_loop *loop;
	char *cmd;     /* owned */
	struct fp_gen_opts o;
	struct cmd_req *reqs;
};

static void close_watched(struct fp_loop *loop, int *fd)
{
	if (*fd < 0)
		return;
	fp_loop_unwatch(loop, *fd);
	close(*fd);
	*fd = -1;
}

static void req_free(struct cmd_req *r)
{
	struct fp_loop *loop = r->c->loop;
	struct cmd_req **pp;

	for (pp = &r->c->reqs; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	if (r->pid > 0 && !r->exited) {
		/* Whatever the command started in its group goes too. */
		kill(-r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	close_watched(loop, &r->pidfd);
	close_watched(loop, &r->in_fd);
	close_watched(loop, &r->out_fd);
	close_watched(loop, &r->err_fd);
	fp_timer_cancel(loop, r->timer);
	fp_buf_free(&r->out);
	free(r->prompt);
	free(r);
}

static void req_fail(struct cmd_req *r, const char *what)
{
	char tail[CMD_STDERR_TAIL + 1], msg[CMD_STDERR_TAIL + 160];

	memcpy(tail, r->tail, r->tail_len);
	tail[r->tail_len] = '\0';
	fp_gen_clean_text(tail, CMD_STDERR_TAIL, tail, sizeof(tail));
	if (*tail)
		snprintf(msg, sizeof(msg), "%s: %s", what, tail);
	else
		snprintf(msg, sizeof(msg), "%s", what);
	fp_gen_finish(r->c->g, r->cb, r->arg, r->index, NULL, msg);
	req_free(r);
}

/* Called whenever something closes: finishes once all is over. */
static void maybe_done(struct cmd_req *r)
{
	char what[96];

	if (!r->exited || r->out_fd >= 0 || r->err_fd >= 0)
		return;
	if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0) {
		char *text = r->out.data ? fp_buf_steal(&r->out) : fp_strdup("");

		fp_gen_finish(r->c->g, r->cb, r->arg, r->index, text, NULL);
		req_free(r);
		return;
	}
	if (WIFEXITED(r->status))
		snprintf(what, sizeof(what), "command exited with status %d",
		         WEXITSTATUS(r->status));
	else
		snprintf(what, sizeof(what), "command killed by signal %d",
		         WTERMSIG(r->status));
	req_fail(r, what);
}

static void keep_tail(struct cmd_req *r, const char *p, size_t n)
{
	if (n >= CMD_STDERR_TAIL) {
		memcpy(r->tail, p + n - CMD_STDERR_TAIL, CMD_STDERR_TAIL);
		r->tail_len = CMD_STDERR_TAIL;
		return;
	}
	if (r->tail_len + n > CMD_STDERR_TAIL) {
		size_t drop = r->tail_len + n - CMD_STDERR_TAIL;

		memmove(r->tail, r->tail + drop, r->tail_len - drop);
		r->tail_len -= drop;
	}
	memcpy(r->tail + r->tail_len, p, n);
	r->tail_len += n;
}

static void on_output(void *arg, int fd, uint32_t events)
{
	struct cmd_req *r = arg;
	char buf[16384];
	ssize_t n;
	char what[64];

	(void)events;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_watched(r->c->loop, fd == r->out_fd ? &r->out_fd :
		                                            &r->err_fd);
		maybe_done(r);
		return;
	}
	if (fd == r->err_fd) {
		keep_tail(r, buf, (size_t)n);
		return;
	}
	if (fp_buf_append(&r->out, buf, (size_t)n) < 0) {
		snprintf(what, sizeof(what), "reply larger than %zu bytes",
		         r->c->o.max_reply_bytes);
		req_fail(r, what);
	}
}

static void on_input(void *arg, int fd, uint32_t events)
{
	struct cmd_req *r = arg;
	ssize_t n;

	(void)events;
	while (r->prompt_off < r->prompt_len) {
		n = send(fd, r->prompt + r->prompt_off,
		         r->prompt_len - r->prompt_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0)
			break; /* the command does not read its input: fine */
		r->prompt_off += (size_t)n;
	}
	close_watched(r->c->loop, &r->in_fd);
}

static void on_exit_fd(void *arg, int fd, uint32_t events)
{
	struct cmd_req *r = arg;

	(void)fd;
	(void)events;
	/* Grandchildren holding stdout open must not keep us waiting. Kill
	 * the group before reaping: until then the zombie reserves its pid,
	 * so the group id cannot name someone else's processes. */
	kill(-r->pid, SIGKILL);
	if (waitpid(r->pid, &r->status, WNOHANG) != r->pid)
		return;
	r->exited = true;
	close_watched(r->c->loop, &r->pidfd);
	maybe_done(r);
}

static void on_timeout(void *arg)
{
	struct cmd_req *r = arg;
	char what[64];

	r->timer = NULL;
	snprintf(what, sizeof(what), "command timed out after %ld ms",
	         r->c->o.timeout_ms);
	req_fail(r, what);
}

/* The caller's environment minus our two variables, plus their values. */
static char **child_env(int round, int index, char *vars[2])
{
	size_t n = 0, i, k = 0;
	char **envp;

	while (environ[n])
		n++;
	envp = fp_xcalloc(n + 3, sizeof(*envp));
	for (i = 0; i < n; i++) {
		if (strncmp(environ[i], "FIRSTPASS_ROUND=", 16) != 0 &&
		    strncmp(environ[i], "FIRSTPASS_INDEX=", 16) != 0)
			envp[k++] = environ[i];
	}
	vars[0] = fp_xmalloc(32);
	vars[1] = fp_xmalloc(32);
	snprintf(vars[0], 32, "FIRSTPASS_ROUND=%d", round);
	snprintf(vars[1], 32, "FIRSTPASS_INDEX=%d", index);
	envp[k++] = vars[0];
	envp[k++] = vars[1];
	return envp;
}

/* Spawns the shell with fds[0..2] as stdin/stdout/stderr. */
static int spawn(struct cmd_req *r, int round, const int fds[3],
                 struct fp_err *err)
{
	char *argv[] = { "sh", "-c", r->c->cmd, NULL };
	char *vars[2];
	char **envp = child_env(round, r->index, vars);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int i, rc;

	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	posix_spawn_file_actions_init(&fa);
	for (i = 0; i < 3; i++)
		posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	                         POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	rc = posix_spawn(&r->pid, "/bin/sh", &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(vars[0]);
	free(vars[1]);
	free(envp);
	if (rc != 0) {
		r->pid = 0;
		return fp_errf(err, "cannot run '/bin/sh': %s", strerror(rc));
	}
	return 0;
}

/* Creates the three channels; ours[] are nonblocking parent ends. */
static int make_fds(int ours[3], int theirs[3], struct fp_err *err)
{
	int sp[2], p[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return fp_errf(err, "socketpair: %s", strerror(errno));
	ours[0] = sp[0];
	theirs[0] = sp[1];
	for (i = 1; i < 3; i++) {
		if (pipe2(p, O_CLOEXEC) < 0) {
			while (--i >= 0) {
				close(ours[i]);
				close(theirs[i]);
			}
			return fp_errf(err, "pipe: %s", strerror(errno));
		}
		ours[i] = p[0];
		theirs[i] = p[1];
	}
	for (i = 0; i < 3; i++)
		fcntl(ours[i], F_SETFL, fcntl(ours[i], F_GETFL) | O_NONBLOCK);
	shutdown(ours[0], SHUT_RD);
	return 0;
}

static int watch_all(struct cmd_req *r, struct fp_err *err)
{
	struct fp_loop *loop = r->c->loop;

	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	if (r->pidfd < 0)
		return fp_errf(err, "pidfd_open: %s", strerror(errno));
	fcntl(r->pidfd, F_SETFD, FD_CLOEXEC);
	if (fp_loop_watch(loop, r->pidfd, EPOLLIN, on_exit_fd, r) < 0 ||
	    fp_loop_watch(loop, r->in_fd, EPOLLOUT, on_input, r) < 0 ||
	    fp_loop_watch(loop, r->out_fd, EPOLLIN, on_output, r) < 0 ||
	    fp_loop_watch(loop, r->err_fd, EPOLLIN, on_output, r) < 0)
		return fp_errf(err, "cannot watch the command's pipes: %s",
		               strerror(errno));
	r->timer = fp_loop_timer(loop, (uint64_t)r->c->o.timeout_ms,
	                         on_timeout, r);
	return 0;
}

static int cmd_request(void *impl, int round, int index, const char *prompt,
                       fp_gen_done_cb *cb, void *arg, struct fp_err *err)
{
	struct cmd *c = impl;
	struct cmd_req *r = fp_xcalloc(1, sizeof(*r));
	int ours[3] = { -1, -1, -1 }, theirs[3] = { -1, -1, -1 }, rc, i;

	r->c = c;
	r->index = index;
	r->cb = cb;
	r->arg = arg;
	r->pidfd = r->in_fd = r->out_fd = r->err_fd = -1;
	r->prompt = fp_strdup(prompt ? prompt : "");
	r->prompt_len = strlen(r->prompt);
	fp_buf_init(&r->out, c->o.max_reply_bytes);
	r->next = c->reqs;
	c->reqs = r;
	if (make_fds(ours, theirs, err) < 0) {
		req_free(r);
		return -1;
	}
	r->in_fd = ours[0];
	r->out_fd = ours[1];
	r->err_fd = ours[2];
	rc = spawn(r, round, theirs, err);
	for (i = 0; i < 3; i++)
		close(theirs[i]);
	if (rc == 0)
		rc = watch_all(r, err);
	if (rc < 0)
		req_free(r);
	return rc;
}

static void cmd_cancel_all(void *impl)
{
	struct cmd *c = impl;
	struct cmd_req *r;

	/* Unlink before freeing: req_free() would find r through r->c, but
	 * the static analyzer cannot tell that r->c is c. */
	while ((r = c->reqs) != NULL) {
		c->reqs = r->next;
		req_free(r);
	}
}

static void cmd_close(void *impl)
{
	struct cmd *c = impl;

	if (!c)
		return;
	cmd_cancel_all(c);
	free(c->cmd);
	free(c);
}

static void *cmd_open(struct fp_gen *g, const char *arg,
                      const struct fp_gen_opts *o, struct fp_loop *loop,
                      char **describe, struct fp_err *err)
{
	struct cmd *c;
	size_t n;

	if (!arg || !*arg) {
		fp_errf(err, "generator 'command:' needs a command, e.g. "
		        "command:./my-model.sh");
		return NULL;
	}
	c = fp_xcalloc(1, sizeof(*c));
	c->g = g;
	c->loop = loop;
	c->o = *o;
	c->cmd = fp_strdup(arg);
	n = strlen(arg) + 16;
	*describe = fp_xmalloc(n);
	snprintf(*describe, n, "command '%s'", arg);
	return c;
}

const struct fp_gen_backend fp_gen_command = {
	"command", cmd_open, cmd_request, cmd_cancel_all, cmd_close,
};
