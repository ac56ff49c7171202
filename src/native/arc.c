/* fearless._native: Arc and Weak (ArcInner, ArcCore, WeakCore).
 *
 * A part of the compiled core: module.c includes every part, in order, into
 * one translation unit, so that every function stays static and can be
 * inlined. The rules every part follows are in module.c's opening comment.
 */

/* -- Arc and Weak ----------------------------------------------------------------
 *
 * ArcInner is the shared allocation: the value and the strong and weak
 * counts, each a C11 atomic, with Rust's protocol (library/alloc/src/sync.rs):
 *
 * - a clone or downgrade comes from a live handle, so its increment is
 *   Relaxed, as in Rust: the count cannot be zero under it;
 * - a drop decrements with Release; the one that takes the strong count to
 *   zero fences with Acquire, so that every use of the value by every other
 *   handle happened before the value is let go;
 * - Weak.upgrade increments only a non-zero strong count, in a
 *   compare-exchange loop (Acquire on success): a released value is never
 *   revived;
 * - try_unwrap and make_mut take a unique strong count from 1 to 0 with one
 *   compare-exchange (Acquire), as Rust's do.
 *
 * The counts are counts of handles, as in the reference (fearless._arc):
 * `weak` is the number of live Weak handles (Rust adds one for all the
 * strong handles together; fearless's weak_count() never did).
 *
 * What Rust's borrow checker rules out, Python allows: two threads may use
 * one handle object at once, one cloning it while the other drops it. So a
 * handle's `inner` pointer is read and written only inside the handle's own
 * critical section on the free-threaded build (the GIL is that section on
 * the regular build): a clone either counts a new owner before the drop
 * gives this handle's ownership up, or sees the handle dropped and raises
 * ConsumedError. Nothing inside that section runs Python code or allocates;
 * the value is let go after it.
 *
 * The value is written before any handle can read it (at creation, or by
 * new_cyclic before its strong count leaves zero with Release) and cleared
 * only by the thread that took the strong count to zero: a reader holds a
 * strong count (its handle's), so it never sees the value go.
 */

typedef struct {
    PyObject_HEAD
    PyObject *value;               /* NULL: released, or new_cyclic's value not there yet */
    _Atomic Py_ssize_t strong;     /* live Arc handles */
    _Atomic Py_ssize_t weak;       /* live Weak handles */
} ArcInner;

typedef struct {
    PyObject_HEAD
    PyObject *weakreflist;
    ArcInner *inner;               /* a counted reference; NULL once dropped */
} HandleCore;

typedef struct {
    PyObject *consumed_error, *not_unique_error;
    PyObject *msg_arc, *msg_weak;  /* the ConsumedError messages of a dropped Arc, Weak */
    PyObject *copy;                /* copy.copy, for make_mut */
    PyTypeObject *arc_type, *weak_type; /* the twins: what upgrade() and downgrade() make */
    int ready;
} ArcState;

static ArcState A;

static PyTypeObject *ArcInner_type; /* set in native_exec; the module keeps them alive */
static PyTypeObject *ArcCore_type;
static PyTypeObject *WeakCore_type;

#ifdef Py_GIL_DISABLED
#define HANDLE_BEGIN(h) Py_BEGIN_CRITICAL_SECTION(h)
#define HANDLE_END() Py_END_CRITICAL_SECTION()
#else
#define HANDLE_BEGIN(h) {
#define HANDLE_END() }
#endif

static ArcInner *
inner_new(PyObject *value, Py_ssize_t strong, Py_ssize_t weak)
{
    ArcInner *inner = PyObject_GC_New(ArcInner, ArcInner_type);
    if (inner == NULL) {
        return NULL;
    }
    inner->value = Py_XNewRef(value);
    atomic_init(&inner->strong, strong);
    atomic_init(&inner->weak, weak);
    PyObject_GC_Track(inner);
    return inner;
}

static int
ArcInner_traverse(ArcInner *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->value);
    return 0;
}

