/*
** pool_job.h: a job for ucoro_go.h's work(), for the C tests and
** spec/c/go_testmod.c: sleeps ms milliseconds on the thread it runs on,
** then says so.  Keep it out of a task's stack frame (a userdata, the
** heap): a lean task's frames are copied away while it parks.
*/
#ifndef SPEC_POOL_JOB_H
#define SPEC_POOL_JOB_H

#include <pthread.h>
#include <time.h>

typedef struct pool_job {
  int ms;
  int result;            /* ms * 2 once run */
  int ran;               /* fn returned */
  pthread_t thread;      /* where it ran */
} pool_job;

static inline void run_pool_job(void *arg) {
  pool_job *j = (pool_job *)arg;
  struct timespec ts;
  ts.tv_sec = j->ms / 1000;
  ts.tv_nsec = (long)(j->ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
  j->thread = pthread_self();
  j->result = j->ms * 2;
  j->ran = 1;
}

#endif
