/* The pickle machine: reads opcodes into values on a stack, with a memo and marks; executes nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/pickle_internal.h"

/* ---- arena ---- */

struct pk_chunk {
    pk_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *pk_alloc(mbt_pickle *p, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    pk_chunk *c = p->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 16384 ? n : 65536;
        if (p->arena_bytes + cap > p->arena_limit) return NULL;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        p->arena_bytes += cap;
        if (n > 16384 && p->chunks) { /* a big block: keep filling the current chunk afterwards */
            c->next = p->chunks->next;
            p->chunks->next = c;
        } else {
            c->next = p->chunks;
            p->chunks = c;
        }
    }
    void *r = c->data + c->used;
    c->used += n;
    memset(r, 0, n);
    return r;
}

mbt_pvalue *pk_new(mbt_pickle *p, mbt_pv_kind kind) {
    mbt_pvalue *v = pk_alloc(p, sizeof *v);
    if (v) v->kind = (uint8_t)kind;
    return v;
}

mbt_pvalue *pk_new_seq(mbt_pickle *p, mbt_pv_kind kind, mbt_pvalue *const *items, size_t n) {
    mbt_pvalue *v = pk_new(p, kind);
    if (!v) return NULL;
    size_t slots = kind == MBT_PV_DICT ? 2 * n : n;
    if (slots) {
        if (slots > ((size_t)-1) / sizeof(mbt_pvalue *) / 2) return NULL;
        v->u.seq.v = pk_alloc(p, slots * sizeof(mbt_pvalue *));
        if (!v->u.seq.v) return NULL;
        memcpy(v->u.seq.v, items, slots * sizeof(mbt_pvalue *));
    }
    v->u.seq.n = n;
    v->u.seq.cap = n;
    return v;
}

mbt_status pk_seq_append(mbt_pickle *p, mbt_pvalue *seq, mbt_pvalue *const *items, size_t n) {
    size_t per = seq->kind == MBT_PV_DICT ? 2 : 1;
    if (n == 0) return MBT_OK; /* APPENDS / SETITEMS with nothing after the MARK */
    if (seq->u.seq.n + n > seq->u.seq.cap) {
        size_t cap = seq->u.seq.cap ? seq->u.seq.cap : 4;
        while (cap < seq->u.seq.n + n) cap *= 2;
        mbt_pvalue **v = pk_alloc(p, cap * per * sizeof *v);
        if (!v) return pk_fail(p, MBT_ERR_NOMEM, "out of memory for a %s of %zu items", mbt_pv_kind_name(seq->kind), cap);
        if (seq->u.seq.n) memcpy(v, seq->u.seq.v, seq->u.seq.n * per * sizeof *v);
        seq->u.seq.v = v;
        seq->u.seq.cap = cap;
    }
    memcpy(seq->u.seq.v + seq->u.seq.n * per, items, n * per * sizeof *items);
    seq->u.seq.n += n;
    return MBT_OK;
}

/* ---- opcodes ---- */

enum {
    OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1', OP_DUP = '2', OP_BININT = 'J',
    OP_BININT1 = 'K', OP_BININT2 = 'M', OP_NONE = 'N', OP_BINPERSID = 'Q', OP_REDUCE = 'R',
    OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U', OP_BINUNICODE = 'X', OP_APPEND = 'a', OP_BUILD = 'b',
    OP_GLOBAL = 'c', OP_DICT = 'd', OP_EMPTY_DICT = '}', OP_APPENDS = 'e', OP_BINGET = 'h', OP_LONG_BINGET = 'j',
    OP_LIST = 'l', OP_EMPTY_LIST = ']', OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't',
    OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u', OP_BINFLOAT = 'G', OP_PROTO = 0x80, OP_NEWOBJ = 0x81,
    OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87, OP_NEWTRUE = 0x88, OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a,
    OP_LONG4 = 0x8b, OP_BINBYTES = 'B', OP_SHORT_BINBYTES = 'C', OP_SHORT_BINUNICODE = 0x8c,
    OP_BINUNICODE8 = 0x8d, OP_BINBYTES8 = 0x8e, OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94, OP_FRAME = 0x95,
    OP_BYTEARRAY8 = 0x96
};

