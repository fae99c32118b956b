//! The runtime pieces std would otherwise provide to the shipped wasm.

/// A panic is a bug; trapping keeps std's message formatting out of the module. The trap
/// surfaces in JavaScript as a `RuntimeError: unreachable`.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Talc: 2.1 KiB gzip smaller than std's dlmalloc here and faster; growing in place is left
/// out (a grown buffer is copied instead), which saves another 0.2 KiB.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
