//! Rows a query engine read from its KB, kept across its queries.
//!
//! A graph query reads hundreds of rows that the next question of the same KB reads again:
//! the vectors of the chunks it scores, the text of the chunks a reranker reads. On
//! PostgreSQL, reading them is most of a warm query's time (the text of a hundred chunks is
//! ~1.5 ms of decompression on the server alone). An engine sees one generation of its KB (a
//! server replaces engines opened before a commit), and within it an id always names the same
//! row, so what an engine read stays right for as long as the engine lives; its entries go
//! when it is dropped.
//!
//! One memo is shared by every engine of the process and bounded in bytes, like the token
//! memo: when an insert would pass the bound, it starts over.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// What a memo entry costs, in bytes (roughly: the heap it holds).
pub(crate) trait Weigh {
    fn weight(&self) -> usize;
}

/// Values of type `V` by engine id and row id (`K`), at most `budget` bytes in all.
pub(crate) struct EngineMemo<K, V> {
    budget: usize,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    by_engine: HashMap<u64, HashMap<K, V>>,
    bytes: usize,
}

impl<K: Eq + Hash + Clone + Weigh, V: Clone + Weigh> EngineMemo<K, V> {
    pub(crate) fn new(budget: usize) -> Self {
        EngineMemo {
            budget,
            inner: Mutex::new(Inner {
                by_engine: HashMap::new(),
                bytes: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value of each of `ids` that engine `engine` keeps, `None` for the others.
    pub(crate) fn get<'a>(&self, engine: u64, ids: impl IntoIterator<Item = &'a K>) -> Vec<Option<V>>
    where
        K: 'a,
    {
        let inner = self.lock();
        let mine = inner.by_engine.get(&engine);
        ids.into_iter()
            .map(|id| mine.and_then(|m| m.get(id)).cloned())
            .collect()
    }

    /// Keeps `value` as engine `engine`'s value of `id`.
    pub(crate) fn put(&self, engine: u64, id: &K, value: V) {
        let size = value.weight() + id.weight();
        let mut inner = self.lock();
        if inner.bytes + size > self.budget {
            inner.by_engine.clear();
            inner.bytes = 0;
        }
        let previous = inner.by_engine.entry(engine).or_default().insert(id.clone(), value);
        inner.bytes += size;
        if let Some(previous) = previous {
            inner.bytes = inner.bytes.saturating_sub(previous.weight() + id.weight());
        }
    }

    /// Drops everything engine `engine` kept (it is closing: no later query can ask for its
    /// entries, which would only crowd the live engines' out of the budget).
    pub(crate) fn forget(&self, engine: u64) {
        let mut inner = self.lock();
        if let Some(mine) = inner.by_engine.remove(&engine) {
            let freed: usize = mine.iter().map(|(id, v)| v.weight() + id.weight()).sum();
            inner.bytes = inner.bytes.saturating_sub(freed);
        }
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

impl<K: Eq + Hash + Clone + Weigh, T: Weigh> EngineMemo<K, Option<Arc<T>>> {
    /// The first `limit` rows of `ids` that exist, in that order (repeats included). Rows engine
    /// `engine` kept come from here; the others are read with `read` (given ids, it returns
    /// the rows of those that exist, with their ids, in any order), only as many as the limit
    /// may need, and kept, absence included.
    pub(crate) fn first_found<E>(
        &self,
        engine: u64,
        ids: &[K],
        limit: usize,
        mut read: impl FnMut(&[K]) -> Result<Vec<(K, T)>, E>,
    ) -> Result<Vec<Arc<T>>, E> {
        let mut known = self.get(engine, ids);
        loop {
            // The unknown ids among the fewest first ones that may hold `limit` rows.
            let (mut found, mut unknown) = (0, Vec::new());
            for (at, kept) in known.iter().enumerate() {
                if found + unknown.len() >= limit {
                    break;
                }
                match kept {
                    Some(Some(_)) => found += 1,
                    Some(None) => {}
                    None => unknown.push(at),
                }
            }
            if unknown.is_empty() {
                break;
            }
            let wanted: Vec<K> = unknown.iter().map(|&at| ids[at].clone()).collect();
            let rows: HashMap<K, Arc<T>> = read(&wanted)?.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
            for at in unknown {
                let row = rows.get(&ids[at]).cloned();
                self.put(engine, &ids[at], row.clone());
                known[at] = Some(row);
            }
        }
        Ok(known.into_iter().flatten().flatten().take(limit).collect())
    }
}

impl<K: Eq + Hash + Clone + Weigh, T: Weigh + Clone> EngineMemo<K, Option<Arc<T>>> {
    /// The first `limit` rows of `ids` that exist, in that order, as owned rows:
    /// [`first_found`](Self::first_found) over `read`, a store read that returns the rows of
    /// the ids it is given that exist, in any order; `id_of` is a row's id.
    pub(crate) fn rows(
        &self,
        engine: u64,
        ids: &[K],
        limit: usize,
        read: impl Fn(&[K]) -> crate::error::Result<Vec<T>>,
        id_of: impl Fn(&T) -> K,
    ) -> crate::error::Result<Vec<T>> {
        let found = self.first_found(engine, ids, limit, |wanted| {
            Ok::<_, crate::error::Error>(read(wanted)?.into_iter().map(|row| (id_of(&row), row)).collect())
        })?;
        Ok(found.iter().map(|row| T::clone(row)).collect())
    }
}

impl Weigh for String {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl Weigh for u64 {
    fn weight(&self) -> usize {
        std::mem::size_of::<u64>()
    }
}

impl<T: Weigh> Weigh for Vec<T> {
    fn weight(&self) -> usize {
        self.iter().map(Weigh::weight).sum()
    }
}

impl<T: Weigh> Weigh for Arc<T> {
    fn weight(&self) -> usize {
        (**self).weight()
    }
}

impl<T: Weigh> Weigh for Option<T> {
    fn weight(&self) -> usize {
        self.as_ref().map_or(0, Weigh::weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_per_engine_and_forgotten_with_it() {
        let memo: EngineMemo<u64, String> = EngineMemo::new(1 << 20);
        memo.put(1, &10, "one".into());
        memo.put(2, &10, "two".into());
        assert_eq!(memo.get(1, &[10, 11]), vec![Some("one".to_string()), None]);
        assert_eq!(memo.get(2, &[10]), vec![Some("two".to_string())]);
        memo.forget(1);
        assert_eq!(memo.get(1, &[10]), vec![None]);
        assert_eq!(memo.get(2, &[10]), vec![Some("two".to_string())]);
        assert_eq!(memo.bytes(), 8 + "two".len());
    }

    /// A read of the given ids that exist, as the store's: `rows` are the KB's, `reads`
    /// records each call's ids.
    fn reader<'a>(
        rows: &'a [(&'a str, &'a str)],
        reads: &'a mut Vec<Vec<String>>,
    ) -> impl FnMut(&[String]) -> Result<Vec<(String, String)>, ()> + 'a {
        move |ids| {
            reads.push(ids.to_vec());
            Ok(rows
                .iter()
                .filter(|(id, _)| ids.iter().any(|w| w == id))
                .map(|(id, v)| (id.to_string(), v.to_string()))
                .collect())
        }
    }

    #[test]
    fn first_found_reads_only_what_the_limit_may_need_and_remembers_absence() {
        let memo: EngineMemo<String, Option<Arc<String>>> = EngineMemo::new(1 << 20);
        let rows = [("a", "A"), ("c", "C"), ("d", "D")];
        let ids: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let values = |found: Vec<Arc<String>>| found.iter().map(|v| v.to_string()).collect::<Vec<_>>();

        let mut reads = Vec::new();
        let found = memo.first_found(1, &ids, 2, reader(&rows, &mut reads)).unwrap();
        assert_eq!(values(found), ["A", "C"]);
        // "b" is missing, so a second read fetched "c"; "d" was never needed.
        assert_eq!(reads, vec![vec!["a", "b"], vec!["c"]]);

        let mut reads = Vec::new();
        let found = memo
            .first_found(1, &ids, usize::MAX, reader(&rows, &mut reads))
            .unwrap();
        assert_eq!(values(found), ["A", "C", "D"]);
        assert_eq!(reads, vec![vec!["d"]], "only the id never asked for is read");

        let mut reads = Vec::new();
        let found = memo
            .first_found(1, &ids, usize::MAX, reader(&rows, &mut reads))
            .unwrap();
        assert_eq!(values(found), ["A", "C", "D"]);
        assert!(
            reads.is_empty(),
            "everything, the missing \"b\" too, is known: {reads:?}"
        );

        // Another engine knows nothing of these.
        let mut reads = Vec::new();
        let found = memo.first_found(2, &ids, 1, reader(&rows, &mut reads)).unwrap();
        assert_eq!(values(found), ["A"]);
        assert_eq!(reads, vec![vec!["a"]]);
    }

    #[test]
    fn a_replaced_entry_is_counted_once_and_the_budget_starts_over_when_passed() {
        let memo: EngineMemo<u64, String> = EngineMemo::new(30);
        memo.put(1, &10, "xxxx".into());
        memo.put(1, &10, "yyyy".into());
        assert_eq!(memo.bytes(), 12);
        memo.put(1, &11, "zzzz".into());
        assert_eq!(memo.bytes(), 24);
        // Passing the budget drops everything kept, then keeps the new entry.
        memo.put(2, &12, "wwwwwwww".into());
        assert_eq!(memo.bytes(), 16);
        assert_eq!(memo.get(1, &[10, 11]), vec![None, None]);
        assert_eq!(memo.get(2, &[12]), vec![Some("wwwwwwww".to_string())]);
    }
}
