//! The KB-store conformance suite: one set of tests, run against every backend (see
//! `common::kbstore`). Each test says what the store guarantees, whichever database holds it.

mod common;

use common::kbstore::backends;
use lrt::store::kb::EmbeddingPin;

#[test]
fn the_embedding_pin_is_kept_and_a_fresh_kb_has_none() {
    for f in backends("the_embedding_pin_is_kept_and_a_fresh_kb_has_none") {
        let mut store = f.open();
        assert_eq!(store.embedding_pin().unwrap(), None, "{}", f.name);
        assert_eq!(store.generation().unwrap(), 0, "{}", f.name);
        let pin = EmbeddingPin {
            binding: "local".into(),
            model: "m".into(),
            dim: 8,
        };
        store.set_embedding_pin(&pin).unwrap();
        assert_eq!(f.open().embedding_pin().unwrap(), Some(pin), "{}", f.name);
        // Another KB on the same backend sees none of it.
        let other = lrt::store::KbStore::open(&f.location_of(f.tenant, uuid::Uuid::new_v4())).unwrap();
        assert_eq!(other.embedding_pin().unwrap(), None, "{}", f.name);
    }
}
