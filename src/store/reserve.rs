//! A KB's disk reserve: a small file of zeros written when its engine opens and deleted when a
//! write fails for lack of space, so that the failing run can still record what happened
//! (its documents marked failed, not left pending) on a disk that is otherwise full.

use std::path::{Path, PathBuf};

/// The reserve's size: room for the WAL frames of a run's status updates. SQLite rewrites a
/// whole row, its stored content included, to change its status: 40 documents of 12 KB did not
/// fit in 512 KiB.
const RESERVE_BYTES: usize = 2 * 1024 * 1024;
/// The reserve's file name in a KB's folder (left out of storage figures).
pub const RESERVE_FILE: &str = "disk-reserve";

fn path(dir: &Path) -> PathBuf {
    dir.join(RESERVE_FILE)
}

/// Writes the reserve if it is missing. Best effort: on a disk too full for it there is
/// nothing to keep back anyway.
pub fn ensure(dir: &Path) {
    let path = path(dir);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == RESERVE_BYTES as u64) {
        return;
    }
    if std::fs::write(&path, vec![0u8; RESERVE_BYTES]).is_err() {
        let _ = std::fs::remove_file(&path);
    }
}

/// Gives the reserve's space back to the file system; true if there was one.
pub fn release(dir: &Path) -> bool {
    std::fs::remove_file(path(dir)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_written_once_and_released() {
        let dir = tempfile::tempdir().unwrap();
        ensure(dir.path());
        assert_eq!(std::fs::metadata(path(dir.path())).unwrap().len(), RESERVE_BYTES as u64);
        ensure(dir.path());
        assert!(release(dir.path()));
        assert!(!release(dir.path()));
    }
}
