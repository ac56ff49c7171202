/* fearless._native: AtomicInt and AtomicRef (IntCellCore, RefCellCore): an object behind a critical section.
 *
 * A part of the compiled core: module.c includes every part, in order, into
 * one translation unit, so that every function stays static and can be
 * inlined. The rules every part follows are in module.c's opening comment.
 */

/* -- atomics whose value is an object ---------------------------------------------
 *
 * No hardware word holds an int of any size (AtomicInt) or a counted
 * reference to an object (AtomicRef) so that it can be read and replaced
 * at once: a pointer swap alone would let a reader use an object that the
 * writer's Py_DECREF is freeing. So each operation is a critical section
 * on the atomic object itself: Py_BEGIN_CRITICAL_SECTION on the
 * free-threaded build (a per-object lock, taken and released in a few
 * nanoseconds when uncontended), the GIL on the regular build. Inside, only
 * C code that runs no Python code and releases nothing: reads and writes of
 * the pointer, and for AtomicInt arithmetic and comparisons on exact ints
 * (every operand is converted to an exact int before the section; int
 * allocation never starts the garbage collector). A replaced object is let
 * go after the section, since its finaliser may run any code.
 *
 * The requested orderings are validated as everywhere; the critical section
 * makes every operation sequentially consistent, which is stronger than any
 * of them (the same as the reference's lock).
 */

enum { KINT = 64, KREF = 128 };

typedef struct {
    PyObject_HEAD
    PyObject *weakreflist;
    PyObject *value;   /* AtomicInt: an exact int; AtomicRef: any object */
    int kind;          /* KINT or KREF */
} ObjectCore;

#ifdef Py_GIL_DISABLED
#define CELL_BEGIN(o) Py_BEGIN_CRITICAL_SECTION(o)
#define CELL_END() Py_END_CRITICAL_SECTION()
#else
#define CELL_BEGIN(o) {
#define CELL_END() }
#endif

/* An operand, ready for the section: a new reference (an exact int for
 * AtomicInt), or NULL with the reference's exception set. ``order`` must be
 * one of ``allowed``, else the reference's slow path raises for it. */
static PyObject *
cell_operand(ObjectCore *self, PyObject *val, PyObject *order, unsigned allowed, PyObject *kind, int *order_out)
{
    int o = order_index(order, allowed);
    if (o >= 0 && (self->kind == KREF || PyLong_CheckExact(val))) {
        *order_out = o;
        return Py_NewRef(val);
    }
    PyObject *convert = converter((PyObject *)self);
    if (convert == NULL) {
        return NULL;
    }
    PyObject *converted = PyObject_CallFunctionObjArgs(S.slow_operand, val, order, kind, convert, NULL);
    Py_DECREF(convert);
    if (converted == NULL) {
        return NULL;
    }
    o = order_index(order, allowed);
    if (o < 0 || (self->kind == KINT && !PyLong_CheckExact(converted))) {
        Py_DECREF(converted);
        PyErr_SetString(PyExc_SystemError, "fearless._native: the slow path let a bad operand through");
        return NULL;
    }
    *order_out = o;
    return converted;
}

static PyObject *
cell_one_operand(ObjectCore *self, const char *fname, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames, unsigned allowed, PyObject *kind)
{
    PyObject *a[2] = {NULL, S.orders[ORD_SEQCST]};
    if (nargs == 1 && kwnames == NULL) {
        a[0] = args[0];
    }
    else if (parse_args(fname, args, nargs, kwnames, NAMES_VAL_ORDER, 2, 1, a) < 0) {
        return NULL;
    }
    int o;
    return cell_operand(self, a[0], a[1], allowed, kind, &o);
}

/* The value, a new reference. */
static inline PyObject *
cell_get(ObjectCore *self)
{
    PyObject *value;
    CELL_BEGIN(self);
    value = Py_NewRef(self->value);
    CELL_END();
    return value;
}

