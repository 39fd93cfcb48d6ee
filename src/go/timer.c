/*
** timer.c: one binary heap of parked tasks by deadline, driven by one uv
** timer armed for the earliest.  A deadline is monotonic time (uv_hrtime,
** ns); a task is woken only once that time has passed, never early (the
** loop's cached millisecond clock may fire the uv timer a little before).
*/
#include <stdlib.h>

#include "go.h"

static void on_timer(uv_timer_t *h) {
  go_sched *S = (go_sched *)h->data;
  S->timer_at = 0;
  go_timer_fire(S);
}

static int earlier(go_task *a, go_task *b) { return a->deadline < b->deadline; }

static void place(go_sched *S, int i, go_task *t) {
  S->heap[i] = t;
  t->heap_index = i;
}

static void up(go_sched *S, int i) {
  go_task *t = S->heap[i];
  while (i > 0) {
    int p = (i - 1) / 2;
    if (!earlier(t, S->heap[p])) break;
    place(S, i, S->heap[p]);
    i = p;
  }
  place(S, i, t);
}

static void down(go_sched *S, int i) {
  go_task *t = S->heap[i];
  for (;;) {
    int c = 2 * i + 1;
    if (c >= S->nheap) break;
    if (c + 1 < S->nheap && earlier(S->heap[c + 1], S->heap[c])) c++;
    if (!earlier(S->heap[c], t)) break;
    place(S, i, S->heap[c]);
    i = c;
  }
  place(S, i, t);
}

/* Adds t (the current task, about to park) with its deadline; a fire
** wakes it with `fired`.  Returns 0 when out of memory. */
int go_timer_add(go_sched *S, go_task *t, uint64_t deadline, int fired) {
  if (S->nheap == S->capheap) {
    int cap = S->capheap ? S->capheap * 2 : 64;
    go_task **h = (go_task **)realloc(S->heap, (size_t)cap * sizeof *h);
    if (h == NULL) return 0;
    S->heap = h;
    S->capheap = cap;
  }
  t->deadline = deadline;
  t->timer_case = fired;
  place(S, S->nheap++, t);
  up(S, t->heap_index);
  if (t->heap_index == 0) go_timer_arm(S);
  return 1;
}

void go_timer_remove(go_sched *S, go_task *t) {
  int i = t->heap_index;
  go_task *last = S->heap[--S->nheap];
  t->heap_index = -1;
  if (last == t) return;
  place(S, i, last);
  if (i > 0 && earlier(last, S->heap[(i - 1) / 2])) up(S, i);
  else down(S, i);
}

/* Arms the uv timer for the earliest deadline, unless it already is. */
void go_timer_arm(go_sched *S) {
  uint64_t at, now, ms;
  if (S->nheap == 0 || S->timer == NULL) return;
  at = S->heap[0]->deadline;
  if (S->timer_at != 0 && S->timer_at <= at) return;
  uv_update_time(S->loop);  /* the cached clock may be far behind */
  now = uv_hrtime();
  ms = at > now ? (at - now + 999999) / 1000000 : 0;
  S->timer_at = at;
  uv_timer_start(S->timer, on_timer, ms, 0);
}

/* The uv timer fired: wake every task whose deadline has passed. */
void go_timer_fire(go_sched *S) {
  uint64_t now = uv_hrtime();
  while (S->nheap > 0 && S->heap[0]->deadline <= now) {
    go_task *t = S->heap[0];
    go_timer_remove(S, t);
    go_wake(t, t->token, t->timer_case);
  }
  go_timer_arm(S);
}
