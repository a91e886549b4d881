//! Keeps the allocator from holding on to memory a run no longer uses.
//!
//! Left to its defaults, glibc raises its mmap threshold each time a large
//! block is freed (up to 32 MiB), after which page bodies, batches and the
//! snapshot cache's tables are carved from the heap and their holes stay
//! resident; and each thread that allocates may get an arena of its own.
//! Together these made peak RSS creep up with the length of a backfill.
//! [`bound_allocator`] fixes the threshold and the arena count.
//!
//! It also hands freed heap memory back between the phases of a run.
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

/// Blocks at least this large are mapped on their own and returned to the
/// OS when freed (a fixed value also turns off glibc's dynamic raising).
/// 4 MiB keeps a page's answer (one to three MiB) on the heap, where the
/// next answer reuses it: mapped afresh each time, every 4 KiB of it was a
/// page fault (6% of a backfill's CPU at scale 2,000, for 6 MiB more RSS).
const MMAP_THRESHOLD: i32 = 4 * 1024 * 1024;
/// Arenas for the whole process (the fetching and writer threads, the
/// runtime's workers).
const ARENAS: i32 = 2;

/// Sets the allocator up for a long data load. Call before other threads
/// start (glibc only; a no-op elsewhere).
pub fn bound_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's parameters; called
    // before any other thread exists, nothing allocates concurrently.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}