static PyObject *
ObjectCore_load(ObjectCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    int o;
    if (order_argument("load", args, nargs, kwnames, ALLOW_LOAD, S.str_load, &o) < 0) {
        return NULL;
    }
    return cell_get(self);
}

/* Replace the value with ``val`` (a new reference, which the cell takes);
 * the old value, a new reference. */
static PyObject *
cell_exchange(ObjectCore *self, PyObject *val)
{
    PyObject *old;
    CELL_BEGIN(self);
    old = self->value;
    self->value = val;
    CELL_END();
    return old;
}

static PyObject *
ObjectCore_store(ObjectCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *val = cell_one_operand(self, "store", args, nargs, kwnames, ALLOW_STORE, S.str_store);
    if (val == NULL) {
        return NULL;
    }
    Py_DECREF(cell_exchange(self, val)); /* after the section: its finaliser may run code */
    Py_RETURN_NONE;
}

static PyObject *
ObjectCore_swap(ObjectCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *val = cell_one_operand(self, "swap", args, nargs, kwnames, ALLOW_ANY, S.str_any);
    if (val == NULL) {
        return NULL;
    }
    return cell_exchange(self, val);
}

static PyObject *
cell_compare_exchange(ObjectCore *self, const char *fname, PyObject *const *args, Py_ssize_t nargs,
                      PyObject *kwnames)
{
    PyObject *a[4] = {NULL, NULL, S.orders[ORD_SEQCST], S.orders[ORD_SEQCST]};
    if (parse_args(fname, args, nargs, kwnames, NAMES_CAS, 4, 2, a) < 0) {
        return NULL;
    }
    PyObject *current, *desired;
    int fast = order_index(a[2], ALLOW_ANY) >= 0 && order_index(a[3], ALLOW_LOAD) >= 0
               && (self->kind == KREF || (PyLong_CheckExact(a[0]) && PyLong_CheckExact(a[1])));
    if (fast) {
        current = Py_NewRef(a[0]);
        desired = Py_NewRef(a[1]);
    }
    else {
        PyObject *pair = slow_pair((PyObject *)self, a);
        if (pair == NULL) {
            return NULL;
        }
        if ((self->kind == KINT
                && (!PyLong_CheckExact(PyTuple_GET_ITEM(pair, 0)) || !PyLong_CheckExact(PyTuple_GET_ITEM(pair, 1))))) {
            Py_DECREF(pair);
            PyErr_SetString(PyExc_SystemError, "fearless._native: the slow path let a bad operand through");
            return NULL;
        }
        current = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
        desired = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
        Py_DECREF(pair);
    }
    PyObject *old;
    int ok;
    CELL_BEGIN(self);
    old = self->value;
    /* AtomicRef compares identity, as Rust compares pointers; AtomicInt
     * compares two exact ints (C code only, no Python __eq__). */
    ok = self->kind == KREF ? old == current : PyObject_RichCompareBool(old, current, Py_EQ);
    if (ok == 1) {
        self->value = desired; /* the cell takes our reference; its old one is ours */
        desired = NULL;
    }
    else {
        Py_INCREF(old);
    }
    CELL_END();
    Py_DECREF(current);
    Py_XDECREF(desired);
    if (ok < 0) {
        Py_DECREF(old);
        return NULL;
    }
    return new_result(ok, old); /* the result holds the old value: let go after the section */
}

static PyObject *
ObjectCore_compare_exchange(ObjectCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return cell_compare_exchange(self, "compare_exchange", args, nargs, kwnames);
}

static PyObject *
ObjectCore_compare_exchange_weak(ObjectCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    /* Never fails spuriously, as the reference: the strong form. */
    return cell_compare_exchange(self, "compare_exchange_weak", args, nargs, kwnames);
}

