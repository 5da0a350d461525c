//! Imports into a KB and the checks `lrt doctor` runs: the PostgreSQL side of
//! `store/transfer.rs` and `store/doctor.rs`.

use super::{PgKb, not_yet};
use crate::error::Result;
use crate::store::doctor::{RefProblem, RefRepair};
use crate::store::kb::EmbeddingPin;
use crate::store::transfer::ImportRows;

impl PgKb {
    pub fn import_rows(&mut self, _rows: &ImportRows, _pin: &EmbeddingPin) -> Result<()> {
        Err(not_yet("import_rows"))
    }

    pub fn schema_problems(&self) -> Result<Vec<String>> {
        Err(not_yet("schema_problems"))
    }

    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        Err(not_yet("integrity_problems"))
    }

    pub fn reference_problems(&self, _dim: Option<usize>) -> Result<Vec<RefProblem>> {
        Err(not_yet("reference_problems"))
    }

    pub fn repair_references(&mut self) -> Result<RefRepair> {
        Err(not_yet("repair_references"))
    }
}
