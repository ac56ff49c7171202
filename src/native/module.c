/* fearless._native: the compiled core (issue 15).
 *
 * fearless's pure-Python implementation is the reference; this module is
 * its accelerator, the way CPython's _thread, multidict and msgpack pair C
 * with a Python twin. Every type here is subclassed once per public type by
 * a Python "twin" (fearless._atomic._twins, fearless._mutex_twins) that
 * looks like the public type and binds the reference's own Python code for
 * everything that is not a hot path. What it holds, one part each, all
 * included below into this one translation unit:
 *
 *   core.h       the reference's orderings, slow paths and result type,
 *                handed over once at import (_setup), and their C11 orders;
 *                the dealloc steps, _setup_* checks and guard finaliser
 *                steps that the types share
 *   integers.c   IntegerCore: the ten fixed-width integer atomics, each on a
 *                C11 atomic of its own width, with Rust's wrapping; and the
 *                argument parsing the other parts use
 *   bools.c      BoolCore: AtomicBool, the same code on one bit in a byte
 *   floats.c     FloatCore: AtomicFloat, the double's bits in a 64-bit atomic
 *   objects.c    IntCellCore, RefCellCore: AtomicInt and AtomicRef, an object
 *                behind the atomic's own critical section
 *   rawlock.c    RawLock: the lock a Mutex is made of (a POSIX semaphore on
 *                Linux, the PyThread lock elsewhere)
 *   mutex.c      MutexCore, GuardCore: Mutex's and MutexGuard's hot paths
 *   arc.c        ArcInner, ArcCore, WeakCore: Arc and Weak, counts on atomics
 *   rwlock.c     RwLockCore, ReadGuardCore: RwLock's readers, counted on one
 *                atomic word without a lock while no writer holds or waits
 *   module.c     the module: _setup, _setup_mutex, _setup_arc, _setup_rwlock,
 *                _fence, the types
 *
 * Rules that every function follows:
 *
 * - CPython's public C API only (no Py_BUILD_CORE, no _Py* names), so the
 *   module builds for 3.11 and later, GIL or free-threaded. It declares
 *   Py_MOD_GIL_NOT_USED where that exists: nothing here relies on the GIL.
 *   An atomic's value is a C11 atomic; every access to it is an atomic
 *   operation. A mutex's value is read and replaced inside the mutex
 *   object's critical section on the free-threaded build.
 * - Orderings: each operation uses the C11 order that Rust's names for
 *   (Relaxed -> memory_order_relaxed, Acquire, Release, AcqRel, SeqCst).
 *   A compare-exchange whose failure order is stronger than its success
 *   order runs with the success order strengthened to cover it (C11 wants
 *   failure <= success; Rust since 1.64 does not), which is always sound.
 * - Errors are the reference's: whenever an operand or an ordering is not
 *   the common case (an exact int in range, a valid Ordering member), the
 *   operation calls the reference's slow path (_slow_operand,
 *   _slow_operands, _check_ordering in fearless._atomic._core) with the
 *   type's converter, which raises the very same exception with the very
 *   same message, or converts the operand for the fast path to use. The
 *   mutex calls the reference's _refuse, _refuse_busy and _acquire_slow.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_PYSSIZET T_PYSSIZET
#define Py_READONLY READONLY
#endif
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <sched.h>
#include <time.h>
#endif
#ifdef __linux__
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "core.h"
#include "integers.c"
#include "bools.c"
#include "floats.c"
#include "objects.c"
#include "rawlock.c"
#include "mutex.c"
#include "arc.c"
#include "rwlock.c"

/* -- the module ------------------------------------------------------------- */

static PyObject *
native_setup(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    /* _setup(orders, slow_operand, slow_operands, check_ordering, result_type) */
    if (nargs != 5 || !is_tuple_of(args[0], ORD_COUNT) || !PyType_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "_setup((SeqCst, Relaxed, Acquire, Release, AcqRel), slow_operand, "
                        "slow_operands, check_ordering, CompareExchangeResult)");
        return NULL;
    }
    if (S.ready) {
        Py_RETURN_NONE; /* set up already (a second import of fearless.atomic) */
    }
    for (int i = 0; i < ORD_COUNT; i++) {
        S.orders[i] = Py_NewRef(PyTuple_GET_ITEM(args[0], i));
    }
    S.slow_operand = Py_NewRef(args[1]);
    S.slow_operands = Py_NewRef(args[2]);
    S.check_ordering = Py_NewRef(args[3]);
    S.result_type = Py_NewRef(args[4]);
    S.tuple_new = (newfunc)PyType_GetSlot(&PyTuple_Type, Py_tp_new);
    S.ready = 1;
    Py_RETURN_NONE;
}

