//! Merged documents waiting for their commit.
//!
//! Ingest merges one document at a time, each against the graph the previous one left. Once
//! a document is merged, embedding its rows and writing them to kb.db take about as long
//! again; the staging area lets the next document merge meanwhile. A merged document's rows
//! stay readable here, where the next merge looks first, until its commit lands in kb.db.
//! Commits happen in merge order. A document that fails (or is dropped) before its commit
//! takes its rows with it, and every document whose merge read them is told at its turn, so
//! it can merge again instead of committing a graph built on rows that never landed.
//!
//! It also keeps the graph's size, committed and staged, for the quota check of each merge,
//! which would otherwise count kb.db's rows while commits hold it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::rag::merge::{EntityState, RelationState};

/// Merged rows not yet committed, and the order their commits take.
#[derive(Debug)]
pub struct Staging {
    state: Mutex<State>,
    /// Tickets below this number have finished; commits wait on it for their turn.
    finished: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct State {
    /// The next ticket's number.
    next: u64,
    /// Tickets below this have finished (committed or failed).
    done: u64,
    /// The newest staged row of each entity and relation, with the ticket that staged it.
    entities: HashMap<String, (u64, Arc<EntityState>)>,
    relations: HashMap<(String, String), (u64, Arc<RelationState>)>,
    /// What each unfinished ticket staged.
    tickets: BTreeMap<u64, Staged>,
    /// Tickets that finished without committing, while any ticket is unfinished.
    failed: HashSet<u64>,
    /// Entities and relations in kb.db: as counted at the start of a run, plus the new rows
    /// of every commit since.
    committed: (u64, u64),
}

#[derive(Debug)]
struct Staged {
    entities: Vec<String>,
    relations: Vec<(String, String)>,
    new_entities: u64,
    new_relations: u64,
    /// Dropped before finishing: fails when its turn comes.
    abandoned: bool,
}

/// A merged document's place in the commit order. Dropping it unfinished counts as a failure
/// (its rows are withdrawn when its turn comes), so a cancelled document cannot stall the
/// documents behind it.
#[must_use = "a ticket must be finished, or it fails when dropped"]
#[derive(Debug)]
pub struct Ticket<'a> {
    staging: &'a Staging,
    seq: u64,
    /// Tickets whose staged rows this document's merge read.
    read_from: Vec<u64>,
    finished: bool,
}

/// A document's merge read rows of a document that then failed; it must merge again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Superseded;

/// The rows a merged document stages.
pub struct StagedRows<'p> {
    pub entities: &'p [Arc<EntityState>],
    pub relations: &'p [Arc<RelationState>],
    /// How many of the entities and relations are new to the knowledge base.
    pub new_entities: u64,
    pub new_relations: u64,
    /// Tickets whose staged rows the merge read (see [`Staging::entity`]).
    pub read_from: Vec<u64>,
}

impl Default for Staging {
    fn default() -> Self {
        Staging {
            state: Mutex::default(),
            finished: watch::Sender::new(0),
        }
    }
}

impl Staging {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest staged row of entity `name`, with the ticket that staged it.
    pub fn entity(&self, name: &str) -> Option<(u64, Arc<EntityState>)> {
        self.state().entities.get(name).cloned()
    }

    /// The newest staged row of the relation between `a` and `b` (`a <= b`).
    pub fn relation(&self, a: &str, b: &str) -> Option<(u64, Arc<RelationState>)> {
        self.state().relations.get(&(a.to_string(), b.to_string())).cloned()
    }

    /// Sets the numbers of entities and relations in kb.db, counted while nothing is staged
    /// (at the start of a run; the engine is kb.db's only writer while it holds the ingest lock).
    pub fn set_graph_size(&self, entities: u64, relations: u64) {
        let mut state = self.state();
        debug_assert!(state.tickets.is_empty(), "counted while documents were staged");
        state.committed = (entities, relations);
    }

    /// The numbers of entities and relations once every staged document has committed.
    pub fn graph_size(&self) -> (u64, u64) {
        let state = self.state();
        state.tickets.values().fold(state.committed, |(e, r), staged| {
            (e + staged.new_entities, r + staged.new_relations)
        })
    }