static void
ArcInner_dealloc(ArcInner *self)
{
    dealloc_begin((PyObject *)self, 1, NULL);
    Py_CLEAR(self->value);
    dealloc_end((PyObject *)self);
}

static PyType_Slot ArcInner_slots[] = {
    {Py_tp_doc, "The shared allocation of an Arc: its value and its counts."},
    {Py_tp_dealloc, ArcInner_dealloc},
    {Py_tp_traverse, ArcInner_traverse},
    {0, NULL},
};

static PyType_Spec ArcInner_spec = {
    .name = "fearless._native.ArcInner",
    .basicsize = sizeof(ArcInner),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = ArcInner_slots,
};

/* -- counting -- */

/* A new handle of ``type`` (a twin) owning one count of ``inner`` (stolen;
 * may be NULL: the caller sets it). */
static HandleCore *
handle_new(PyTypeObject *type, ArcInner *inner)
{
    HandleCore *handle = PyObject_GC_New(HandleCore, type);
    if (handle == NULL) {
        Py_XDECREF(inner);
        return NULL;
    }
    handle->weakreflist = NULL;
    handle->inner = inner;
    PyObject_GC_Track(handle);
    return handle;
}

/* Give one strong count of ``inner`` up, and the caller's reference to it;
 * the value (a new reference) if that was the last one, else NULL. */
static PyObject *
take_strong(ArcInner *inner)
{
    PyObject *value = NULL;
    if (atomic_fetch_sub_explicit(&inner->strong, 1, memory_order_release) == 1) {
        atomic_thread_fence(memory_order_acquire);
        value = inner->value;
        inner->value = NULL;
    }
    Py_DECREF(inner);
    return value;
}

/* take_strong, letting the value go after the count is zero: its finaliser
 * may use this allocation's Weak handles (upgrade() then returns None). */
static void
release_strong(ArcInner *inner)
{
    Py_XDECREF(take_strong(inner));
}

static void
release_weak(ArcInner *inner)
{
    atomic_fetch_sub_explicit(&inner->weak, 1, memory_order_release);
    Py_DECREF(inner);
}

static inline int
is_arc(HandleCore *self)
{
    return PyObject_TypeCheck(self, ArcCore_type);
}

/* Take the handle's ownership out of it: its counted reference, or NULL if
 * it was dropped already. */
static ArcInner *
handle_take(HandleCore *self)
{
    ArcInner *inner;
    HANDLE_BEGIN(self);
    inner = self->inner;
    self->inner = NULL;
    HANDLE_END();
    return inner;
}

/* Give up what handle_take took out of a handle of this kind. */
static void
release(HandleCore *self, ArcInner *inner)
{
    if (is_arc(self)) {
        release_strong(inner);
    }
    else {
        release_weak(inner);
    }
}

/* Drop the handle: 1, or 0 if it was dropped already. */
static int
handle_drop(HandleCore *self)
{
    ArcInner *inner = handle_take(self);
    if (inner == NULL) {
        return 0;
    }
    release(self, inner);
    return 1;
}

static PyObject *
consumed(HandleCore *self)
{
    PyErr_SetObject(A.consumed_error, is_arc(self) ? A.msg_arc : A.msg_weak);
    return NULL;
}

/* The handle's allocation, a new reference; NULL with ConsumedError set. */
static ArcInner *
handle_live(HandleCore *self)
{
    ArcInner *inner;
    HANDLE_BEGIN(self);
    inner = (ArcInner *)Py_XNewRef(self->inner);
    HANDLE_END();
    if (inner == NULL) {
        consumed(self);
    }
    return inner;
}

/* A new handle of ``type`` on self's allocation, one more in its strong or
 * weak count (an increment from a live handle: Relaxed, as Rust's clone). */
