//! How the process uses glibc's allocator. Its defaults suit short programs, not a daemon
//! that must stay small for years: every thread that allocates under contention gets its
//! own arena (up to eight per core), and after a large buffer is freed (a `/metrics` body
//! of several megabytes at 20,000 points) the threshold for giving memory back to the
//! system rises to that size, so the next ones stay in the heap. For 1,000 devices that
//! was some 15 MB of resident memory beyond the data (`sitewatch bench rss`,
//! docs/benchmarks.md).

/// Arenas for the whole process: one per core is enough for a daemon whose hot path is
/// one engine task.
const ARENAS: i32 = 2;
/// Blocks from this size up are mapped on their own and returned when freed.
const MMAP_THRESHOLD: i32 = 128 * 1024;
/// Free memory at the top of a heap beyond this goes back to the system.
const TRIM_THRESHOLD: i32 = 256 * 1024;

/// Sets the arena count and fixes the map and trim thresholds (which also stops glibc
/// from raising them after each large free). Call before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

/// Other platforms keep their allocator's defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_allocator() {}

/// How often whole free pages inside the heap go back to the system.
const RELEASE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Hands whole free pages inside the heaps back to the system every few seconds, until
/// `cancel`. The trim threshold only returns free memory at the top of a heap; bursts
/// (start-up declares every point at once, a large `/metrics` body) leave free pages
/// below live blocks that stay resident otherwise: ~2 MB at 1,000 devices
/// (docs/benchmarks.md). A pass takes 0.2–0.5 ms at 1,000 devices (measured), holding
/// the arenas' locks meanwhile.
pub async fn release_free_pages(cancel: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(RELEASE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => trim(),
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only returns free memory; it is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
