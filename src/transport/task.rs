//! The executor of the few long-lived futures (server-stream event loops): a future polled
//! straight from the promise callback that wakes it; and the continuations every promise is
//! awaited with, here and by the call driver ([`on_settle`]).
//!
//! It replaces wasm-bindgen-futures, whose general executor (a microtask queue, JSPI and
//! multi-threaded task variants, lazily initialised globals) cost about 2 KiB gzip of the
//! shipped wasm. The only wake-ups here come from promise callbacks, which JS never runs
//! while wasm is polling, so a wake-up can poll the task at once: no queue, and one promise
//! hop per awaited promise instead of two.

use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;

use crate::prelude::*;

/// A future that settles a promise with its outcome.
pub type Job = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

#[wasm_bindgen(module = "/pkg-templates/promises.js")]
extern "C" {
    /// `[promise, settle]`: `settle(value, true)` resolves the promise, `settle(reason, false)`
    /// rejects it.
    fn deferred() -> Array;
    /// Makes `f` the function [`resume_on`] calls back.
    #[wasm_bindgen(js_name = setResume)]
    fn set_resume(f: &JsValue);
    /// `promise.then(v => resume(id, v, true), e => resume(id, e, false))`.
    #[wasm_bindgen(js_name = resumeOn)]
    fn resume_on(promise: &Promise, id: usize) -> Promise;
}

/// What runs when a promise settles: `(value, true)` or `(reason, false)`; what it returns (or
/// throws) settles the promise [`on_settle`] returned.
pub type Continuation = Box<dyn FnOnce(JsValue, bool) -> Result<JsValue, JsValue>>;

/// Whether [`resume`] has been handed to JS (once, for every continuation: a wasm-bindgen
/// closure per awaited promise is a JS function, a `FinalizationRegistry` entry and a table
/// slot, made and released per step of every call and per chunk of every stream).
static RESUME_INSTALLED: AtomicBool = AtomicBool::new(false);

/// Runs `k` when `promise` settles; the promise returned settles with what `k` returns (a
/// rejection when it returns `Err`). Its id for JS is the address of the boxed continuation;
/// one that never settles keeps its continuation (and what that holds) for good.
pub fn on_settle(promise: &Promise, k: Continuation) -> Promise {
    if !RESUME_INSTALLED.swap(true, Ordering::Relaxed) {
        let resume =
            Closure::<dyn FnMut(usize, JsValue, bool) -> Result<JsValue, JsValue>>::new(resume);
        set_resume(resume.as_ref());
        // Lives as long as the module.
        resume.forget();
    }
    resume_on(promise, Box::into_raw(Box::new(k)) as usize)
}

fn resume(id: usize, value: JsValue, ok: bool) -> Result<JsValue, JsValue> {
    // SAFETY: `id` is a box `on_settle` leaked for this promise alone, and `resumeOn` calls
    // back once for it: `then` runs either its fulfilment or its rejection handler, once.
    let k = unsafe { Box::from_raw(id as *mut Continuation) };
    k(value, ok)
}

struct Task {
    /// `None` once it finished.
    job: RefCell<Option<Job>>,
    settle: Function,
    /// Whether it is being polled now, and whether it was woken meanwhile (then it is polled
    /// again before `poll` returns).
    polling: Cell<bool>,
    woken: Cell<bool>,
}

/// Runs `job`; the promise settles with its outcome (a promise it resolves with is adopted).
/// Its first poll comes after the current JS task step, as a promise reaction would.
pub fn spawn(job: Job) -> Promise {
    let pair = deferred();
    let task = Rc::new(Task {
        job: RefCell::new(Some(Box::pin(async move {
            wait(Promise::resolve(&JsValue::UNDEFINED)).await?;
            job.await
        }))),
        settle: pair.get(1).unchecked_into(),
        polling: Cell::new(false),
        woken: Cell::new(false),
    });
    poll(&task);
    pair.get(0).unchecked_into()
}

fn poll(task: &Rc<Task>) {
    if task.polling.replace(true) {
        task.woken.set(true);
        return;
    }
    loop {
        task.woken.set(false);
        let waker = waker(task.clone());
        let mut cx = Context::from_waker(&waker);
        let outcome = {
            let mut job = task.job.borrow_mut();
            let Some(future) = job.as_mut() else { break };
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(outcome) => {
                    *job = None;
                    Some(outcome)
                }
                Poll::Pending => None,
            }
        };
        if let Some(outcome) = outcome {
            let (value, ok) = match outcome {
                Ok(value) => (value, true),
                Err(reason) => (reason, false),
            };
            let _ = task
                .settle
                .call2(&JsValue::UNDEFINED, &value, &JsValue::from(ok));
            break;
        }
        if !task.woken.get() {
            break;
        }
    }
    task.polling.set(false);
}

fn waker(task: Rc<Task>) -> Waker {
    let raw = RawWaker::new(Rc::into_raw(task).cast(), &WAKER);
    // SAFETY: the vtable below keeps the `Rc` count of the pointer it was made from; the wasm
    // is single-threaded, so the waker never crosses a thread.
    unsafe { Waker::from_raw(raw) }
}

static WAKER: RawWakerVTable = RawWakerVTable::new(clone_waker, wake, wake_by_ref, drop_waker);

unsafe fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: `data` came from `Rc::into_raw` and its count is still held by the waker.
    unsafe { Rc::increment_strong_count(data.cast::<Task>()) };
    RawWaker::new(data, &WAKER)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: as in `clone_waker`; this takes over the waker's count.
    let task = unsafe { Rc::from_raw(data.cast::<Task>()) };
    poll(&task);
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: as in `clone_waker`; the waker keeps its count.
    let task = ManuallyDrop::new(unsafe { Rc::from_raw(data.cast::<Task>()) });
    poll(&task);
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: as in `clone_waker`; this gives back the waker's count.
    drop(unsafe { Rc::from_raw(data.cast::<Task>()) });
}

/// What a promise settles with: `Ok` for its value, `Err` for its rejection reason.
pub fn wait(promise: Promise) -> impl Future<Output = Result<JsValue, JsValue>> {
    let slot = Rc::new(RefCell::new(Slot::default()));
    let filled = slot.clone();
    let on_outcome = move |value: JsValue, ok: bool| {
        let waker = {
            let mut slot = filled.borrow_mut();
            slot.outcome = Some(if ok { Ok(value) } else { Err(value) });
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    };
    // The callback is attached now (a rejection is handled even if nobody polls); the promise
    // it returns fulfils with `undefined` either way.
    let _ = on_settle(
        &promise,
        Box::new(move |value, ok| {
            on_outcome(value, ok);
            Ok(JsValue::UNDEFINED)
        }),
    );
    Settled { slot }
}

#[derive(Default)]
struct Slot {
    outcome: Option<Result<JsValue, JsValue>>,
    waker: Option<Waker>,
}

struct Settled {
    slot: Rc<RefCell<Slot>>,
}

impl Future for Settled {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.borrow_mut();
        match slot.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