static PyObject *
handle_share(HandleCore *self, PyTypeObject *type, int strong)
{
    HandleCore *new = handle_new(type, NULL);
    if (new == NULL) {
        return NULL;
    }
    ArcInner *inner;
    HANDLE_BEGIN(self);
    inner = self->inner;
    if (inner != NULL) {
        atomic_fetch_add_explicit(strong ? &inner->strong : &inner->weak, 1, memory_order_relaxed);
        new->inner = (ArcInner *)Py_NewRef(inner);
    }
    HANDLE_END();
    if (inner == NULL) {
        Py_DECREF(new);
        return consumed(self);
    }
    return (PyObject *)new;
}

/* -- what both handles have -- */

static PyObject *
Handle_drop(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    if (!handle_drop(self)) {
        return consumed(self);
    }
    Py_RETURN_NONE;
}

/* _drop(): the handle protocol of fearless._handle; False if dropped already. */
static PyObject *
Handle_private_drop(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(handle_drop(self));
}

static PyObject *
Handle_enter(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    return Py_NewRef(self);
}

static PyObject *
Handle_exit(HandleCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    handle_drop(self);
    Py_RETURN_NONE;
}

/* _live(): the allocation (for ptr_eq, the reference's own code), or ConsumedError. */
static PyObject *
Handle_live(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    return (PyObject *)handle_live(self);
}

static PyObject *
Handle_weak_clone(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    return handle_share(self, A.weak_type, 0);
}

static int
Handle_traverse(HandleCore *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->inner);
    return 0;
}

/* The garbage collector breaks a cycle through a handle by dropping it, as
 * the reference's __del__ does. */
static int
Handle_clear(HandleCore *self)
{
    handle_drop(self);
    return 0;
}

static void
Handle_dealloc(HandleCore *self)
{
    dealloc_begin((PyObject *)self, 1, self->weakreflist);
    /* A handle garbage-collected while alive drops itself. Nothing else
     * refers to it, so no critical section is needed. */
    ArcInner *inner = self->inner;
    self->inner = NULL;
    if (inner != NULL) {
        /* The value's finaliser may raise; keep whatever error is set. */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        release(self, inner);
        PyErr_Restore(type, value, tb);
    }
    dealloc_end((PyObject *)self);
}

/* -- Arc -- */

static PyObject *
ArcCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *value = NULL;
    static char *names[] = {"value", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Arc", names, &value)) {
        return NULL;
    }
    ArcInner *inner = inner_new(value, 1, 0);
    if (inner == NULL) {
        return NULL;
    }
    return (PyObject *)handle_new(type, inner);
}

static PyObject *
ArcCore_get_value(HandleCore *self, void *closure)
{
    PyObject *value = NULL;
    int live;
    HANDLE_BEGIN(self);
    live = self->inner != NULL;
    if (live) {
        value = Py_XNewRef(self->inner->value);
    }
    HANDLE_END();
    if (value == NULL) {
        return consumed(self);
    }
    return value;
}

static PyObject *
ArcCore_clone(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    return handle_share(self, Py_TYPE(self), 1);
}

static PyObject *
Handle_count(HandleCore *self, int strong)
{
    ArcInner *inner = handle_live(self);
    if (inner == NULL) {
        return NULL;
    }
    Py_ssize_t n = atomic_load_explicit(strong ? &inner->strong : &inner->weak, memory_order_acquire);
    if (!strong && !is_arc(self) && atomic_load_explicit(&inner->strong, memory_order_acquire) == 0) {
        n = 0; /* Rust's Weak::weak_count: no strong handle left, as good as gone */
    }
    Py_DECREF(inner);
    return PyLong_FromSsize_t(n);
}

static PyObject *
Handle_strong_count(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    return Handle_count(self, 1);
}

static PyObject *
Handle_weak_count(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    return Handle_count(self, 0);
}

