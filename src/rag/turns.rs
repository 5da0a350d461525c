//! Turns in queue order for one ingest run's documents: the order they were queued in (the
//! order `lrt ingest` was given its files, then uploads in arrival order), whatever order
//! their extractions finish in. The engine uses one sequence for starting documents and one
//! for merging them. Merging in completion order made a batch's graph depend on timing
//! (descriptions are merged fragments, so their order shows), and so two runs of the same
//! batch differed.
//!
//! Documents are still chunked and extracted concurrently (up to `max_parallel_insert` at
//! once); only their start and their merge wait for their turn. A document that fails before
//! its turn gives it up, so it never holds up the documents behind it.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::watch;

/// Which of a run's documents (numbered from 0 in queue order) have had their turn.
#[derive(Debug)]
pub struct Turns {
    state: watch::Sender<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Every document below this has had its turn.
    next: usize,
    /// Documents above `next` that have had their turn already (they failed early).
    done: BTreeSet<usize>,
}

impl Default for Turns {
    fn default() -> Self {
        Turns {
            state: watch::Sender::new(State::default()),
        }
    }
}

impl Turns {
    /// The turn of document `index`: passed when it is finished or dropped.
    pub fn turn(self: &Arc<Self>, index: usize) -> Turn {
        Turn {
            order: Arc::clone(self),
            index,
            finished: false,
        }
    }

    /// Waits until document `index` is fewer than `window` places behind the next document
    /// whose turn it is: how far extraction may run ahead of the merges, which bounds the
    /// extraction results held in memory while a slow document keeps the others waiting.
    pub async fn within(&self, index: usize, window: usize) {
        let mut rx = self.state.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|s| index < s.next + window.max(1)).await;
    }

    fn finish(&self, index: usize) {
        self.state.send_modify(|s| {
            if index >= s.next {
                s.done.insert(index);
            }
            while s.done.remove(&s.next) {
                s.next += 1;
            }
        });
    }
}

/// One document's place in the sequence.
#[must_use = "a turn holds up every later document until it is finished or dropped"]
#[derive(Debug)]
pub struct Turn {
    order: Arc<Turns>,
    index: usize,
    finished: bool,
}

impl Turn {
    /// Waits until every earlier document has had its turn (or failed).
    pub async fn wait(&self) {
        let mut rx = self.order.state.subscribe();
        let _ = rx.wait_for(|s| s.next >= self.index).await;
    }

    /// This document has had its turn (or will not): the next one may go.
    pub fn finish(&mut self) {
        if !std::mem::replace(&mut self.finished, true) {
            self.order.finish(self.index);
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    #[tokio::test]
    async fn documents_merge_in_queue_order_whatever_order_they_finish_in() {
        let order = Arc::new(Turns::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Document 0 is the slowest to "extract", document 3 the fastest; 2 fails early.
        for index in 0..4usize {
            let order = Arc::clone(&order);
            let log = Arc::clone(&log);
            tasks.push(tokio::spawn(async move {
                let mut turn = order.turn(index);
                tokio::time::sleep(Duration::from_millis(40 - 10 * index as u64)).await;
                if index == 2 {
                    return; // dropped: gives up its turn
                }
                turn.wait().await;
                log.lock().unwrap().push(index);
                turn.finish();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*log.lock().unwrap(), vec![0, 1, 3]);
        // Every turn has passed: a fifth document would merge at once.
        tokio::time::timeout(Duration::from_millis(100), order.within(4, 1))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn extraction_runs_at_most_a_window_ahead() {
        let order = Arc::new(Turns::default());
        let mut first = order.turn(0);
        let _second = order.turn(1);
        order.within(1, 2).await; // 1 < 0 + 2
        let ahead = tokio::time::timeout(Duration::from_millis(30), order.within(2, 2)).await;
        assert!(ahead.is_err(), "document 2 must wait while document 0 has not merged");
        first.finish();
        order.within(2, 2).await;
    }
}