static const char *op_name(unsigned char op) {
    switch (op) {
    case OP_MARK: return "MARK";
    case OP_STOP: return "STOP";
    case OP_POP: return "POP";
    case OP_POP_MARK: return "POP_MARK";
    case OP_DUP: return "DUP";
    case OP_BININT: return "BININT";
    case OP_BININT1: return "BININT1";
    case OP_BININT2: return "BININT2";
    case OP_NONE: return "NONE";
    case OP_BINPERSID: return "BINPERSID";
    case OP_REDUCE: return "REDUCE";
    case OP_BINSTRING: return "BINSTRING";
    case OP_SHORT_BINSTRING: return "SHORT_BINSTRING";
    case OP_BINUNICODE: return "BINUNICODE";
    case OP_APPEND: return "APPEND";
    case OP_BUILD: return "BUILD";
    case OP_GLOBAL: return "GLOBAL";
    case OP_DICT: return "DICT";
    case OP_EMPTY_DICT: return "EMPTY_DICT";
    case OP_APPENDS: return "APPENDS";
    case OP_BINGET: return "BINGET";
    case OP_LONG_BINGET: return "LONG_BINGET";
    case OP_LIST: return "LIST";
    case OP_EMPTY_LIST: return "EMPTY_LIST";
    case OP_BINPUT: return "BINPUT";
    case OP_LONG_BINPUT: return "LONG_BINPUT";
    case OP_SETITEM: return "SETITEM";
    case OP_TUPLE: return "TUPLE";
    case OP_EMPTY_TUPLE: return "EMPTY_TUPLE";
    case OP_SETITEMS: return "SETITEMS";
    case OP_BINFLOAT: return "BINFLOAT";
    case OP_PROTO: return "PROTO";
    case OP_NEWOBJ: return "NEWOBJ";
    case OP_TUPLE1: return "TUPLE1";
    case OP_TUPLE2: return "TUPLE2";
    case OP_TUPLE3: return "TUPLE3";
    case OP_NEWTRUE: return "NEWTRUE";
    case OP_NEWFALSE: return "NEWFALSE";
    case OP_LONG1: return "LONG1";
    case OP_LONG4: return "LONG4";
    case OP_BINBYTES: return "BINBYTES";
    case OP_SHORT_BINBYTES: return "SHORT_BINBYTES";
    case OP_SHORT_BINUNICODE: return "SHORT_BINUNICODE";
    case OP_BINUNICODE8: return "BINUNICODE8";
    case OP_BINBYTES8: return "BINBYTES8";
    case OP_STACK_GLOBAL: return "STACK_GLOBAL";
    case OP_MEMOIZE: return "MEMOIZE";
    case OP_FRAME: return "FRAME";
    case OP_BYTEARRAY8: return "BYTEARRAY8";
    /* understood by Python, not by this reader */
    case 'I': return "INT (text protocol 0)";
    case 'L': return "LONG (text protocol 0)";
    case 'S': return "STRING (text protocol 0)";
    case 'V': return "UNICODE (text protocol 0)";
    case 'F': return "FLOAT (text protocol 0)";
    case 'g': return "GET (text protocol 0)";
    case 'p': return "PUT (text protocol 0)";
    case 'P': return "PERSID (text protocol 0)";
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    }
    return "unknown";
}

mbt_status pk_fail(const mbt_pickle *p, mbt_status status, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return MBT_FAIL(status, "%s: pickle byte %zu, opcode 0x%02x (%s): %s", p->what, p->op_pos, p->op,
                    op_name(p->op), msg);
}

/* ---- machine state ---- */

typedef struct {
    mbt_pvalue **stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t n_marks;
    mbt_pvalue **memo;
    size_t memo_cap, memo_len;
} pk_machine;

static mbt_status need(mbt_pickle *p, uint64_t n) {
    if (n > p->len - p->pos)
        return pk_fail(p, MBT_ERR_FORMAT, "needs %llu bytes, only %zu left: truncated or corrupt data",
                       (unsigned long long)n, p->len - p->pos);
    return MBT_OK;
}

static uint64_t read_le(mbt_pickle *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p->buf[p->pos + (size_t)i];
    p->pos += (size_t)n;
    return v;
}

static mbt_status push(mbt_pickle *p, pk_machine *m, mbt_pvalue *v) {
    if (!v) return pk_fail(p, MBT_ERR_NOMEM, "out of memory (arena limit %zu bytes)", p->arena_limit);
    if (m->sp == m->stack_cap) {
        size_t cap = m->stack_cap ? 2 * m->stack_cap : 64;
        mbt_pvalue **s = realloc(m->stack, cap * sizeof *s);
        if (!s) return pk_fail(p, MBT_ERR_NOMEM, "out of memory for a stack of %zu values", cap);
        m->stack = s;
        m->stack_cap = cap;
    }
    m->stack[m->sp++] = v;
    return MBT_OK;
}

