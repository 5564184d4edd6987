/* loop.c - the single event loop: epoll for fds, a sorted timer list.
 *
 * Theory of operation: every fd watch lives in a table indexed by fd with a
 * generation number; epoll carries (generation << 32 | fd), so an event that
 * was already fetched for a watch removed by an earlier callback of the same
 * round is recognised as stale and dropped instead of reaching freed state.
 * Timers are few (per candidate phase, curl, retries): a sorted list is
 * simpler than a heap and fast enough.
 */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util.h"

struct watch {
	fp_fd_cb *cb;   /* NULL = free slot */
	void *arg;
	uint32_t gen;
	uint32_t events;
};

struct fp_timer {
	uint64_t due_ms;
	fp_timer_cb *cb;
	void *arg;
	struct fp_timer *next;
};

struct fp_loop {
	int epfd;
	struct watch *watches; /* owned, indexed by fd */
	size_t nwatches;
	uint32_t gen;
	struct fp_timer *timers; /* owned, sorted by due_ms */
	bool stop;
};

struct fp_loop *fp_loop_new(void)
{
	struct fp_loop *l = fp_xcalloc(1, sizeof *l);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void fp_loop_free(struct fp_loop *l)
{
	if (!l)
		return;
	while (l->timers) {
		struct fp_timer *t = l->timers;
		l->timers = t->next;
		free(t);
	}
	free(l->watches);
	close(l->epfd);
	free(l);
}

int fp_loop_watch(struct fp_loop *l, int fd, uint32_t events, fp_fd_cb *cb,
                  void *arg)
{
	if (fd < 0 || !cb) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)fd >= l->nwatches) {
		size_t n = l->nwatches ? l->nwatches : 64;
		while (n <= (size_t)fd)
			n *= 2;
		l->watches = fp_xrealloc(l->watches, n * sizeof *l->watches);
		memset(l->watches + l->nwatches, 0,
		       (n - l->nwatches) * sizeof *l->watches);
		l->nwatches = n;
	}
	struct watch *w = &l->watches[fd];
	bool existing = w->cb != NULL;
	if (!existing)
		w->gen = ++l->gen;
	struct epoll_event ev = {
		.events = events,
		.data.u64 = (uint64_t)w->gen << 32 | (uint32_t)fd,
	};
	if (epoll_ctl(l->epfd, existing ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	w->cb = cb;
	w->arg = arg;
	w->events = events;
	return 0;
}

void fp_loop_unwatch(struct fp_loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nwatches || !l->watches[fd].cb)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->watches[fd].cb = NULL;
	l->watches[fd].arg = NULL;
}

struct fp_timer *fp_loop_timer(struct fp_loop *l, uint64_t delay_ms,
                               fp_timer_cb *cb, void *arg)
{
	struct fp_timer *t = fp_xcalloc(1, sizeof *t);
	t->due_ms = fp_now_ms() + delay_ms;
	t->cb = cb;
	t->arg = arg;
	struct fp_timer **pp = &l->timers;
	/* Equal due times keep insertion order. */
	while (*pp && (*pp)->due_ms <= t->due_ms)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	return t;
}

void fp_timer_cancel(struct fp_loop *l, struct fp_timer *t)
{
	if (!t)
		return;
	for (struct fp_timer **pp = &l->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
	}
}

/* Runs timers due by now, one at a time: a callback may cancel or add
 * others. Timers added by a callback with delay 0 run in the next round. */
static int run_timers(struct fp_loop *l)
{
	uint64_t now = fp_now_ms();
	int ran = 0;
	while (l->timers && l->timers->due_ms <= now) {
		struct fp_timer *t = l->timers;
		l->timers = t->next;
		fp_timer_cb *cb = t->cb;
		void *arg = t->arg;
		free(t);
		cb(arg);
		ran++;
		if (ran > 10000)
			break; /* a timer storm must not starve fd events */
	}
	return ran;
}

static int wait_ms(const struct fp_loop *l, int max_wait_ms)
{
	if (!l->timers)
		return max_wait_ms;
	uint64_t now = fp_now_ms();
	uint64_t due = l->timers->due_ms;
	int64_t d = due > now ? (int64_t)(due - now) : 0;
	if (max_wait_ms >= 0 && d > max_wait_ms)
		d = max_wait_ms;
	return d > 60000 ? 60000 : (int)d;
}

int fp_loop_run_once(struct fp_loop *l, int max_wait_ms)
{
	struct epoll_event evs[64];
	int n = epoll_wait(l->epfd, evs, 64, wait_ms(l, max_wait_ms));
	if (n < 0) {
		if (errno != EINTR)
			return -1;
		n = 0;
	}
	int ran = 0;
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		if ((size_t)fd >= l->nwatches)
			continue;
		struct watch *w = &l->watches[fd];
		if (!w->cb || w->gen != gen)
			continue; /* removed (or replaced) by an earlier callback */
		w->cb(w->arg, fd, evs[i].events);
		ran++;
	}
	return ran + run_timers(l);
}

int fp_loop_run(struct fp_loop *l)
{
	l->stop = false;
	while (!l->stop) {
		if (fp_loop_run_once(l, -1) < 0)
			return -1;
	}
	return 0;
}

void fp_loop_stop(struct fp_loop *l)
{
	l->stop = true;
}
