/* Host-only: lets the test harness see every operator's output (per-op bit-exactness). */
#ifndef AOT_TRACE_H
#define AOT_TRACE_H
#include <stddef.h>
typedef void (*aot_trace_fn)(int op, const void *data, size_t bytes);
extern aot_trace_fn aot_trace_cb;
void aot_trace_hook(int op, const void *data, size_t bytes);
#define AOT_TRACE(op, p, n) aot_trace_hook((op), (p), (n))
#endif
