/*
** guard_pages.h: for the C tests, counting the native stacks mapped.
*/
#ifndef SPEC_GUARD_PAGES_H
#define SPEC_GUARD_PAGES_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Guards (PROT_NONE mappings of 64 KiB, or a page where pages are
** larger): one per native stack mapped (AddressSanitizer's own PROT_NONE
** regions are far larger).  -1 when /proc/self/maps cannot be read. */
static inline int guard_pages(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE);
  unsigned long guard = page > 65536 ? page : 65536;
  int n = 0;
  if (f == NULL) return -1;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long lo, hi;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 &&
        strcmp(perms, "---p") == 0 && hi - lo == guard)
      n++;
  }
  fclose(f);
  return n;
}

#endif
