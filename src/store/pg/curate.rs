//! Graph curation: the PostgreSQL side of `store/curate.rs`.

use std::collections::HashMap;

use super::{PgKb, not_yet};
use crate::error::Result;
use crate::store::curate::{Curation, EditChanges, GraphEdit};
use crate::store::rows::RelationState;

impl PgKb {
    pub fn relations_of(&self, _name: &str) -> Result<Vec<RelationState>> {
        Err(not_yet("relations_of"))
    }

    pub fn curation(&self) -> Result<Curation> {
        Err(not_yet("curation"))
    }

    pub fn aliases(&self) -> Result<HashMap<String, String>> {
        Err(not_yet("aliases"))
    }

    pub fn commit_graph_edit(&mut self, _edit: &GraphEdit) -> Result<EditChanges> {
        Err(not_yet("commit_graph_edit"))
    }
}
