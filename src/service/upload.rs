//! Uploads over HTTP (`POST …/documents/text|file`) and the queue the server's ingest worker
//! drains. An upload is admitted like `lrt ingest` (`document:create`, the capacity quotas,
//! one API call) and becomes a `pending` row of the KB's own kb.db, committed before the
//! client is answered. kb.db *is* the queue: an ingest with no new inputs processes every
//! pending and interrupted (`processing`) document, so a crash or restart loses nothing, and
//! no upload is ever written to a path derived from what the client sent.

use serde::Serialize;
use uuid::Uuid;

use super::Service;
use super::ingest::check_capacity;
use crate::authz::{Actor, Permission};
use crate::error::{Error, Result};
use crate::rag::context::UNKNOWN_SOURCE;
use crate::rag::engine::{NewDocument, enqueue};
use crate::store::kb::{DocStatus, KbStore};

/// One uploaded document: its bytes and the name the client gave it (metadata only).
#[derive(Debug, Clone)]
pub struct Upload {
    /// `None`: upstream's `unknown_source`.
    pub file_path: Option<String>,
    pub bytes: Vec<u8>,
    /// Where `bytes` is text extracted from a paginated file: each page's byte range of it.
    pub pages: Vec<crate::extract::Page>,
}

/// What an upload did.
#[derive(Debug, Clone, Serialize)]
pub struct Uploaded {
    pub doc_id: String,
    pub file_path: String,
    /// `pending` for a queued document; a duplicate's current status.
    pub status: DocStatus,
    /// The KB already holds this content (queued, processed or failed): nothing was added,
    /// as `lrt ingest` reports a duplicate. A failed one is retried by deleting it and
    /// uploading again.
    pub duplicate: bool,
}

/// A client's file name as document metadata, under the rule of every document name
/// ([`super::validate::file_path`]); none is upstream's `unknown_source`.
fn upload_name(name: Option<String>) -> Result<String> {
    let Some(name) = name else {
        return Ok(UNKNOWN_SOURCE.to_string());
    };
    super::validate::file_path(&name)?;
    Ok(name)
}

impl Service {
    /// Queues one document in a KB (named by ids): checks `document:create`, its text (UTF-8,
    /// not blank, no NUL), `max_documents` counting the documents queued but not yet
    /// processed, `max_storage_gb` with the upload's size, then counts one API call and
    /// commits the `pending` row. The caller hands the KB to the ingest worker.
    pub fn upload_document(&mut self, actor: &Actor, tenant: &str, kb: &str, upload: Upload) -> Result<Uploaded> {
        let (t, k) = self.kb_for(
            actor,
            Some(tenant),
            Some(kb),
            Permission::DocumentCreate,
            "document.create",
        )?;
        let file_path = upload_name(upload.file_path)?;
        let size = upload.bytes.len() as u64;
        let content = crate::extract::decode_text(upload.bytes)
            .map_err(|why| Error::Usage(format!("cannot ingest {file_path:?}: {why}")))?;
        let dir = self.catalog.layout().create_kb_dir(t.id, k.id)?;
        self.check_kb_intact(&t, &k, crate::store::intact::Depth::Quick)?;
        let mut store = KbStore::open(&self.catalog.kb_location(t.id, k.id, dir))?;
        // Documents kb.db holds that the catalog's statistics do not count yet: queued ones,
        // and ones processed by a run still going (statistics are written when it ends). Read,
        // checked and queued inside one catalog write transaction, which every admission of
        // documents takes: concurrent uploads and ingests cannot pass the quota between them.
        self.charge_api_call(&t)?;
        let doc = NewDocument {
            file_path,
            content,
            pages: upload.pages,
        };
        let (doc_id, existing) = self.catalog.admit_documents(t.id, k.id, 0, |usage| {
            let live = store.count_with_status(&[DocStatus::Pending, DocStatus::Processing, DocStatus::Processed])?;
            let uncounted = live.saturating_sub(usage.kb_documents);
            check_capacity(&t, usage.documents + uncounted, 1, usage.storage_bytes, size)?;
            enqueue(&mut store, &doc)
        })?;
        let uploaded = match existing {
            Some(row) => Uploaded {
                doc_id,
                file_path: row.file_path,
                status: row.status,
                duplicate: true,
            },
            None => {
                let mut audit = self.audit_entry(actor, "document.create", Some(t.id), Some(k.id));
                audit.detail = Some(format!("doc_id={doc_id} bytes={size}"));
                self.catalog.audit(&audit)?;
                // `enqueue` stored it as given, `pending`.
                Uploaded {
                    doc_id,
                    file_path: doc.file_path,
                    status: DocStatus::Pending,
                    duplicate: false,
                }
            }
        };
        Ok(uploaded)
    }

    /// Every KB (of an active tenant) whose kb.db holds pending or interrupted documents, for
    /// the server to queue at start-up. Reads only; a KB that cannot be read is listed too, so
    /// the worker reports why.
    /// On PostgreSQL: one query over every KB, leaving out KBs whose ingest lock another
    /// process holds (a replica processing them).
    pub fn queued_kbs(&self) -> Result<Vec<(Uuid, Uuid)>> {
        if let crate::catalog::Catalog::Postgres(c) = &self.catalog {
            let queued = crate::store::pg::queued_kbs(c.pool())?;
            let active: std::collections::HashSet<Uuid> = self
                .catalog
                .all_tenants_with_kbs()?
                .into_iter()
                .filter(|(t, _)| t.is_active)
                .map(|(t, _)| t.id)
                .collect();
            return Ok(queued.into_iter().filter(|(t, _)| active.contains(t)).collect());
        }
        let mut queued = Vec::new();
        for (t, kbs) in self.catalog.all_tenants_with_kbs()? {
            if !t.is_active {
                continue;
            }
            for k in kbs {
                let waiting = self
                    .catalog
                    .layout()
                    .existing_kb_dir(t.id, k.id)
                    .and_then(|dir| KbStore::open_read_only(&self.catalog.kb_location(t.id, k.id, dir)))
                    .and_then(|store| match store {
                        Some(s) => s.count_with_status(&[DocStatus::Pending, DocStatus::Processing]),
                        None => Ok(0),
                    });
                if !matches!(waiting, Ok(0)) {
                    queued.push((t.id, k.id));
                }
            }
        }
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_are_metadata_within_limits() {
        assert_eq!(upload_name(None).unwrap(), UNKNOWN_SOURCE);
        assert_eq!(upload_name(Some("../../evil.txt".into())).unwrap(), "../../evil.txt");
        for bad in ["", "  ", "a\nb", "nul\0"] {
            assert!(upload_name(Some(bad.into())).is_err(), "{bad:?}");
        }
        assert!(upload_name(Some("x".repeat(super::super::validate::MAX_FILE_PATH_CHARS + 1))).is_err());
    }
}
