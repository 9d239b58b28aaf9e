//! Context switch between kernel threads (`switch.S`): callee-saved registers x19-x30 are
//! stored on the old stack, its pointer saved, the new stack loaded and its registers restored.

extern "C" {
    fn switch_context(save_stack_pointer: *mut u64, load_stack_pointer: u64);
    fn thread_trampoline();
}

/// Saves the running context's stack pointer to `*save` and resumes the context whose stack
/// pointer is `load`.
///
/// # Safety
/// `save` must be writable and stay valid until the saved context is resumed; `load` must be a
/// stack pointer saved by this function or prepared by [`prepare_stack`], whose stack is alive
/// and used by no other CPU.
pub unsafe fn switch(save: *mut u64, load: u64) {
    // SAFETY: upheld by the caller.
    unsafe { switch_context(save, load) }
}

/// Writes the initial frame of a new thread below `stack_top` and returns the stack pointer to
/// hand to [`switch`]: the first switch to it calls `entry(argument)` on that stack.
///
/// # Safety
/// `[stack_top - 96, stack_top)` must be mapped, writable and owned by the new thread, and
/// `stack_top` 16-byte aligned.
pub unsafe fn prepare_stack(stack_top: u64, entry: extern "C" fn(u64) -> !, argument: u64) -> u64 {
    // Frame for `switch_context`: x19..x28, x29, x30. x19 = argument, x20 = entry, and the
    // return (x30) lands in `thread_trampoline`.
    let frame = stack_top - 96;
    let mut words = [0u64; 12];
    words[0] = argument;
    words[1] = entry as usize as u64;
    words[11] = thread_trampoline as *const () as usize as u64;
    // SAFETY: the caller owns the top of the stack.
    unsafe { core::ptr::copy_nonoverlapping(words.as_ptr(), frame as *mut u64, words.len()) };
    frame
}
