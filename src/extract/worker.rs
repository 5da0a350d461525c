//! The thread one extraction runs on, and the bound on threads that outlive their time.
//!
//! A thread cannot be stopped from outside in Rust (only a process can be killed), and the
//! parsers lrt relies on (pdf-extract, lopdf, zip, roxmltree) take no cancellation. So a file
//! that takes longer than its time fails at once, but its thread runs on until the parser
//! returns, and its result is dropped. What is bounded is how many such abandoned threads
//! may run at once: past [`MAX_ABANDONED`], a new extraction is refused with a reason until
//! one of them ends, so a stream of hostile files cannot pile up threads, CPU and memory.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use super::ExtractError;

/// Abandoned extraction threads still running in this process.
pub(super) static ABANDONED: AtomicUsize = AtomicUsize::new(0);
/// Most abandoned threads allowed to run at once.
pub(super) const MAX_ABANDONED: usize = 4;

const RUNNING: u8 = 0;
const DONE: u8 = 1;
const GIVEN_UP: u8 = 2;

/// Runs `job` on a thread of its own and waits at most `timeout` for it. A panic comes
/// back as `Err(payload)`; running out of time is [`ExtractError::Timeout`] and leaves the
/// thread counted in `abandoned` until it ends; with `max` threads already abandoned, `job`
/// does not start ([`ExtractError::Limit`]).
pub(super) fn run_bounded<T: Send + 'static>(
    abandoned: &'static AtomicUsize,
    max: usize,
    timeout: Duration,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<Result<T, Box<dyn Any + Send>>, ExtractError> {
    let running = abandoned.load(Ordering::SeqCst);
    if running >= max {
        return Err(ExtractError::Limit(format!(
            "{running} earlier extractions that ran out of time are still running: try again when they finish"
        )));
    }
    let state = Arc::new(AtomicU8::new(RUNNING));
    let (tx, rx) = mpsc::channel();
    let thread_state = state.clone();
    let spawned = std::thread::Builder::new().name("lrt-extract".into()).spawn(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        let _ = tx.send(out);
        if thread_state.swap(DONE, Ordering::SeqCst) == GIVEN_UP {
            abandoned.fetch_sub(1, Ordering::SeqCst);
        }
    });
    if spawned.is_err() {
        return Err(ExtractError::Limit("cannot start an extraction thread".into()));
    }
    match rx.recv_timeout(timeout) {
        Ok(out) => Ok(out),
        Err(RecvTimeoutError::Timeout) => {
            // Counted before it is marked, so the thread's decrement never comes first.
            abandoned.fetch_add(1, Ordering::SeqCst);
            if state
                .compare_exchange(RUNNING, GIVEN_UP, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                abandoned.fetch_sub(1, Ordering::SeqCst);
            }
            Err(ExtractError::Timeout(timeout.as_secs()))
        }
        Err(RecvTimeoutError::Disconnected) => Err(ExtractError::Limit("the extraction thread vanished".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::Receiver;

    /// A job that runs until told to stop.
    fn held() -> (mpsc::Sender<()>, impl FnOnce() -> u32 + Send + 'static) {
        let (stop, rx): (_, Receiver<()>) = mpsc::channel();
        (stop, move || {
            let _ = rx.recv();
            7
        })
    }

    #[test]
    fn abandoned_threads_are_bounded_and_released_when_they_end() {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let tiny = Duration::from_millis(5);
        let mut stops = Vec::new();
        for _ in 0..2 {
            let (stop, job) = held();
            assert!(matches!(
                run_bounded(&COUNT, 2, tiny, job),
                Err(ExtractError::Timeout(0))
            ));
            stops.push(stop);
        }
        assert_eq!(COUNT.load(Ordering::SeqCst), 2);
        let refused = run_bounded(&COUNT, 2, tiny, || 1).unwrap_err();
        assert!(refused.to_string().contains("2 earlier extractions"), "{refused}");

        // Ending one abandoned thread makes room again.
        stops.pop().unwrap().send(()).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while COUNT.load(Ordering::SeqCst) != 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "the ended thread was not released"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            run_bounded(&COUNT, 2, Duration::from_secs(10), || 1).unwrap().unwrap(),
            1
        );
        let panicked = run_bounded(&COUNT, 2, Duration::from_secs(10), || -> u32 { panic!("boom") }).unwrap();
        assert!(panicked.is_err());
        stops.pop().unwrap().send(()).unwrap();
    }
}
