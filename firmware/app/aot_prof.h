/* Per-operator timing in the firmware: the generated code calls AOT_TRACE after each
 * operator; the app accumulates timer ticks per operator while a `prof` run is active. */
#ifndef AOT_PROF_H
#define AOT_PROF_H
void aot_prof_mark(int op);
#define AOT_TRACE(op, p, n) aot_prof_mark(op)
#endif
