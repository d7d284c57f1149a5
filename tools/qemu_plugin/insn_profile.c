/* insn_profile: a QEMU TCG plugin (API v1, QEMU >= 4.2) written for this project's timing model
 * (pipeline/timing/). It counts, per executed instruction address, how often the instruction ran
 * and how often the next executed instruction was not the one after it (a taken branch, a return,
 * an exception entry) -- the two facts a per-instruction cycle table needs beyond the opcode.
 *
 * Counting is gated to one region of the firmware so the UART protocol's polling loops (whose
 * length depends on when the host writes) never enter the counts:
 *   on=HEX    the region starts when the instruction at HEX runs (the entry of the timed function)
 *   off=HEX   the region stops when the instruction at HEX runs (the return sites; repeatable, 8 at most)
 *   mark=HEX  optional: every run of HEX starts a new segment (the per-operator hook), so counts
 *             split per operator; segment 0 runs from `on` to the first mark
 *   out=PATH  where the counts go, written at exit (QEMU calls atexit hooks only on a clean exit:
 *             the firmware's `quit` command) through PATH.tmp and a rename, so a crashed run leaves
 *             no file that could be read as a result.
 * Output, one record a line (hex addresses, decimal counts):
 *   R <regions entered>
 *   I <pc> <size> <opcode bytes as hex, in memory order>
 *   C <pc> <segment> <executions> <taken>
 * Built with: gcc -O2 -shared -fPIC -I<dir of qemu-plugin.h> insn_profile.c (tools/qemu_plugin/setup.sh). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

enum { F_ON = 1, F_OFF = 2, F_MARK = 4 };
#define MAX_OFF 8
#define BUCKETS 65536 /* KWS firmware has ~6,000 distinct instructions: short chains */

struct counts { uint64_t exec, taken; };

struct site {
    uint64_t pc;
    uint32_t size;
    uint8_t bytes[4];
    int flags;
    int nseg;                 /* length of c[] */
    struct counts *c;         /* per segment */
    struct site *next;        /* hash chain */
};

static struct site *table[BUCKETS];
static uint64_t on_pc = UINT64_MAX, mark_pc = UINT64_MAX, off_pc[MAX_OFF];
static int n_off;
static const char *out_path;
static int active, seg, prev_seg;
static uint64_t regions;
static struct site *prev;

static struct site *site_for(uint64_t pc) {
    struct site **slot = &table[(pc >> 1) % BUCKETS];
    for (struct site *s = *slot; s; s = s->next)
        if (s->pc == pc) return s;
    struct site *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->pc = pc;
    s->next = *slot;
    *slot = s;
    return s;
}

/* The site's counter pair for a segment, grown on first use (segments are operators: <= ~100). */
static struct counts *at(struct site *s, int segment) {
    if (segment >= s->nseg) {
        int want = segment + 16;
        struct counts *c = realloc(s->c, (size_t)want * sizeof *c);
        if (!c) abort();
        memset(c + s->nseg, 0, (size_t)(want - s->nseg) * sizeof *c);
        s->c = c;
        s->nseg = want;
    }
    return &s->c[segment];
}

static void on_exec(unsigned int vcpu, void *udata) {
    struct site *s = udata;
    (void)vcpu;
    if (s->flags & F_ON) {
        active = 1;
        seg = 0;
        prev = NULL;
        ++regions;
    }
    if (!active) return;
    /* The instruction before this one was taken when this one does not follow it in memory. */
    if (prev && prev->pc + prev->size != s->pc) at(prev, prev_seg)->taken++;
    if (s->flags & F_OFF) {
        active = 0;
        prev = NULL;
        return;
    }
    if (s->flags & F_MARK) ++seg;
    at(s, seg)->exec++;
    prev = s;
    prev_seg = seg;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; ++i) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        struct site *s = site_for(pc); /* a re-translated block finds its sites again */
        s->size = (uint32_t)qemu_plugin_insn_size(insn);
        memcpy(s->bytes, qemu_plugin_insn_data(insn), s->size < 4 ? s->size : 4);
        s->flags = (pc == on_pc ? F_ON : 0) | (pc == mark_pc ? F_MARK : 0);
        for (int k = 0; k < n_off; ++k)
            if (pc == off_pc[k]) s->flags |= F_OFF;
        qemu_plugin_register_vcpu_insn_exec_cb(insn, on_exec, QEMU_PLUGIN_CB_NO_REGS, s);
    }
}

static void write_counts(qemu_plugin_id_t id, void *p) {
    (void)id;
    (void)p;
    if (!out_path) return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", out_path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "R %" PRIu64 "\n", regions);
    for (int b = 0; b < BUCKETS; ++b)
        for (struct site *s = table[b]; s; s = s->next) {
            if (!s->nseg) continue;
            fprintf(f, "I %" PRIx64 " %u ", s->pc, s->size);
            for (uint32_t k = 0; k < s->size && k < 4; ++k) fprintf(f, "%02x", s->bytes[k]);
            fputc('\n', f);
            for (int g = 0; g < s->nseg; ++g)
                if (s->c[g].exec || s->c[g].taken)
                    fprintf(f, "C %" PRIx64 " %d %" PRIu64 " %" PRIu64 "\n", s->pc, g, s->c[g].exec, s->c[g].taken);
        }
    if (fclose(f) == 0) rename(tmp, out_path);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i];
        if (!strncmp(a, "on=", 3)) on_pc = strtoull(a + 3, NULL, 16);
        else if (!strncmp(a, "mark=", 5)) mark_pc = strtoull(a + 5, NULL, 16);
        else if (!strncmp(a, "off=", 4) && n_off < MAX_OFF) off_pc[n_off++] = strtoull(a + 4, NULL, 16);
        else if (!strncmp(a, "out=", 4)) out_path = a + 4;
        else {
            fprintf(stderr, "insn_profile: unknown argument '%s' (on=, off=, mark=, out=)\n", a);
            return 1;
        }
    }
    if (!out_path || on_pc == UINT64_MAX || !n_off) {
        fprintf(stderr, "insn_profile: needs out=PATH, on=HEX and off=HEX\n");
        return 1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, write_counts, NULL);
    return 0;
}