/* AtomicInt's read-modify-writes: Python's own int arithmetic, in the section. */
static PyObject *
int_apply(Op op, PyObject *old, PyObject *val)
{
    switch (op) {
    case OP_ADD: return PyNumber_Add(old, val);
    case OP_SUB: return PyNumber_Subtract(old, val);
    case OP_AND: return PyNumber_And(old, val);
    case OP_OR: return PyNumber_Or(old, val);
    case OP_XOR: return PyNumber_Xor(old, val);
    case OP_NAND: {
        PyObject *both = PyNumber_And(old, val);
        if (both == NULL) {
            return NULL;
        }
        PyObject *result = PyNumber_Invert(both);
        Py_DECREF(both);
        return result;
    }
    default: { /* OP_MAX, OP_MIN: the operand if it wins, else the old value */
        int wins = PyObject_RichCompareBool(val, old, op == OP_MAX ? Py_GT : Py_LT);
        if (wins < 0) {
            return NULL;
        }
        return Py_NewRef(wins ? val : old);
    }
    }
}

static PyObject *
cell_fetch(ObjectCore *self, const char *fname, Op op, PyObject *const *args, Py_ssize_t nargs,
           PyObject *kwnames)
{
    PyObject *val = cell_one_operand(self, fname, args, nargs, kwnames, ALLOW_ANY, S.str_any);
    if (val == NULL) {
        return NULL;
    }
    PyObject *old, *new;
    CELL_BEGIN(self);
    old = self->value;
    new = int_apply(op, old, val);
    if (new != NULL) {
        self->value = new; /* the cell's old reference moves to the caller */
    }
    else {
        old = NULL;
    }
    CELL_END();
    Py_DECREF(val);
    return old;
}

#define FETCH(name, op)                                                                            \
    static PyObject *ObjectCore_##name(ObjectCore *self, PyObject *const *args, Py_ssize_t nargs, \
                                       PyObject *kwnames)                                        \
    {                                                                                              \
        return cell_fetch(self, #name, op, args, nargs, kwnames);                                  \
    }

FETCH(fetch_add, OP_ADD)
FETCH(fetch_sub, OP_SUB)
FETCH(fetch_and, OP_AND)
FETCH(fetch_or, OP_OR)
FETCH(fetch_xor, OP_XOR)
FETCH(fetch_nand, OP_NAND)
FETCH(fetch_max, OP_MAX)
FETCH(fetch_min, OP_MIN)
#undef FETCH

static PyObject *
ObjectCore_get_value(ObjectCore *self, void *closure)
{
    /* A snapshot, as the reference's _value: repr takes no lock but this section. */
    return cell_get(self);
}

static PyObject *
ObjectCore_repr(ObjectCore *self)
{
    /* The value's own repr runs outside any section: it may run any code. */
    return atomic_repr((PyObject *)self, ObjectCore_get_value(self, NULL));
}

static PyObject *
ObjectCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    long kind;
    if (native_kind(type, &kind) < 0) {
        return NULL;
    }
    if (kind != KINT && kind != KREF) {
        PyErr_Format(PyExc_ValueError, "bad _native_kind %ld", kind);
        return NULL;
    }
    ObjectCore *self = (ObjectCore *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->weakreflist = NULL;
    self->kind = (int)kind;
    self->value = kind == KINT ? PyLong_FromLong(0) : Py_NewRef(Py_None);
    if (self->value == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int
ObjectCore_init(ObjectCore *self, PyObject *args, PyObject *kwds)
{
    /* AtomicInt(value=0), AtomicRef(value): the reference's signatures. */
    static char *kwlist[] = {"value", NULL};
    PyObject *value = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, self->kind == KINT ? "|O:__init__" : "O:__init__", kwlist,
                                     &value)) {
        return -1;
    }
    if (value == NULL) {
        return 0;
    }
    PyObject *converted;
    if (self->kind == KREF || PyLong_CheckExact(value)) {
        converted = Py_NewRef(value);
    }
    else {
        PyObject *convert = converter((PyObject *)self);
        if (convert == NULL) {
            return -1;
        }
        converted = PyObject_CallOneArg(convert, value);
        Py_DECREF(convert);
        if (converted == NULL) {
            return -1;
        }
    }
    Py_DECREF(cell_exchange(self, converted));
    return 0;
}

static int
ObjectCore_traverse(ObjectCore *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->value);
    return 0;
}