static size_t mark_base(const pk_machine *m) { return m->n_marks ? m->marks[m->n_marks - 1] : 0; }

/* The top n values above the current mark (not popped). */
static mbt_status top_n(mbt_pickle *p, pk_machine *m, size_t n, mbt_pvalue ***out) {
    if (m->sp - mark_base(m) < n)
        return pk_fail(p, MBT_ERR_FORMAT, "needs %zu values on the stack, %zu there", n, m->sp - mark_base(m));
    *out = m->stack + m->sp - n;
    return MBT_OK;
}

/* Pops to the last mark: items in (*items)[0, *n) stay valid until the next push. */
static mbt_status pop_mark(mbt_pickle *p, pk_machine *m, mbt_pvalue ***items, size_t *n) {
    if (!m->n_marks) return pk_fail(p, MBT_ERR_FORMAT, "no MARK on the stack");
    size_t base = m->marks[--m->n_marks];
    *items = m->stack + base;
    *n = m->sp - base;
    m->sp = base;
    return MBT_OK;
}

static mbt_status memo_put(mbt_pickle *p, pk_machine *m, uint64_t idx) {
    if (m->sp == mark_base(m)) return pk_fail(p, MBT_ERR_FORMAT, "nothing on the stack to memoize");
    if (idx >= MBT_PICKLE_MAX_MEMO)
        return pk_fail(p, MBT_ERR_FORMAT, "memo index %llu exceeds the limit of %u", (unsigned long long)idx,
                       MBT_PICKLE_MAX_MEMO);
    if (idx >= m->memo_cap) {
        size_t cap = m->memo_cap ? m->memo_cap : 64;
        while (cap <= idx) cap *= 2;
        mbt_pvalue **mm = realloc(m->memo, cap * sizeof *mm);
        if (!mm) return pk_fail(p, MBT_ERR_NOMEM, "out of memory for a memo of %zu entries", cap);
        memset(mm + m->memo_cap, 0, (cap - m->memo_cap) * sizeof *mm);
        m->memo = mm;
        m->memo_cap = cap;
    }
    if (!m->memo[idx]) m->memo_len++;
    m->memo[idx] = m->stack[m->sp - 1];
    return MBT_OK;
}

static mbt_status memo_get(mbt_pickle *p, pk_machine *m, uint64_t idx) {
    if (idx >= m->memo_cap || !m->memo[idx])
        return pk_fail(p, MBT_ERR_FORMAT, "memo entry %llu was never stored", (unsigned long long)idx);
    return push(p, m, m->memo[idx]);
}

static mbt_status push_int(mbt_pickle *p, pk_machine *m, int64_t i) {
    mbt_pvalue *v = pk_new(p, MBT_PV_INT);
    if (v) v->u.i = i;
    return push(p, m, v);
}

static mbt_status push_bytes(mbt_pickle *p, pk_machine *m, mbt_pv_kind kind, uint64_t n) {
    MBT_TRY(need(p, n));
    mbt_pvalue *v = pk_new(p, kind);
    if (v) {
        v->u.s.p = (const char *)p->buf + p->pos;
        v->u.s.n = (size_t)n;
    }
    p->pos += (size_t)n;
    return push(p, m, v);
}