    /// Stages a merged document's rows and hands out its place in the commit order. The
    /// caller merges one document at a time, so merges and tickets share one order.
    pub fn stage(&self, rows: StagedRows<'_>) -> Ticket<'_> {
        let mut state = self.state();
        let seq = state.next;
        state.next += 1;
        for e in rows.entities {
            state.entities.insert(e.name.clone(), (seq, Arc::clone(e)));
        }
        for r in rows.relations {
            state
                .relations
                .insert((r.src.clone(), r.tgt.clone()), (seq, Arc::clone(r)));
        }
        let staged = Staged {
            entities: rows.entities.iter().map(|e| e.name.clone()).collect(),
            relations: rows.relations.iter().map(|r| (r.src.clone(), r.tgt.clone())).collect(),
            new_entities: rows.new_entities,
            new_relations: rows.new_relations,
            abandoned: false,
        };
        state.tickets.insert(seq, staged);
        let mut read_from = rows.read_from;
        read_from.sort_unstable();
        read_from.dedup();
        Ticket {
            staging: self,
            seq,
            read_from,
            finished: false,
        }
    }

    /// Waits until every staged document has finished. The caller keeps new documents from
    /// staging meanwhile (a deletion does, by holding the merge lock).
    pub async fn drain(&self) {
        let target = self.state().next;
        let mut finished = self.finished.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = finished.wait_for(|done| *done >= target).await;
    }

    /// Ends ticket `seq` at its turn: withdraws its rows (a commit has put them in kb.db, a
    /// failure drops them), then ends the abandoned tickets that were waiting behind it.
    fn end(&self, state: &mut State, seq: u64, committed: bool) {
        debug_assert_eq!(state.done, seq, "tickets end in order");
        let mut seq = seq;
        let mut committed = committed;
        loop {
            if let Some(staged) = state.tickets.remove(&seq) {
                if committed {
                    state.committed.0 += staged.new_entities;
                    state.committed.1 += staged.new_relations;
                }
                for name in staged.entities {
                    if state.entities.get(&name).is_some_and(|(at, _)| *at == seq) {
                        state.entities.remove(&name);
                    }
                }
                for pair in staged.relations {
                    if state.relations.get(&pair).is_some_and(|(at, _)| *at == seq) {
                        state.relations.remove(&pair);
                    }
                }
            }
            if !committed {
                state.failed.insert(seq);
            }
            seq += 1;
            state.done = seq;
            match state.tickets.get(&seq) {
                Some(next) if next.abandoned => committed = false,
                _ => break,
            }
        }
        if state.done == state.next {
            // Nothing is staged: no later merge can have read a failed ticket's rows.
            state.failed.clear();
        }
        self.finished.send_replace(state.done);
    }
}

impl Ticket<'_> {
    /// Waits for this document's turn to commit: every document merged before it has
    /// committed or failed. `Superseded` if one it read rows from failed.
    pub async fn turn(&self) -> Result<(), Superseded> {
        let mut finished = self.staging.finished.subscribe();
        let _ = finished.wait_for(|done| *done >= self.seq).await;
        let state = self.staging.state();
        match self.read_from.iter().any(|seq| state.failed.contains(seq)) {
            true => Err(Superseded),
            false => Ok(()),
        }
    }