/* try_unwrap(): the value if this is the only strong handle; this handle is dropped. */
static PyObject *
ArcCore_try_unwrap(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    ArcInner *inner;
    PyObject *value = NULL;
    Py_ssize_t strong = 1;
    HANDLE_BEGIN(self);
    inner = self->inner;
    if (inner != NULL) {
        if (atomic_compare_exchange_strong_explicit(&inner->strong, &strong, 0, memory_order_acquire,
                                                    memory_order_relaxed)) {
            self->inner = NULL;
            value = inner->value; /* the handle's reference moves to the caller */
            inner->value = NULL;
        }
    }
    HANDLE_END();
    if (inner == NULL) {
        return consumed(self);
    }
    if (value == NULL) {
        return PyErr_Format(A.not_unique_error,
                            "%zd strong handles share this Arc; drop the others first, or use "
                            "into_inner()",
                            strong);
    }
    Py_DECREF(inner);
    return value;
}

/* into_inner(): drop this handle; the value if it was the last strong one, else None. */
static PyObject *
ArcCore_into_inner(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    ArcInner *inner = handle_take(self);
    if (inner == NULL) {
        return consumed(self);
    }
    PyObject *value = take_strong(inner);
    return value != NULL ? value : Py_NewRef(Py_None);
}

/* get_mut(): the value if this handle is its only owner, else None. */
static PyObject *
ArcCore_get_mut(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *value = NULL;
    int live;
    HANDLE_BEGIN(self);
    ArcInner *inner = self->inner;
    live = inner != NULL;
    /* No Weak handle first: then no new strong handle can appear but from
     * this one (whose section this is), so a strong count of 1 read after
     * it stays 1. */
    if (live && atomic_load_explicit(&inner->weak, memory_order_seq_cst) == 0
        && atomic_load_explicit(&inner->strong, memory_order_seq_cst) == 1) {
        value = Py_XNewRef(inner->value);
    }
    HANDLE_END();
    if (!live) {
        return consumed(self);
    }
    return value != NULL ? value : Py_NewRef(Py_None);
}

/* make_mut(): copy-on-write (the reference's Arc.make_mut says what happens when). */
static PyObject *
ArcCore_make_mut(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    ArcInner *moved = inner_new(NULL, 1, 0); /* allocated before the section */
    if (moved == NULL) {
        return NULL;
    }
    ArcInner *inner;
    PyObject *value = NULL;
    int unique = 0;
    HANDLE_BEGIN(self);
    inner = self->inner;
    if (inner != NULL) {
        Py_ssize_t one = 1;
        if (atomic_compare_exchange_strong_explicit(&inner->strong, &one, 0, memory_order_acquire,
                                                    memory_order_relaxed)) {
            unique = 1;
            value = Py_XNewRef(inner->value);
            if (atomic_load_explicit(&inner->weak, memory_order_acquire) == 0) {
                atomic_store_explicit(&inner->strong, 1, memory_order_release);
            }
            else {
                /* Only weak handles besides this one: move the value, no
                 * copy; they can no longer upgrade. */
                moved->value = inner->value;
                inner->value = NULL;
                self->inner = moved;
                moved = inner; /* this handle's old reference, let go below */
            }
        }
        else {
            value = Py_XNewRef(inner->value);
            Py_INCREF(inner);
        }
    }
    HANDLE_END();
    if (inner == NULL) {
        Py_DECREF(moved);
        return consumed(self);
    }
    if (unique) {
        Py_DECREF(moved); /* the unused new allocation, or the old one */
        return value;
    }
    /* Other owners: copy outside the section (copy.copy runs user code). */
    PyObject *copied = PyObject_CallOneArg(A.copy, value);
    Py_DECREF(value);
    if (copied == NULL) {
        Py_DECREF(inner);
        Py_DECREF(moved);
        return NULL;
    }
    moved->value = Py_NewRef(copied);
    int same;
    HANDLE_BEGIN(self);
    same = self->inner == inner;
    if (same) {
        self->inner = moved; /* the handle's count moves to the copy */
    }
    HANDLE_END();
    if (!same) {
        Py_DECREF(inner);
        Py_DECREF(moved);
        Py_DECREF(copied);
        return consumed(self);
    }
    Py_DECREF(inner);       /* the reference taken in the first section */
    release_strong(inner);  /* and the handle's own count and reference */
    return copied;
}