/* LONG1 / LONG4: n bytes of little-endian two's complement, at most 8. */
static mbt_status push_long(mbt_pickle *p, pk_machine *m, uint64_t n) {
    if (n > 8) return pk_fail(p, MBT_ERR_UNSUPPORTED, "integer of %llu bytes exceeds 64 bits", (unsigned long long)n);
    MBT_TRY(need(p, n));
    uint64_t u = n ? read_le(p, (int)n) : 0;
    if (n && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    int64_t i;
    memcpy(&i, &u, sizeof i);
    return push_int(p, m, i);
}

static mbt_status read_line(mbt_pickle *p, const char **s, size_t *n) {
    const unsigned char *start = p->buf + p->pos;
    size_t left = p->len - p->pos, lim = left < 257 ? left : 257;
    const unsigned char *nl = memchr(start, '\n', lim);
    if (!nl) return pk_fail(p, MBT_ERR_FORMAT, "GLOBAL name not terminated by a newline within 256 bytes");
    *s = (const char *)start;
    *n = (size_t)(nl - start);
    p->pos += *n + 1;
    return MBT_OK;
}

static mbt_status make_seq(mbt_pickle *p, pk_machine *m, mbt_pv_kind kind, mbt_pvalue **items, size_t n) {
    if (kind == MBT_PV_DICT) {
        if (n % 2) return pk_fail(p, MBT_ERR_FORMAT, "odd number (%zu) of items for a dict", n);
        n /= 2;
    }
    return push(p, m, pk_new_seq(p, kind, items, n));
}

static mbt_status check_key(mbt_pickle *p, const mbt_pvalue *k) {
    if (k->kind == MBT_PV_LIST || k->kind == MBT_PV_DICT)
        return pk_fail(p, MBT_ERR_FORMAT, "unhashable dict key of type %s", mbt_pv_kind_name(k->kind));
    return MBT_OK;
}

static mbt_status set_items(mbt_pickle *p, mbt_pvalue *dict, mbt_pvalue **items, size_t n) {
    if (dict->kind != MBT_PV_DICT)
        return pk_fail(p, MBT_ERR_FORMAT, "sets items on a %s, not a dict", mbt_pv_kind_name(dict->kind));
    if (n % 2) return pk_fail(p, MBT_ERR_FORMAT, "odd number (%zu) of items for a dict", n);
    for (size_t i = 0; i < n; i += 2) MBT_TRY(check_key(p, items[i]));
    return pk_seq_append(p, dict, items, n / 2);
}

static mbt_status append_items(mbt_pickle *p, mbt_pvalue *list, mbt_pvalue **items, size_t n) {
    if (list->kind != MBT_PV_LIST)
        return pk_fail(p, MBT_ERR_FORMAT, "appends to a %s, not a list", mbt_pv_kind_name(list->kind));
    return pk_seq_append(p, list, items, n);
}

/* Executes one opcode; *done is set by STOP. */
static mbt_status step(mbt_pickle *p, pk_machine *m, int *done) {
    mbt_pvalue **it = NULL;
    size_t n = 0;
    unsigned char op = p->op;
    switch (op) {
    case OP_PROTO: {
        MBT_TRY(need(p, 1));
        unsigned v = (unsigned)read_le(p, 1);
        if (v > 5) return pk_fail(p, MBT_ERR_UNSUPPORTED, "pickle protocol %u (at most 5 supported)", v);
        return MBT_OK;
    }
    case OP_FRAME: {
        MBT_TRY(need(p, 8));
        uint64_t len = read_le(p, 8);
        return need(p, len); /* frames only group opcodes; their content is read as usual */
    }
    case OP_STOP:
        if (m->sp == mark_base(m)) return pk_fail(p, MBT_ERR_FORMAT, "STOP with an empty stack");
        p->root = m->stack[m->sp - 1];
        *done = 1;
        return MBT_OK;
    case OP_MARK:
        if (m->n_marks >= MBT_PICKLE_MAX_DEPTH)
            return pk_fail(p, MBT_ERR_FORMAT, "MARKs nested deeper than %d", MBT_PICKLE_MAX_DEPTH);
        m->marks[m->n_marks++] = m->sp;
        return MBT_OK;
    case OP_POP:
        if (m->sp > mark_base(m)) m->sp--;
        else if (m->n_marks) m->n_marks--; /* Python pops the mark when nothing is above it */
        else return pk_fail(p, MBT_ERR_FORMAT, "POP on an empty stack");
        return MBT_OK;
    case OP_POP_MARK: return pop_mark(p, m, &it, &n);
    case OP_DUP:
        MBT_TRY(top_n(p, m, 1, &it));
        return push(p, m, it[0]);
    case OP_NONE: return push(p, m, pk_new(p, MBT_PV_NONE));
    case OP_NEWTRUE:
    case OP_NEWFALSE: {
        mbt_pvalue *v = pk_new(p, MBT_PV_BOOL);
        if (v) v->u.i = op == OP_NEWTRUE;
        return push(p, m, v);
    }
    case OP_BININT: {
        MBT_TRY(need(p, 4));
        uint32_t u = (uint32_t)read_le(p, 4);
        int32_t i;
        memcpy(&i, &u, 4);
        return push_int(p, m, i);
    }
    case OP_BININT1: MBT_TRY(need(p, 1)); return push_int(p, m, (int64_t)read_le(p, 1));
    case OP_BININT2: MBT_TRY(need(p, 2)); return push_int(p, m, (int64_t)read_le(p, 2));
    case OP_LONG1: MBT_TRY(need(p, 1)); return push_long(p, m, read_le(p, 1));
    case OP_LONG4: {
        MBT_TRY(need(p, 4));
        uint32_t u = (uint32_t)read_le(p, 4);
        if (u & 0x80000000u) return pk_fail(p, MBT_ERR_FORMAT, "negative LONG4 length");
        return push_long(p, m, u);
    }
    case OP_BINFLOAT: {
        MBT_TRY(need(p, 8));
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) u = (u << 8) | p->buf[p->pos + (size_t)i]; /* big-endian */
        p->pos += 8;
        mbt_pvalue *v = pk_new(p, MBT_PV_FLOAT);
        if (v) memcpy(&v->u.f, &u, 8);
        return push(p, m, v);
    }
    case OP_SHORT_BINUNICODE: MBT_TRY(need(p, 1)); return push_bytes(p, m, MBT_PV_STR, read_le(p, 1));
    case OP_BINUNICODE: MBT_TRY(need(p, 4)); return push_bytes(p, m, MBT_PV_STR, read_le(p, 4));
    case OP_BINUNICODE8: MBT_TRY(need(p, 8)); return push_bytes(p, m, MBT_PV_STR, read_le(p, 8));
    case OP_SHORT_BINSTRING:
    case OP_SHORT_BINBYTES: MBT_TRY(need(p, 1)); return push_bytes(p, m, MBT_PV_BYTES, read_le(p, 1));
    case OP_BINSTRING: {
        MBT_TRY(need(p, 4));
        uint32_t u = (uint32_t)read_le(p, 4);
        if (u & 0x80000000u) return pk_fail(p, MBT_ERR_FORMAT, "negative BINSTRING length");
        return push_bytes(p, m, MBT_PV_BYTES, u);
    }
    case OP_BINBYTES: MBT_TRY(need(p, 4)); return push_bytes(p, m, MBT_PV_BYTES, read_le(p, 4));
    case OP_BINBYTES8:
    case OP_BYTEARRAY8: MBT_TRY(need(p, 8)); return push_bytes(p, m, MBT_PV_BYTES, read_le(p, 8));
    case OP_EMPTY_DICT: return push(p, m, pk_new(p, MBT_PV_DICT));
    case OP_EMPTY_LIST: return push(p, m, pk_new(p, MBT_PV_LIST));
    case OP_EMPTY_TUPLE: return push(p, m, pk_new(p, MBT_PV_TUPLE));
    case OP_TUPLE:
        MBT_TRY(pop_mark(p, m, &it, &n));
        return make_seq(p, m, MBT_PV_TUPLE, it, n);
    case OP_LIST:
        MBT_TRY(pop_mark(p, m, &it, &n));
        return make_seq(p, m, MBT_PV_LIST, it, n);
    case OP_DICT:
        MBT_TRY(pop_mark(p, m, &it, &n));
        for (size_t i = 0; i < n; i += 2) MBT_TRY(check_key(p, it[i]));
        return make_seq(p, m, MBT_PV_DICT, it, n);
    case OP_TUPLE1:
    case OP_TUPLE2:
    case OP_TUPLE3:
        n = (size_t)(op - OP_TUPLE1 + 1);
        MBT_TRY(top_n(p, m, n, &it));
        m->sp -= n;
        return make_seq(p, m, MBT_PV_TUPLE, it, n);
    case OP_APPEND:
        MBT_TRY(top_n(p, m, 2, &it));
        m->sp--;
        return append_items(p, it[0], it + 1, 1);
    case OP_APPENDS:
        MBT_TRY(pop_mark(p, m, &it, &n));
        if (m->sp == mark_base(m)) return pk_fail(p, MBT_ERR_FORMAT, "APPENDS without a list below the MARK");
        return append_items(p, m->stack[m->sp - 1], it, n);
    case OP_SETITEM:
        MBT_TRY(top_n(p, m, 3, &it));
        m->sp -= 2;
        return set_items(p, it[0], it + 1, 2);
    case OP_SETITEMS:
        MBT_TRY(pop_mark(p, m, &it, &n));
        if (m->sp == mark_base(m)) return pk_fail(p, MBT_ERR_FORMAT, "SETITEMS without a dict below the MARK");
        return set_items(p, m->stack[m->sp - 1], it, n);
    case OP_BINGET: MBT_TRY(need(p, 1)); return memo_get(p, m, read_le(p, 1));
    case OP_LONG_BINGET: MBT_TRY(need(p, 4)); return memo_get(p, m, read_le(p, 4));
    case OP_BINPUT: MBT_TRY(need(p, 1)); return memo_put(p, m, read_le(p, 1));
    case OP_LONG_BINPUT: MBT_TRY(need(p, 4)); return memo_put(p, m, read_le(p, 4));
    case OP_MEMOIZE: return memo_put(p, m, m->memo_len);
    case OP_GLOBAL: {
        const char *mod, *name;
        size_t ml, nl;
        MBT_TRY(read_line(p, &mod, &ml));
        MBT_TRY(read_line(p, &name, &nl));
        mbt_pvalue *g;
        MBT_TRY(pk_global(p, mod, ml, name, nl, &g));
        return push(p, m, g);
    }
    case OP_STACK_GLOBAL: {
        MBT_TRY(top_n(p, m, 2, &it));
        if (it[0]->kind != MBT_PV_STR || it[1]->kind != MBT_PV_STR)
            return pk_fail(p, MBT_ERR_FORMAT, "STACK_GLOBAL needs two str values, got %s and %s",
                           mbt_pv_kind_name(it[0]->kind), mbt_pv_kind_name(it[1]->kind));
        m->sp -= 2;
        mbt_pvalue *g;
        MBT_TRY(pk_global(p, it[0]->u.s.p, it[0]->u.s.n, it[1]->u.s.p, it[1]->u.s.n, &g));
        return push(p, m, g);
    }
    case OP_REDUCE:
    case OP_NEWOBJ: {
        MBT_TRY(top_n(p, m, 2, &it));
        m->sp -= 2;
        mbt_pvalue *r;
        if (op == OP_REDUCE) MBT_TRY(pk_reduce(p, it[0], it[1], &r));
        else MBT_TRY(pk_newobj(p, it[0], it[1], &r));
        return push(p, m, r);
    }
    case OP_BUILD:
        MBT_TRY(top_n(p, m, 2, &it));
        m->sp--;
        return pk_build(p, it[0], it[1]);
    case OP_BINPERSID: {
        MBT_TRY(top_n(p, m, 1, &it));
        m->sp--;
        mbt_pvalue *r;
        MBT_TRY(pk_persistent_load(p, it[0], &r));
        return push(p, m, r);
    }
    default:
        return pk_fail(p, MBT_ERR_UNSUPPORTED, "opcode not supported by this reader");
    }
}

