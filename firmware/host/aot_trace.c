#include "aot_trace.h"
aot_trace_fn aot_trace_cb = 0;
void aot_trace_hook(int op, const void *data, size_t bytes) {
    if (aot_trace_cb) aot_trace_cb(op, data, bytes);
}
