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

// ---------------------------------------------------------------------------------------------
// Reads and curation (store/pg/reads.rs, store/pg/curate.rs): the same rows, written with plain
// SQL into each backend (common::kbseed), read back identically: same rows, same order, same
// tie-breaks, same case folding (Unicode, not ASCII only), on every backend.

mod reads {
    use std::collections::BTreeMap;

    use lrt::store::KbStore;
    use lrt::store::curate::{GraphEdit, Override, OverrideFields};
    use lrt::store::inspect::{EntityFilter, EntityMatch};
    use lrt::store::kb::{DocStatus, VectorKind};
    use lrt::store::rows::EntityState;

    use super::common::kbseed::{Seed, V};
    use super::common::kbstore::{KbFixture, backends};

    /// A small graph with ties everywhere SQLite breaks them: equal degrees, equal weights,
    /// equal update times, names that differ only in case (ASCII and not), keys out of name order.
    fn seed() -> Seed {
        let mut s = Seed::default();
        s.generation = 3;
        s.document("d1", "a.txt", "processed", "2026-01-02T00:00:00Z")
            .document("d2", "b.txt", "pending", "2026-01-02T00:00:00Z")
            .document("d3", "c.txt", "failed", "2026-01-03T00:00:00Z")
            .document("d0", "z.txt", "processed", "2026-01-01T00:00:00Z");
        s.chunk(1, "c-a1", "d1", 0, None)
            .chunk(2, "c-a2", "d1", 1, Some((3, 4)))
            .chunk(3, "c-c1", "d3", 0, None)
            .chunk(4, "c-z", "d0", 0, Some((1, 1)));
        s.entity(5, "Alice", "person", "c-a1<SEP>c-a2", "")
            .entity(2, "alice", "Animal", "c-a1", r#"["c-a1","c-a2","c-old"]"#)
            .entity(7, "Bob", "PERSON", "c-a2", "")
            .entity(1, "Carol", "person", "", "")
            .entity(3, "École", "lieu", "c-c1", "")
            .entity(4, "école", "Lieu", "c-c1", "")
            .entity(6, "Zoë", "person", "c-z", "")
            .entity(8, "Straße", "place", "c-z", "")
            .entity(9, "Σίσυφος", "person", "c-z", "");
        s.relation(10, "Alice", "Bob", 1.0, "c-a1")
            .relation(4, "Alice", "Carol", 2.0, "c-a2")
            .relation(12, "Bob", "Carol", 1.0, "c-a2")
            .relation(3, "Alice", "École", 1.0, "c-c1")
            .relation(9, "Bob", "alice", 1.0, "c-a1")
            .relation(11, "Carol", "Zoë", 0.5, "c-z");
        for (doc, name) in [
            ("d1", "Alice"),
            ("d1", "Bob"),
            ("d0", "Alice"),
            ("d3", "École"),
            ("d1", "alice"),
        ] {
            s.row("doc_entities", vec![("doc_id", doc.into()), ("name", name.into())]);
        }
        for (doc, a, b) in [("d1", "Alice", "Bob"), ("d1", "Bob", "alice"), ("d3", "Alice", "École")] {
            s.row(
                "doc_relations",
                vec![("doc_id", doc.into()), ("src", a.into()), ("tgt", b.into())],
            );
        }
        for (src, tgt, fields, covered) in [
            ("Alice", "", r#"{"description":"curated"}"#, r#"["c-a1"]"#),
            ("Alice", "Bob", r#"{"weight":3.0}"#, "[]"),
        ] {
            s.row(
                "graph_overrides",
                vec![
                    ("src", src.into()),
                    ("tgt", tgt.into()),
                    ("fields", fields.into()),
                    ("covered", covered.into()),
                    ("updated_at", "2026-01-01T00:00:00Z".into()),
                ],
            );
        }
        for (alias, canonical) in [("A. Liddell", "Alice"), ("Robert", "Bob")] {
            s.row(
                "entity_aliases",
                vec![
                    ("alias", alias.into()),
                    ("canonical", canonical.into()),
                    ("created_at", "2026-01-01T00:00:00Z".into()),
                ],
            );
        }
        for (key, ty) in [("q1", "query"), ("k1", "keywords")] {
            s.row(
                "llm_cache",
                vec![
                    ("cache_key", key.into()),
                    ("cache_type", ty.into()),
                    ("chunk_id", V::NullText),
                    ("response", "an answer".into()),
                    ("created_at", 1i64.into()),
                ],
            );
        }
        s
    }

    /// Every backend's store, filled with [`seed`].
    fn seeded(test: &str) -> Vec<(KbFixture, KbStore)> {
        backends(test)
            .into_iter()
            .map(|f| {
                let store = f.open();
                seed().write(&f);
                (f, store)
            })
            .collect()
    }

    /// Asserts every backend observed what SQLite (the first) did, label by label; SQLite's
    /// observations are returned for the test's own checks.
    fn same(observed: Vec<(&'static str, BTreeMap<String, String>)>) -> BTreeMap<String, String> {
        let (reference, want) = &observed[0];
        for (backend, got) in &observed[1..] {
            for (label, value) in want {
                assert_eq!(
                    got.get(label),
                    Some(value),
                    "{label}: {backend} differs from {reference}"
                );
            }
            assert_eq!(got.len(), want.len(), "{backend}");
        }
        observed[0].1.clone()
    }

    fn query_reads(store: &KbStore) -> BTreeMap<String, String> {
        let mut o = BTreeMap::new();
        let mut put = |label: &str, value: String| {
            o.insert(label.to_string(), value);
        };
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        put(
            "entities_by_keys",
            format!("{:?}", store.entities_by_keys(&[6, 99, 5, 3, 5]).unwrap()),
        );
        put(
            "entities_by_keys none",
            format!("{:?}", store.entities_by_keys(&[]).unwrap()),
        );
        put(
            "entities_by_names",
            format!(
                "{:?}",
                store
                    .entities_by_names(&n(&["Zoë", "nobody", "alice", "Alice"]))
                    .unwrap()
            ),
        );
        put(
            "relations_by_keys",
            format!("{:?}", store.relations_by_keys(&[12, 1, 4, 10]).unwrap()),
        );
        put(
            "edges_of",
            format!(
                "{:?}",
                store.edges_of(&n(&["Carol", "Bob", "nobody", "Alice"])).unwrap()
            ),
        );
        put("edges_of none", format!("{:?}", store.edges_of(&[]).unwrap()));
        let degrees: BTreeMap<_, _> = store
            .degrees(&n(&["Alice", "Carol", "nobody", "Zoë", "Alice"]))
            .unwrap()
            .into_iter()
            .collect();
        put("degrees", format!("{degrees:?}"));
        let ids = n(&["c-z", "nope", "c-a2", "c-a1", "c-a2", "c-c1"]);
        for limit in [0, 1, 3, 4, usize::MAX] {
            put(
                &format!("chunks_by_ids {limit}"),
                format!("{:?}", store.chunks_by_ids(&ids, limit).unwrap()),
            );
        }
        put(
            "chunk_vectors_by_ids",
            format!("{:?}", store.chunk_vectors_by_ids(&ids).unwrap()),
        );
        put(
            "chunks_by_keys",
            format!("{:?}", store.chunks_by_keys(&[4, 7, 2, 1]).unwrap()),
        );
        // Inside a read snapshot, as a query makes them.
        let snap = store
            .read_snapshot(|| Ok((store.entities_by_keys(&[7])?, store.degrees(&n(&["Bob"]))?)))
            .unwrap();
        put("snapshot", format!("{snap:?}"));
        o
    }

    #[test]
    fn query_reads_are_identical_on_every_backend() {
        let name = "query_reads_are_identical_on_every_backend";
        let observed = seeded(name)
            .iter()
            .map(|(f, store)| (f.name, query_reads(store)))
            .collect();
        let o = same(observed);
        // What SQLite answers, to be sure the comparison compares something.
        assert!(
            o["entities_by_keys"].starts_with(r#"[EntityRow { name: "Zoë""#),
            "{}",
            o["entities_by_keys"]
        );
        assert_eq!(o["entities_by_keys"].matches("name: \"Alice\"").count(), 2);
        assert_eq!(o["degrees"], r#"{"Alice": 3, "Carol": 3, "Zoë": 1, "nobody": 0}"#);
        assert!(o["chunks_by_ids 1"].contains("c-z") && !o["chunks_by_ids 1"].contains("c-a2"));
        assert_eq!(o["chunks_by_ids 0"], "[]");
        assert_eq!(o["chunks_by_ids 4"].matches("chunk_id").count(), 4);
        assert!(
            o["chunks_by_keys"].contains("pages: Some((1, 1))"),
            "{}",
            o["chunks_by_keys"]
        );
        let edge_keys: Vec<&str> = o["edges_of"].matches("key: ").map(|_| "").collect();
        assert_eq!(edge_keys.len(), 6, "each relation once: {}", o["edges_of"]);
    }

    fn inspection_reads(store: &KbStore) -> BTreeMap<String, String> {
        let mut o = BTreeMap::new();
        let mut put = |label: &str, value: String| {
            o.insert(label.to_string(), value);
        };
        for status in [
            None,
            Some(DocStatus::Processed),
            Some(DocStatus::Pending),
            Some(DocStatus::Processing),
        ] {
            for (offset, limit) in [(0, 10), (1, 2), (3, 5), (9, 1), (0, 0)] {
                put(
                    &format!("list_documents {status:?} {offset} {limit}"),
                    format!("{:?}", store.list_documents(status, offset, limit).unwrap()),
                );
            }
        }
        for doc in ["d1", "d2", "d3", "nope"] {
            put(
                &format!("document_detail {doc}"),
                format!("{:?}", store.document_detail(doc).unwrap()),
            );
        }
        for (search, ty, limit) in [
            (None, None, 100),
            (None, None, 2),
            (Some("LI"), None, 100),
            (Some("éC"), None, 100),
            (Some("ÉCOLE"), Some("LIEU"), 1),
            (None, Some("person"), 3),
            (Some("σίσυφοσ"), None, 10),
            (Some("ΣΊΣΥΦΟΣ"), None, 10),
            (Some("zz"), None, 10),
        ] {
            let filter = EntityFilter {
                search: search.map(str::to_string),
                entity_type: ty.map(str::to_string),
                limit,
            };
            put(
                &format!("entity_summaries {filter:?}"),
                format!("{:?}", store.entity_summaries(&filter).unwrap()),
            );
        }
        for name in [
            "Alice",
            "alice",
            "ALICE",
            "carol",
            "ÉCOLE",
            "école",
            "zoë",
            "ZOË",
            "STRASSE",
            "straße",
            "ΣΊΣΥΦΟΣ",
            "nobody",
            "",
        ] {
            put(
                &format!("resolve_entity {name}"),
                format!("{:?}", store.resolve_entity(name).unwrap()),
            );
        }
        for name in ["Alice", "Bob", "alice", "Carol", "École", "nobody"] {
            put(
                &format!("entity_neighbourhood {name}"),
                format!("{:?}", store.entity_neighbourhood(name).unwrap()),
            );
        }
        put("graph", format!("{:?}", store.graph().unwrap()));
        o
    }

    #[test]
    fn inspection_reads_are_identical_on_every_backend() {
        let name = "inspection_reads_are_identical_on_every_backend";
        let observed = seeded(name)
            .iter()
            .map(|(f, store)| (f.name, inspection_reads(store)))
            .collect();
        let o = same(observed);
        // Newest first, ties by id; the total counts every match whatever the page.
        let all = &o["list_documents None 0 10"];
        let order: Vec<usize> = ["\"d3\"", "\"d1\"", "\"d2\"", "\"d0\""]
            .iter()
            .map(|d| all.find(d).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{all}");
        assert!(
            o["list_documents None 9 1"].ends_with("], 4)"),
            "{}",
            o["list_documents None 9 1"]
        );
        assert!(o["list_documents Some(Processed) 0 0"].ends_with("[], 2)"));
        assert!(
            o["document_detail d1"].contains("entity_count: 3, relation_count: 2"),
            "{}",
            o["document_detail d1"]
        );
        assert_eq!(o["document_detail nope"], "None");
        let everyone = &o[&format!(
            "entity_summaries {:?}",
            EntityFilter {
                limit: 100,
                ..EntityFilter::default()
            }
        )];
        let order: Vec<usize> = [
            "Alice",
            "Bob",
            "Carol",
            "Zoë",
            "alice",
            "École",
            "Straße",
            "école",
            "Σίσυφος",
        ]
        .iter()
        .map(|n| everyone.find(&format!("name: \"{n}\"")).unwrap())
        .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "degree, then byte order: {everyone}"
        );
        // alice: three chunks in all, one kept.
        assert!(everyone.contains(r#"name: "alice", entity_type: "Animal", degree: 1, source_chunks: 3"#));
        assert_eq!(
            o["resolve_entity carol"],
            format!("{:?}", EntityMatch::CaseInsensitive("Carol".into()))
        );
        assert_eq!(
            o["resolve_entity ÉCOLE"],
            format!("{:?}", EntityMatch::Ambiguous(vec!["École".into(), "école".into()]))
        );
        assert_eq!(
            o["resolve_entity ZOË"],
            format!("{:?}", EntityMatch::CaseInsensitive("Zoë".into()))
        );
        assert_eq!(
            o["resolve_entity ΣΊΣΥΦΟΣ"],
            format!("{:?}", EntityMatch::CaseInsensitive("Σίσυφος".into()))
        );
        assert_eq!(o["resolve_entity STRASSE"], format!("{:?}", EntityMatch::None));
        // Strongest first, then by the other endpoint.
        let alice = &o["entity_neighbourhood Alice"];
        let order: Vec<usize> = ["target: \"Carol\"", "target: \"Bob\"", "target: \"École\""]
            .iter()
            .map(|t| alice.find(t).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{alice}");
    }

    fn entity(name: &str) -> EntityState {
        EntityState {
            name: name.into(),
            entity_type: "person".into(),
            description: format!("{name} is someone."),
            source_ids: vec!["c-a1".into()],
            all_source_ids: vec!["c-a1".into(), "c-a2".into()],
            file_paths: vec!["a.txt".into()],
            truncate: String::new(),
        }
    }

    /// What a store holds that curation reads or writes.
    fn curated_state(store: &KbStore) -> BTreeMap<String, String> {
        let mut o = BTreeMap::new();
        for name in ["Alice", "Bob", "Carol", "Alicia", "nobody"] {
            o.insert(
                format!("relations_of {name}"),
                format!("{:?}", store.relations_of(name).unwrap()),
            );
        }
        let curation = store.curation().unwrap();
        let overrides: BTreeMap<_, _> = curation.overrides.into_iter().collect();
        let aliases: BTreeMap<_, _> = store.aliases().unwrap().into_iter().collect();
        let curation_aliases: BTreeMap<_, _> = curation.aliases.into_iter().collect();
        assert_eq!(aliases, curation_aliases);
        o.insert("overrides".into(), format!("{overrides:?}"));
        o.insert("aliases".into(), format!("{aliases:?}"));
        o.insert("graph".into(), format!("{:?}", store.graph().unwrap()));
        o.insert("generation".into(), store.generation().unwrap().to_string());
        o.insert(
            "Alice's documents".into(),
            format!(
                "{:?}",
                store.entity_neighbourhood("Alicia").unwrap().map(|n| n.documents)
            ),
        );
        o.insert(
            "detail d1".into(),
            format!("{:?}", store.document_detail("d1").unwrap()),
        );
        o
    }

    /// The names behind changed vector keys, which differ between backends only in value.
    fn changed_rows(store: &KbStore, keys: &[(VectorKind, u64)]) -> Vec<String> {
        let mut out: Vec<String> = keys
            .iter()
            .map(|(kind, key)| match kind {
                VectorKind::Entities => format!("entity {:?}", store.entities_by_keys(&[*key]).unwrap()[0].name),
                VectorKind::Relations => {
                    let r = &store.relations_by_keys(&[*key]).unwrap()[0];
                    format!("relation {} {}", r.src, r.tgt)
                }
                VectorKind::Chunks => format!("chunk {key}"),
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn curation_reads_and_graph_edits_are_identical_on_every_backend() {
        let name = "curation_reads_and_graph_edits_are_identical_on_every_backend";
        let mut observed = Vec::new();
        for (f, mut store) in seeded(name) {
            let mut o = curated_state(&store);
            // A stale plan changes nothing.
            let stale = GraphEdit {
                expected_generation: 2,
                remove_entities: vec!["Alice".into()],
                ..GraphEdit::default()
            };
            let refused = store.commit_graph_edit(&stale);
            assert!(
                matches!(refused, Err(lrt::error::Error::Conflict(_))),
                "{}: {refused:?}",
                f.name
            );
            // An edit whose update finds no row is refused as a whole.
            let missing = GraphEdit {
                expected_generation: 3,
                remove_entities: vec!["Carol".into()],
                entities: vec![(entity("Nobody"), None)],
                ..GraphEdit::default()
            };
            assert!(store.commit_graph_edit(&missing).is_err(), "{}", f.name);
            assert_eq!(curated_state(&store), o, "{}: a refused edit changed nothing", f.name);

            // Alice renamed Alicia (merging her links and aliases), the Bob–alice relation
            // removed, Bob's fields updated in place, a relation and override written.
            let mut bob = entity("Bob");
            bob.description = "Bob, curated.".into();
            let mut rel = store.relations_of("Bob").unwrap().remove(1);
            assert_eq!((rel.src.as_str(), rel.tgt.as_str()), ("Bob", "Carol"));
            rel.description = "updated".into();
            let edit = GraphEdit {
                expected_generation: 3,
                link_renames: vec![("Alice".into(), "Alicia".into())],
                remove_entities: vec!["Alice".into()],
                remove_relations: vec![("Bob".into(), "alice".into())],
                entities: vec![(entity("Alicia"), Some(vec![0.5, 0.5])), (bob, None)],
                relations: vec![(rel, None)],
                overrides: vec![
                    (
                        ("Alicia".into(), String::new()),
                        Some(Override {
                            fields: OverrideFields {
                                description: Some("curated".into()),
                                ..OverrideFields::default()
                            },
                            covered: vec!["c-a1".into()],
                        }),
                    ),
                    (("Carol".into(), String::new()), None),
                ],
                aliases: vec![("Alice".into(), "Alicia".into())],
                unalias: vec!["Robert".into()],
                created_at: 77,
            };
            let changes = store.commit_graph_edit(&edit).unwrap();
            o.extend(
                curated_state(&store)
                    .into_iter()
                    .map(|(k, v)| (format!("after: {k}"), v)),
            );
            o.insert("answers_dropped".into(), changes.answers_dropped.to_string());
            let upserts: Vec<_> = changes.upserts.iter().map(|(k, key, _)| (*k, *key)).collect();
            o.insert("upserts".into(), format!("{:?}", changed_rows(&store, &upserts)));
            o.insert("removed".into(), format!("{:?}", changes.removed.len()));
            o.insert(
                "upserted vectors".into(),
                format!("{:?}", changes.upserts.iter().map(|u| &u.2).collect::<Vec<_>>()),
            );
            observed.push((f.name, o));
        }
        let o = same(observed);
        assert_eq!(o["after: generation"], "4");
        assert_eq!(o["answers_dropped"], "1");
        assert_eq!(o["removed"], "5", "Alice, her 3 relations, Bob–alice");
        assert_eq!(o["upserts"], r#"["entity \"Alicia\""]"#);
        assert!(
            o["after: aliases"].contains(r#""A. Liddell": "Alicia""#),
            "{}",
            o["after: aliases"]
        );
        assert!(!o["after: aliases"].contains("Robert"));
        assert!(o["after: Alice's documents"].contains("d0") && o["after: Alice's documents"].contains("d1"));
        assert!(o["after: relations_of Bob"].contains("updated"));
    }
}