static PyObject *
ArcCore_new_cyclic(PyTypeObject *cls, PyObject *fn)
{
    ArcInner *inner = inner_new(NULL, 0, 1);
    if (inner == NULL) {
        return NULL;
    }
    HandleCore *weak = handle_new(A.weak_type, (ArcInner *)Py_NewRef(inner));
    if (weak == NULL) {
        Py_DECREF(inner);
        return NULL;
    }
    PyObject *value = PyObject_CallOneArg(fn, (PyObject *)weak);
    Py_DECREF(weak);
    if (value == NULL) {
        Py_DECREF(inner);
        return NULL;
    }
    inner->value = value; /* before the strong count leaves zero */
    atomic_store_explicit(&inner->strong, 1, memory_order_release);
    return (PyObject *)handle_new(cls, inner);
}

static PyObject *
ArcCore_repr(HandleCore *self)
{
    PyObject *value = NULL;
    HANDLE_BEGIN(self);
    if (self->inner != NULL) {
        value = Py_XNewRef(self->inner->value);
    }
    HANDLE_END();
    if (value == NULL) {
        return PyUnicode_FromString("Arc(<dropped>)");
    }
    PyObject *text = PyUnicode_FromFormat("Arc(%R)", value);
    Py_DECREF(value);
    return text;
}