mbt_status mbt_pickle_parse(mbt_pickle **out, const void *buf, size_t len, unsigned profile, const char *what) {
    *out = NULL;
    mbt_pickle *p = calloc(1, sizeof *p);
    if (!p) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for a pickle reader", what);
    p->buf = buf;
    p->len = len;
    p->profile = profile;
    snprintf(p->what, sizeof p->what, "%s", what ? what : "pickle");
    p->arena_limit = (len > ((size_t)1 << 40) / 64 ? ((size_t)1 << 40) : 64 * len) + ((size_t)16 << 20);
    pk_machine m = {0};
    m.marks = malloc(MBT_PICKLE_MAX_DEPTH * sizeof *m.marks);
    m.stack_cap = 64; /* allocated up front: slices of an empty stack are then well-defined */
    m.stack = malloc(m.stack_cap * sizeof *m.stack);
    mbt_status s = m.marks && m.stack ? MBT_OK : MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for a pickle reader", what);
    int done = 0;
    while (!s && !done) {
        if (p->pos >= p->len) {
            p->op_pos = p->pos;
            p->op = 0;
            s = MBT_FAIL(MBT_ERR_FORMAT, "%s: pickle ends at byte %zu without STOP: truncated data", p->what, p->len);
            break;
        }
        p->op_pos = p->pos;
        p->op = p->buf[p->pos++];
        s = step(p, &m, &done);
    }
    if (!s) s = pk_check_graph(p, p->root);
    free(m.stack);
    free(m.marks);
    free(m.memo);
    if (s) {
        mbt_pickle_destroy(p);
        return s;
    }
    *out = p;
    return MBT_OK;
}

void mbt_pickle_destroy(mbt_pickle *p) {
    if (!p) return;
    for (pk_chunk *c = p->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(p);
}

const mbt_pvalue *mbt_pickle_root(const mbt_pickle *p) { return p->root; }
