//! The runtime pieces std would otherwise provide to the shipped wasm.

/// A panic is a bug; trapping keeps std's message formatting out of the module. The trap
/// surfaces in JavaScript as a `RuntimeError: unreachable`.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;