static PyMethodDef ArcCore_methods[] = {
    {"clone", (PyCFunction)ArcCore_clone, METH_NOARGS, NULL},
    {"drop", (PyCFunction)Handle_drop, METH_NOARGS, NULL},
    {"_drop", (PyCFunction)Handle_private_drop, METH_NOARGS, NULL},
    {"_live", (PyCFunction)Handle_live, METH_NOARGS, NULL},
    {"downgrade", (PyCFunction)Handle_weak_clone, METH_NOARGS, NULL},
    {"strong_count", (PyCFunction)Handle_strong_count, METH_NOARGS, NULL},
    {"weak_count", (PyCFunction)Handle_weak_count, METH_NOARGS, NULL},
    {"try_unwrap", (PyCFunction)ArcCore_try_unwrap, METH_NOARGS, NULL},
    {"into_inner", (PyCFunction)ArcCore_into_inner, METH_NOARGS, NULL},
    {"get_mut", (PyCFunction)ArcCore_get_mut, METH_NOARGS, NULL},
    {"make_mut", (PyCFunction)ArcCore_make_mut, METH_NOARGS, NULL},
    {"_new_cyclic", (PyCFunction)ArcCore_new_cyclic, METH_O | METH_CLASS, NULL},
    {"__enter__", (PyCFunction)Handle_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))Handle_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef ArcCore_getset[] = {
    {"value", (getter)ArcCore_get_value, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef Handle_members[] = {
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(HandleCore, weakreflist), Py_READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot ArcCore_slots[] = {
    {Py_tp_doc, "The compiled core of fearless.Arc."},
    {Py_tp_new, ArcCore_new},
    {Py_tp_dealloc, Handle_dealloc},
    {Py_tp_traverse, Handle_traverse},
    {Py_tp_clear, Handle_clear},
    {Py_tp_repr, ArcCore_repr},
    {Py_tp_methods, ArcCore_methods},
    {Py_tp_getset, ArcCore_getset},
    {Py_tp_members, Handle_members},
    {0, NULL},
};

static PyType_Spec ArcCore_spec = {
    .name = "fearless._native.ArcCore",
    .basicsize = sizeof(HandleCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = ArcCore_slots,
};

/* -- Weak -- */

static PyObject *
WeakCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    /* Rust's Weak::new(): an allocation that never had a value. */
    if (PyTuple_GET_SIZE(args) != 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Weak() takes no arguments");
        return NULL;
    }
    ArcInner *inner = inner_new(NULL, 0, 1);
    if (inner == NULL) {
        return NULL;
    }
    return (PyObject *)handle_new(type, inner);
}

static PyObject *
WeakCore_upgrade(HandleCore *self, PyObject *Py_UNUSED(ignored))
{
    HandleCore *new = handle_new(A.arc_type, NULL);
    if (new == NULL) {
        return NULL;
    }
    ArcInner *inner;
    int upgraded = 0;
    HANDLE_BEGIN(self);
    inner = self->inner;
    if (inner != NULL) {
        Py_ssize_t n = atomic_load_explicit(&inner->strong, memory_order_relaxed);
        while (n != 0) {
            if (atomic_compare_exchange_weak_explicit(&inner->strong, &n, n + 1, memory_order_acquire,
                                                      memory_order_relaxed)) {
                upgraded = 1;
                new->inner = (ArcInner *)Py_NewRef(inner);
                break;
            }
        }
    }
    HANDLE_END();
    if (!upgraded) {
        Py_DECREF(new);
        if (inner == NULL) {
            return consumed(self);
        }
        Py_RETURN_NONE;
    }
    return (PyObject *)new;
}

static PyObject *
WeakCore_repr(HandleCore *self)
{
    int state;
    HANDLE_BEGIN(self);
    state = self->inner == NULL ? 0 : atomic_load_explicit(&self->inner->strong, memory_order_relaxed) ? 1 : 2;
    HANDLE_END();
    static const char *const text[] = {"Weak(<dropped>)", "Weak(<alive>)", "Weak(<gone>)"};
    return PyUnicode_FromString(text[state]);
}

static PyMethodDef WeakCore_methods[] = {
    {"upgrade", (PyCFunction)WeakCore_upgrade, METH_NOARGS, NULL},
    {"clone", (PyCFunction)Handle_weak_clone, METH_NOARGS, NULL},
    {"drop", (PyCFunction)Handle_drop, METH_NOARGS, NULL},
    {"_drop", (PyCFunction)Handle_private_drop, METH_NOARGS, NULL},
    {"_live", (PyCFunction)Handle_live, METH_NOARGS, NULL},
    {"strong_count", (PyCFunction)Handle_strong_count, METH_NOARGS, NULL},
    {"weak_count", (PyCFunction)Handle_weak_count, METH_NOARGS, NULL},
    {"__enter__", (PyCFunction)Handle_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))Handle_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot WeakCore_slots[] = {
    {Py_tp_doc, "The compiled core of fearless.Weak."},
    {Py_tp_new, WeakCore_new},
    {Py_tp_dealloc, Handle_dealloc},
    {Py_tp_traverse, Handle_traverse},
    {Py_tp_clear, Handle_clear},
    {Py_tp_repr, WeakCore_repr},
    {Py_tp_methods, WeakCore_methods},
    {Py_tp_members, Handle_members},
    {0, NULL},
};

static PyType_Spec WeakCore_spec = {
    .name = "fearless._native.WeakCore",
    .basicsize = sizeof(HandleCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = WeakCore_slots,
};

static PyObject *
native_setup_arc(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    /* _setup_arc(arc_twin, weak_twin, (ConsumedError, NotUniqueError),
     *            (dropped Arc message, dropped Weak message), copy.copy) */
    if (nargs != 5 || !is_subtype(args[0], ArcCore_type) || !is_subtype(args[1], WeakCore_type)
        || !is_tuple_of(args[2], 2) || !is_tuple_of(args[3], 2) || !PyCallable_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "_setup_arc(arc_twin, weak_twin, errors, messages, copy)");
        return NULL;
    }
    if (A.ready) {
        Py_RETURN_NONE;
    }
    A.arc_type = (PyTypeObject *)Py_NewRef(args[0]);
    A.weak_type = (PyTypeObject *)Py_NewRef(args[1]);
    keep_items(args[2], (PyObject **[]){&A.consumed_error, &A.not_unique_error}, 2);
    keep_items(args[3], (PyObject **[]){&A.msg_arc, &A.msg_weak}, 2);
    A.copy = Py_NewRef(args[4]);
    A.ready = 1;
    Py_RETURN_NONE;
}
