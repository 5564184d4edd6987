/* loop.h - the single event loop: epoll for fds, a timer list, no threads.
 *
 * Everything asynchronous in firstpass (sandbox control sockets, pidfds,
 * output pipes, curl sockets, timeouts) registers here. Callbacks run on the
 * loop's thread, one at a time; a callback may add or remove watches and
 * timers, including its own.
 */
#ifndef FP_LOOP_H
#define FP_LOOP_H

#include <stdint.h>

struct fp_loop;
struct fp_timer;

typedef void fp_fd_cb(void *arg, int fd, uint32_t events);
typedef void fp_timer_cb(void *arg);

struct fp_loop *fp_loop_new(void);
void fp_loop_free(struct fp_loop *loop); /* NULL ok; does not close fds */

/* Watches |fd| for |events| (EPOLLIN, EPOLLOUT ...); calling again for the
 * same fd replaces events, callback and argument. */
int fp_loop_watch(struct fp_loop *loop, int fd, uint32_t events,
                  fp_fd_cb *cb, void *arg);
/* Stops watching |fd| (before you close it). Unknown fds are ignored. */
void fp_loop_unwatch(struct fp_loop *loop, int fd);

/* One-shot timer in |delay_ms|. The returned handle is valid until the
 * callback has started or fp_timer_cancel is called. */
struct fp_timer *fp_loop_timer(struct fp_loop *loop, uint64_t delay_ms,
                               fp_timer_cb *cb, void *arg);
void fp_timer_cancel(struct fp_loop *loop, struct fp_timer *t); /* NULL ok */

/* Waits at most |max_wait_ms| (-1 forever) for one round of events and runs
 * their callbacks and due timers. Returns the number of callbacks run, or -1
 * on error (errno set; EINTR is not an error). */
int fp_loop_run_once(struct fp_loop *loop, int max_wait_ms);

/* Runs until fp_loop_stop is called. */
int fp_loop_run(struct fp_loop *loop);
void fp_loop_stop(struct fp_loop *loop);

#endif
