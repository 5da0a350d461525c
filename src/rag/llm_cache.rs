//! The ingest engine's access to the LLM cache in kb.db.
//!
//! Every extraction and summary call looks the cache up and stores its answer. Through the
//! engine's one kb.db connection, those lookups waited for whatever held it, most often a
//! document's commit (tens of milliseconds), and the merge, which every other document waits
//! on, asks for its summaries through them. So lookups read through a read-only connection of
//! their own, which WAL lets read while a commit writes; a new answer is written at once when
//! the store is free, else kept here, where lookups find it, until the holder of the store
//! writes it ([`LlmCache::write_to`]: after each commit, at the end of a run, and when the
//! engine is dropped). On PostgreSQL, where each write is a round trip to the server, answers
//! are always kept back and written in one statement at those points (a process killed in
//! between asks the model again for the answers of the documents it had not committed).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, TryLockError};

use crate::error::{Error, Result};
use crate::store::KbLocation;
use crate::store::kb::{CachedAnswer, KbStore};

/// Cached answers, read through their own connection, written through the store.
pub struct LlmCache {
    reader: Mutex<KbStore>,
    /// Answers not yet written to kb.db, by cache key.
    unwritten: Mutex<HashMap<String, CachedAnswer>>,
    /// Whether a new answer is written at once when the store is free (SQLite) or kept for
    /// the next [`write_to`](LlmCache::write_to) (PostgreSQL).
    write_at_once: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl LlmCache {
    /// Opens the cache of the KB `at` names, whose kb.db the engine has already opened.
    pub fn open(at: &KbLocation) -> Result<LlmCache> {
        let reader = KbStore::open_read_only(at)?
            .ok_or_else(|| Error::Internal(format!("{} has no kb.db to read", at.dir.display())))?;
        Ok(LlmCache {
            reader: Mutex::new(reader),
            unwritten: Mutex::default(),
            write_at_once: at.is_sqlite(),
        })
    }

    /// The cached answer for `key` and when it was made.
    pub fn get(&self, key: &str) -> Result<Option<(String, i64)>> {
        // Unwritten answers first: one leaves this map only once kb.db has it.
        if let Some(answer) = lock(&self.unwritten).get(key) {
            return Ok(Some((answer.response.clone(), answer.at)));
        }
        lock(&self.reader).cache_get(key)
    }

    /// Stores an answer (an existing entry for the key is kept): at once if `store` is free
    /// (SQLite), else when its holder next calls [`write_to`](Self::write_to).
    pub fn put(&self, store: &Mutex<KbStore>, key: &str, answer: CachedAnswer) -> Result<()> {
        lock(&self.unwritten).entry(key.to_string()).or_insert(answer);
        if !self.write_at_once {
            return Ok(());
        }
        match store.try_lock() {
            Ok(store) => self.write_to(&store),
            Err(TryLockError::Poisoned(p)) => self.write_to(&p.into_inner()),
            Err(TryLockError::WouldBlock) => Ok(()),
        }
    }

    /// Writes the answers not yet in kb.db through `store`, which the caller holds.
    pub fn write_to(&self, store: &KbStore) -> Result<()> {
        // Held while writing, so a lookup finds each answer here or in kb.db.
        let mut unwritten = lock(&self.unwritten);
        if unwritten.is_empty() {
            return Ok(());
        }
        let answers: Vec<(&str, &CachedAnswer)> = unwritten.iter().map(|(k, a)| (k.as_str(), a)).collect();
        store.cache_put_many(&answers)?;
        unwritten.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_kept_back_is_found_and_lands_once_the_store_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Mutex::new(KbStore::open(&KbLocation::sqlite(dir.path())).unwrap());
        let cache = LlmCache::open(&KbLocation::sqlite(dir.path())).unwrap();
        let in_db = |key: &str| {
            KbStore::open_read_only(&KbLocation::sqlite(dir.path()))
                .unwrap()
                .unwrap()
                .cache_get(key)
                .unwrap()
        };

        let answer = |cache_type, chunk_id: Option<&str>, response: &str, at| CachedAnswer {
            cache_type,
            chunk_id: chunk_id.map(str::to_string),
            response: response.into(),
            at,
        };

        // The store is free: written at once.
        let first = answer("extract", Some("c1"), "first", 1);
        cache.put(&store, "default:extract:a", first).unwrap();
        assert_eq!(in_db("default:extract:a"), Some(("first".into(), 1)));

        // A commit holds the store: kept back, yet found; an existing key is kept.
        let held = lock(&store);
        let (second, other) = (
            answer("summary", None, "second", 2),
            answer("summary", None, "other", 3),
        );
        cache.put(&store, "default:summary:b", second).unwrap();
        cache.put(&store, "default:summary:b", other).unwrap();
        assert_eq!(in_db("default:summary:b"), None);
        assert_eq!(cache.get("default:summary:b").unwrap(), Some(("second".into(), 2)));
        cache.write_to(&held).unwrap();
        drop(held);
        assert_eq!(in_db("default:summary:b"), Some(("second".into(), 2)));
        assert_eq!(cache.get("default:summary:b").unwrap(), Some(("second".into(), 2)));
        assert!(lock(&cache.unwritten).is_empty());
    }
}