static PyObject *
native_fence(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    atomic_thread_fence(memory_order_seq_cst);
    Py_RETURN_NONE;
}

static PyMethodDef native_methods[] = {
    {"_fence", (PyCFunction)native_fence, METH_NOARGS,
     "atomic_thread_fence(memory_order_seq_cst): fearless.atomic.fence's barrier."},
    {"_setup", (PyCFunction)(void (*)(void))native_setup, METH_FASTCALL,
     "Hand the reference's orderings, slow paths and result type to the core (once)."},
    {"_setup_mutex", (PyCFunction)(void (*)(void))native_setup_mutex, METH_FASTCALL,
     "Hand the Mutex core its guard class, errors, messages and finaliser (once)."},
    {"_setup_rwlock", (PyCFunction)(void (*)(void))native_setup_rwlock, METH_FASTCALL,
     "Hand the RwLock core its read guard class, errors, messages and warning (once)."},
    {"_setup_arc", (PyCFunction)(void (*)(void))native_setup_arc, METH_FASTCALL,
     "Hand the Arc core its twins, errors, messages and copy.copy (once)."},
    {NULL, NULL, 0, NULL},
};

/* Make the type of ``spec`` and add it to the module as ``name``; its
 * pointer (borrowed: the module holds it) goes to ``*out`` if given. */
static int
add_type(PyObject *module, PyType_Spec *spec, const char *name, PyTypeObject **out)
{
    PyObject *type = PyType_FromModuleAndSpec(module, spec, NULL);
    if (type == NULL) {
        return -1;
    }
    int added = PyModule_AddObjectRef(module, name, type);
    if (added == 0 && out != NULL) {
        *out = (PyTypeObject *)type;
    }
    Py_DECREF(type);
    return added;
}

static int
native_exec(PyObject *module)
{
#define INTERN(field, text)                                     \
    if ((field) == NULL && ((field) = PyUnicode_InternFromString(text)) == NULL) { \
        return -1;                                              \
    }
    INTERN(S.str_any, "any");
    INTERN(S.str_load, "load");
    INTERN(S.str_store, "store");
    INTERN(S.str_order, "order");
    INTERN(S.str_convert, "_native_convert");
    INTERN(str_kind, "_native_kind");
    INTERN(M.str_refuse, "_refuse");
    INTERN(M.str_acquire_slow, "_acquire_slow");
    INTERN(M.str_refuse_busy, "_refuse_busy");
    INTERN(M.str_forked_away, "forked_away");
    INTERN(M.str_remove, "remove");
    INTERN(M.str_value, "value");
    INTERN(R.str_read_slow, "_read_slow");
    INTERN(R.str_try_read_slow, "_try_read_slow");
    INTERN(R.str_reader_left, "_reader_left");
#undef INTERN
    /* The module keeps its types alive: the borrowed pointers below stay valid. */
    if (add_type(module, &IntegerCore_spec, "IntegerCore", NULL) < 0
        || add_type(module, &BoolCore_spec, "BoolCore", NULL) < 0
        || add_type(module, &FloatCore_spec, "FloatCore", NULL) < 0
        || add_type(module, &IntCellCore_spec, "IntCellCore", NULL) < 0
        || add_type(module, &RefCellCore_spec, "RefCellCore", NULL) < 0
        || add_type(module, &MutexCore_spec, "MutexCore", &MutexCore_type) < 0
        || add_type(module, &GuardCore_spec, "GuardCore", &GuardCore_type) < 0
        || add_type(module, &ArcInner_spec, "ArcInner", &ArcInner_type) < 0
        || add_type(module, &ArcCore_spec, "ArcCore", &ArcCore_type) < 0
        || add_type(module, &WeakCore_spec, "WeakCore", &WeakCore_type) < 0
        || add_type(module, &RwLockCore_spec, "RwLockCore", &RwLockCore_type) < 0
        || add_type(module, &ReadGuardCore_spec, "ReadGuardCore", &ReadGuardCore_type) < 0) {
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot native_slots[] = {
    {Py_mod_exec, native_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "fearless._native",
    .m_doc = "The compiled core of fearless; fearless._atomic and friends are its reference.",
    .m_size = 0,
    .m_methods = native_methods,
    .m_slots = native_slots,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModuleDef_Init(&native_module);
}