    /// Ends the ticket at its turn (after [`turn`](Self::turn)): its rows leave the staging
    /// area, now that they are in kb.db (`committed`) or will never be.
    pub fn finish(mut self, committed: bool) {
        self.finished = true;
        let mut state = self.staging.state();
        self.staging.end(&mut state, self.seq, committed);
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut state = self.staging.state();
        if state.done == self.seq {
            self.staging.end(&mut state, self.seq, false);
        } else if let Some(staged) = state.tickets.get_mut(&self.seq) {
            staged.abandoned = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(name: &str, description: &str) -> Arc<EntityState> {
        Arc::new(EntityState {
            name: name.into(),
            entity_type: "person".into(),
            description: description.into(),
            source_ids: vec!["chunk-1".into()],
            all_source_ids: vec!["chunk-1".into()],
            file_paths: vec!["a.txt".into()],
            truncate: String::new(),
        })
    }

    fn relation(a: &str, b: &str) -> Arc<RelationState> {
        Arc::new(RelationState {
            src: a.into(),
            tgt: b.into(),
            keywords: "k".into(),
            description: "d".into(),
            weight: 1.0,
            source_ids: vec!["chunk-1".into()],
            all_source_ids: vec!["chunk-1".into()],
            file_paths: vec!["a.txt".into()],
            truncate: String::new(),
        })
    }

    fn rows<'p>(
        entities: &'p [Arc<EntityState>],
        relations: &'p [Arc<RelationState>],
        read_from: &[u64],
    ) -> StagedRows<'p> {
        StagedRows {
            entities,
            relations,
            new_entities: entities.len() as u64,
            new_relations: relations.len() as u64,
            read_from: read_from.to_vec(),
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn staged_rows_are_read_until_their_commit_lands() {
        let staging = Staging::default();
        staging.set_graph_size(10, 20);
        let first = [entity("ALICE", "one")];
        let links = [relation("ALICE", "BOB")];
        let a = staging.stage(rows(&first, &links, &[]));
        let second = [entity("ALICE", "one<SEP>two"), entity("CAROL", "c")];
        let b = staging.stage(rows(&second, &[], &[0]));
        assert_eq!(
            staging.entity("ALICE").map(|(seq, e)| (seq, e.description.clone())),
            Some((1, "one<SEP>two".into()))
        );
        assert_eq!(staging.relation("ALICE", "BOB").map(|(seq, _)| seq), Some(0));
        assert_eq!(staging.graph_size(), (13, 21));

        runtime().block_on(async {
            a.turn().await.unwrap();
            a.finish(true);
            // The first commit withdraws its relation, not the entity the second restaged.
            assert!(staging.relation("ALICE", "BOB").is_none());
            assert_eq!(staging.entity("ALICE").map(|(seq, _)| seq), Some(1));
            assert_eq!(staging.graph_size(), (13, 21), "one document's rows now committed");
            b.turn().await.unwrap();
            b.finish(true);
        });
        assert!(staging.entity("ALICE").is_none() && staging.entity("CAROL").is_none());
        assert_eq!(staging.graph_size(), (13, 21));
    }

    #[test]
    fn a_failure_supersedes_the_merges_that_read_its_rows() {
        let staging = Staging::default();
        let one = [entity("ALICE", "one")];
        let two = [entity("BOB", "two")];
        let a = staging.stage(rows(&one, &[], &[]));
        let b = staging.stage(rows(&one, &[], &[0]));
        let c = staging.stage(rows(&two, &[], &[]));
        let d = staging.stage(rows(&one, &[], &[1]));
        assert_eq!(staging.graph_size(), (4, 0));
        runtime().block_on(async {
            a.turn().await.unwrap();
            a.finish(false);
            assert_eq!(b.turn().await, Err(Superseded));
            drop(b);
            // Independent of the failures, C commits; D read B's rows, which never landed.
            assert_eq!(c.turn().await, Ok(()));
            c.finish(true);
            assert_eq!(d.turn().await, Err(Superseded));
            drop(d);
        });
        assert!(staging.entity("ALICE").is_none());
        assert_eq!(staging.graph_size(), (1, 0), "only C's entity landed");
        let state = staging.state();
        assert_eq!((state.done, state.next), (4, 4));
        assert!(state.failed.is_empty(), "forgotten once nothing is staged");
    }

    #[test]
    fn a_dropped_ticket_does_not_stall_the_ones_behind_it() {
        let staging = Staging::default();
        let one = [entity("ALICE", "one")];
        let a = staging.stage(rows(&one, &[], &[]));
        let b = staging.stage(rows(&one, &[], &[]));
        let c = staging.stage(rows(&one, &[], &[1]));
        // B is dropped (its document was cancelled) while A still waits to commit.
        drop(b);
        runtime().block_on(async {
            let waiting = async {
                let result = c.turn().await;
                c.finish(result.is_ok());
                result
            };
            let committing = async {
                a.turn().await.unwrap();
                a.finish(true);
            };
            let (result, ()) = tokio::join!(waiting, committing);
            assert_eq!(result, Err(Superseded), "C read the rows of B, which was abandoned");
            staging.drain().await;
        });
        assert!(staging.entity("ALICE").is_none());
    }
}
