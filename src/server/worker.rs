//! The server's ingest worker: drains the KBs' upload queues with the CLI's pipeline
//! (`Service::start_queue` + `run_ingest` with no new inputs, which processes every pending
//! and interrupted document of the KB).
//!
//! * The queue itself is kb.db (uploads are `pending` rows committed before the client is
//!   answered); this only remembers *which KBs* have work. At start-up the server queues every
//!   KB whose kb.db holds pending or `processing` documents, so nothing is lost to a crash or
//!   restart.
//! * A fixed number of slot threads (`--ingest-workers`) bounds the KBs ingested at once; a KB
//!   is never handed to two slots, and the KB ingest lock keeps it apart from CLI ingests and
//!   deletes too. A KB that gets an upload while it is being processed runs again afterwards.
//! * The ingests run on a runtime of their own, so their CPU work (chunking, merging) never
//!   occupies the threads that answer requests; the slots are plain threads that block.
//! * A document that fails (model server down, say) is `failed` with its error in kb.db; a
//!   failing or even panicking run is logged and the slot goes on with the next KB.

use std::collections::{HashMap, HashSet, VecDeque};
use std::num::NonZeroUsize;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use uuid::Uuid;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::rag::engine::Progress;
use crate::service::Service;

/// Default `--ingest-workers`.
pub const DEFAULT_INGEST_WORKERS: usize = 2;

type ProgressFn = Box<dyn Fn() -> Progress + Send>;

#[derive(Default)]
struct Queue {
    /// KBs (tenant, kb) with work, in arrival order; each at most once.
    waiting: VecDeque<(Uuid, Uuid)>,
    /// KBs a slot is processing, with the run's progress once it started.
    running: HashMap<Uuid, Option<ProgressFn>>,
    /// Running KBs that got work meanwhile: queued again when their run ends.
    again: HashSet<Uuid>,
    stopping: bool,
}

struct Shared {
    settings: Settings,
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Becomes true on shutdown; running ingests are interrupted.
    stop: watch::Sender<bool>,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct IngestWorker {
    shared: Arc<Shared>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    slots: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl IngestWorker {
    /// Starts `slots` slot threads and the ingest runtime.
    pub fn start(settings: Settings, slots: NonZeroUsize) -> Result<IngestWorker> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(slots.get())
            .thread_name("lrt-ingest-rt")
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the ingest runtime: {e}")))?;
        let shared = Arc::new(Shared {
            settings,
            queue: Mutex::default(),
            wake: Condvar::new(),
            stop: watch::channel(false).0,
        });
        let mut threads = Vec::new();
        for i in 0..slots.get() {
            let (shared, handle) = (Arc::clone(&shared), runtime.handle().clone());
            let thread = std::thread::Builder::new()
                .name(format!("lrt-ingest-{i}"))
                .spawn(move || slot(&shared, &handle))
                .map_err(|e| Error::Internal(format!("cannot start an ingest thread: {e}")))?;
            threads.push(thread);
        }
        Ok(IngestWorker {
            shared,
            runtime: Mutex::new(Some(runtime)),
            slots: Mutex::new(threads),
        })
    }

    /// Hands a KB with queued documents to the worker (after an upload, or at start-up).
    pub fn submit(&self, tenant: Uuid, kb: Uuid) {
        let mut q = self.shared.queue();
        if q.stopping {
            return;
        }
        if q.running.contains_key(&kb) {
            q.again.insert(kb);
        } else if !q.waiting.iter().any(|(_, k)| *k == kb) {
            q.waiting.push_back((tenant, kb));
            crate::metrics::set_ingest_queue_depth(q.waiting.len());
            self.shared.wake.notify_one();
        }
    }

    /// The progress of the KB's current run, if one is going.
    pub fn progress(&self, kb: Uuid) -> Option<Progress> {
        self.shared
            .queue()
            .running
            .get(&kb)
            .and_then(|p| p.as_ref().map(|f| f()))
    }

    /// Takes no more work, interrupts running ingests (their documents stay pending or
    /// processing in kb.db and are resumed at the next start) and waits up to `grace` for
    /// the slots to end.
    pub fn shutdown(&self, grace: Duration) {
        self.shared.queue().stopping = true;
        self.shared.wake.notify_all();
        self.shared.stop.send_replace(true);
        let deadline = Instant::now() + grace;
        for thread in std::mem::take(&mut *self.slots.lock().unwrap_or_else(|p| p.into_inner())) {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
        if let Some(runtime) = self.runtime.lock().unwrap_or_else(|p| p.into_inner()).take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for IngestWorker {
    fn drop(&mut self) {
        self.shutdown(Duration::ZERO);
    }
}

/// One slot: takes the next KB, runs its queue, repeats until shutdown.
fn slot(shared: &Shared, runtime: &tokio::runtime::Handle) {
    loop {
        let (tenant, kb) = {
            let mut q = shared.queue();
            loop {
                if q.stopping {
                    return;
                }
                if let Some(next) = q.waiting.pop_front() {
                    crate::metrics::set_ingest_queue_depth(q.waiting.len());
                    q.running.insert(next.1, None);
                    break next;
                }
                q = shared.wake.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        };
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(shared, runtime, tenant, kb)));
        match run {
            Ok(Ok(())) => {}
            Ok(Err(Error::Interrupted(_))) => {}
            Ok(Err(e)) => eprintln!("lrt serve: ingest of knowledge base {kb} failed: {e}"),
            Err(_) => eprintln!("lrt serve: ingest of knowledge base {kb} panicked; its documents stay queued"),
        }
        let mut q = shared.queue();
        q.running.remove(&kb);
        if q.again.remove(&kb) && !q.stopping {
            q.waiting.push_back((tenant, kb));
            crate::metrics::set_ingest_queue_depth(q.waiting.len());
            shared.wake.notify_one();
        }
    }
}

/// Processes one KB's queue with a service of its own (a run holds it for its whole length).
fn run(shared: &Shared, runtime: &tokio::runtime::Handle, tenant: Uuid, kb: Uuid) -> Result<()> {
    let mut svc = Service::open(shared.settings.clone())?;
    let Some(job) = svc.start_queue(tenant, kb)? else {
        return Ok(());
    };
    if let Some(slot) = shared.queue().running.get_mut(&kb) {
        *slot = Some(Box::new(job.progress()));
    }
    let mut stop = shared.stop.subscribe();
    let cancel = async move {
        let _ = stop.wait_for(|stopping| *stopping).await;
        Error::Interrupted("the server is shutting down; the queue resumes at its next start".into())
    };
    let report = runtime.block_on(svc.run_ingest(job, Vec::new(), false, cancel))?;
    for d in report.documents.iter().filter(|d| d.outcome == "failed") {
        eprintln!(
            "lrt serve: document {} of knowledge base {kb} failed: {}",
            d.doc_id,
            d.error.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
