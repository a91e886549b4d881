//! Hands freed heap memory back to the operating system between the phases
//! of a run.
//!
//! glibc keeps what a thread freed in that thread's arena. After a Parquet
//! sync has loaded a million rows, the fetch and writer threads' arenas hold
//! tens of MiB of free but resident memory, and publishing then allocates
//! its row groups on yet another thread. Trimming in between keeps the peak
//! RSS of a run at what one phase needs (README "Performance").

/// Returns free memory of every arena to the OS (glibc only; a no-op
/// elsewhere).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it is
    // safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
