//! User mode is not brought up on aarch64 yet (docs/architecture.md): user processes are an
//! x86_64 feature for now. The scheduler's hooks for user threads are no-ops here.

/// One past the highest user address (48-bit TTBR0 half).
pub const USER_END: u64 = 1 << 47;

/// Switches to the kernel-only address space (nothing to do: TTBR0 is off).
pub fn activate_kernel() {}

/// Would switch to a user address space; no thread is a user thread on aarch64.
pub fn activate(_root: u64, _thread_pointer: u64, _kernel_stack_top: u64) {
    unreachable!("user threads are not supported on aarch64 yet");
}
