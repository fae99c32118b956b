//! `SandboxPaginator` (returned by `Sandbox.list`).

use alloc::rc::Rc;
use core::cell::RefCell;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::opts::{self, CallOpts, given, number, record, string};
use crate::api;
use crate::api::query::{ListQuery, PageState, list_path};
use crate::error::{ErrorClass, error};
use crate::prelude::*;
use crate::transport::exchange::run;

#[wasm_bindgen]
pub struct SandboxPaginator {
    opts: CallOpts,
    query: ListQuery,
    state: Rc<RefCell<PageState>>,
}

impl SandboxPaginator {
    pub fn new(v: &JsValue) -> SandboxPaginator {
        let q = given(v, "query").unwrap_or(JsValue::UNDEFINED);
        let query = ListQuery {
            metadata: record(&q, "metadata"),
            state: given(&q, "state").map(|s| {
                js_sys::Array::from(&s)
                    .iter()
                    .filter_map(|x| x.as_string())
                    .collect()
            }),
            started_after: given(&q, "startedAfter")
                .and_then(|d| d.dyn_into::<js_sys::Date>().ok())
                .map(|d| String::from(d.to_iso_string())),
            template: string(&q, "template"),
            order: string(v, "order"),
            limit: number(v, "limit"),
        };
        let mut opts = opts::call_opts(v);
        // `SandboxListOpts` has no `signal`: each `nextItems` call brings its own.
        opts.signal = None;
        SandboxPaginator {
            opts,
            query,
            state: Rc::new(RefCell::new(PageState::new(string(v, "nextToken")))),
        }
    }
}

#[wasm_bindgen]
impl SandboxPaginator {
    #[wasm_bindgen(getter, js_name = hasNext)]
    pub fn has_next(&self) -> bool {
        self.state.borrow().has_next
    }

    #[wasm_bindgen(getter, js_name = nextToken)]
    pub fn next_token(&self) -> Option<String> {
        self.state.borrow().next_token.clone()
    }

    /// The next page; per-call options override the ones given to `list`.
    #[wasm_bindgen(js_name = nextItems)]
    pub fn next_items(&self, v: JsValue) -> Promise {
        let state = self.state.borrow();
        if !state.has_next {
            return run(Err(error(ErrorClass::Plain, "No more items to fetch")));
        }
        let path = list_path(&self.query, state.next_token.as_deref());
        let opts = opts::call_opts(&v).over(&self.opts);
        run(opts::context(&opts).and_then(|ctx| api::list_page(&ctx, &path, self.state.clone())))
    }
}
