//! The executor of the few long-lived futures (server-stream event loops): a future polled
//! straight from the promise callback that wakes it, and promises awaited through one JS
//! callback each.
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
    /// Calls `f(value, true)` when `promise` fulfils and `f(reason, false)` when it rejects.
    #[wasm_bindgen(js_name = onSettled)]
    fn on_settled(promise: &Promise, f: &JsValue);
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
    // The callback is attached now (a rejection is handled even if nobody polls).
    on_settled(&promise, &Closure::once_into_js(on_outcome));
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