static int
ObjectCore_clear(ObjectCore *self)
{
    /* Never NULL: a finaliser may still use a cleared atomic. */
    Py_SETREF(self->value, Py_NewRef(Py_None));
    return 0;
}

static void
ObjectCore_dealloc(ObjectCore *self)
{
    dealloc_begin((PyObject *)self, 1, self->weakreflist);
    Py_CLEAR(self->value);
    dealloc_end((PyObject *)self);
}

#define METHOD(name, doc) {#name, (PyCFunction)(void (*)(void))ObjectCore_##name, METH_FASTCALL | METH_KEYWORDS, doc}
#define CELL_METHODS                                                                          \
    METHOD(load, "Read the value."),                                                          \
    METHOD(store, "Replace the value."),                                                      \
    METHOD(swap, "Replace the value and return the previous one, atomically."),               \
    METHOD(compare_exchange, "Store ``new`` if the value is ``current``, atomically."),       \
    METHOD(compare_exchange_weak, ":meth:`compare_exchange`, which Rust allows to fail spuriously.")

static PyMethodDef RefCellCore_methods[] = {
    CELL_METHODS,
    {NULL, NULL, 0, NULL},
};

static PyMethodDef IntCellCore_methods[] = {
    CELL_METHODS,
    METHOD(fetch_add, "Add ``val``; return the previous value."),
    METHOD(fetch_sub, "Subtract ``val``; return the previous value."),
    METHOD(fetch_and, "Bitwise \"and\" with ``val``; return the previous value."),
    METHOD(fetch_or, "Bitwise \"or\" with ``val``; return the previous value."),
    METHOD(fetch_xor, "Bitwise \"xor\" with ``val``; return the previous value."),
    METHOD(fetch_nand, "Bitwise \"nand\" with ``val``; return the previous value."),
    METHOD(fetch_max, "Store the larger of the value and ``val``; return the previous value."),
    METHOD(fetch_min, "Store the smaller of the value and ``val``; return the previous value."),
    {NULL, NULL, 0, NULL},
};
#undef CELL_METHODS
#undef METHOD

static PyGetSetDef ObjectCore_getset[] = {
    {"_value", (getter)ObjectCore_get_value, NULL, "The value (a snapshot).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef ObjectCore_members[] = {
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(ObjectCore, weakreflist), Py_READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

#define CELL_SLOTS(doc, methods)                   \
    {Py_tp_doc, doc},                              \
    {Py_tp_new, ObjectCore_new},                   \
    {Py_tp_init, ObjectCore_init},                 \
    {Py_tp_dealloc, ObjectCore_dealloc},           \
    {Py_tp_traverse, ObjectCore_traverse},         \
    {Py_tp_clear, ObjectCore_clear},               \
    {Py_tp_repr, ObjectCore_repr},                 \
    {Py_tp_methods, methods},                      \
    {Py_tp_getset, ObjectCore_getset},             \
    {Py_tp_members, ObjectCore_members},           \
    {0, NULL}

static PyType_Slot IntCellCore_slots[] = {
    CELL_SLOTS("The compiled core of fearless.atomic.AtomicInt.", IntCellCore_methods),
};

static PyType_Slot RefCellCore_slots[] = {
    CELL_SLOTS("The compiled core of fearless.atomic.AtomicRef.", RefCellCore_methods),
};
#undef CELL_SLOTS

static PyType_Spec IntCellCore_spec = {
    .name = "fearless._native.IntCellCore",
    .basicsize = sizeof(ObjectCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = IntCellCore_slots,
};

static PyType_Spec RefCellCore_spec = {
    .name = "fearless._native.RefCellCore",
    .basicsize = sizeof(ObjectCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = RefCellCore_slots,
};
