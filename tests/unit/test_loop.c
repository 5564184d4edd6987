/* test_loop.c - loop.c: timers in order, cancellation, fd events, and
 * watches removed by an earlier callback of the same round. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"
#include "util.h"

static char order[16];
static int norder;

static void mark(void *arg)
{
	order[norder++] = *(const char *)arg;
}

static void test_timers_fire_in_order(void **state)
{
	(void)state;
	struct fp_loop *l = fp_loop_new();
	norder = 0;
	static const char a = 'a', b = 'b', c = 'c', d = 'd';
	fp_loop_timer(l, 30, mark, (void *)&c);
	fp_loop_timer(l, 10, mark, (void *)&a);
	struct fp_timer *t = fp_loop_timer(l, 20, mark, (void *)&d);
	fp_loop_timer(l, 10, mark, (void *)&b); /* same time: after 'a' */
	fp_timer_cancel(l, t);
	uint64_t t0 = fp_now_ms();
	while (norder < 3 && fp_now_ms() - t0 < 2000)
		assert_true(fp_loop_run_once(l, 100) >= 0);
	assert_int_equal(norder, 3);
	assert_memory_equal(order, "abc", 3);
	assert_true(fp_now_ms() - t0 >= 25);
	fp_loop_free(l);
}

struct pair {
	struct fp_loop *l;
	int fds[2][2];
	int hits[2];
};

/* The first callback to run removes the other watch: its already-fetched
 * event must be dropped, not delivered to a stale watch. */
static void on_ready(void *arg, int fd, uint32_t events)
{
	struct pair *p = arg;
	(void)events;
	int me = fd == p->fds[0][0] ? 0 : 1;
	p->hits[me]++;
	fp_loop_unwatch(p->l, p->fds[!me][0]);
	fp_loop_unwatch(p->l, fd);
}

static void test_unwatch_drops_pending_event(void **state)
{
	(void)state;
	struct pair p = { .l = fp_loop_new() };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipe2(p.fds[i], O_CLOEXEC), 0);
		assert_int_equal(write(p.fds[i][1], "x", 1), 1);
		assert_int_equal(fp_loop_watch(p.l, p.fds[i][0], EPOLLIN, on_ready, &p), 0);
	}
	assert_int_equal(fp_loop_run_once(p.l, 1000), 1);
	assert_int_equal(p.hits[0] + p.hits[1], 1);
	/* Nothing is watched any more: a second round runs nothing. */
	assert_int_equal(fp_loop_run_once(p.l, 20), 0);
	for (int i = 0; i < 2; i++) {
		close(p.fds[i][0]);
		close(p.fds[i][1]);
	}
	fp_loop_free(p.l);
}

static void stop_cb(void *arg)
{
	fp_loop_stop(arg);
}

static void test_run_until_stop(void **state)
{
	(void)state;
	struct fp_loop *l = fp_loop_new();
	fp_loop_timer(l, 5, stop_cb, l);
	assert_int_equal(fp_loop_run(l), 0);
	/* run_once still works after a stop. */
	norder = 0;
	static const char z = 'z';
	fp_loop_timer(l, 0, mark, (void *)&z);
	assert_int_equal(fp_loop_run_once(l, 100), 1);
	assert_int_equal(norder, 1);
	fp_loop_free(l);
}

static void test_watch_rejects_bad_fd(void **state)
{
	(void)state;
	struct fp_loop *l = fp_loop_new();
	assert_int_equal(fp_loop_watch(l, -1, EPOLLIN, on_ready, NULL), -1);
	fp_loop_unwatch(l, 12345); /* unknown: ignored */
	fp_timer_cancel(l, NULL);
	fp_loop_free(l);
	fp_loop_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_order),
		cmocka_unit_test(test_unwatch_drops_pending_event),
		cmocka_unit_test(test_run_until_stop),
		cmocka_unit_test(test_watch_rejects_bad_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
