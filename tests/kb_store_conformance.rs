//! The KB-store conformance suite: one set of tests, run against every backend (see
//! `common::kbstore`). Each test says what the store guarantees, whichever database holds it.

mod common;

use common::kbstore::backends;
use lrt::store::KbStore;
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
            "edges_by_name",
            format!(
                "{:?}",
                store.edges_by_name(&n(&["Carol", "Bob", "nobody", "Alice"])).unwrap()
            ),
        );
        put("edges_by_name none", format!("{:?}", store.edges_by_name(&[]).unwrap()));
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
        // One list per name, "nobody"'s empty; the six relations of Alice, Bob and Carol.
        let edges = &o["edges_by_name"];
        assert!(edges.starts_with("[[Edge {") && edges.contains("], [], ["), "{edges}");
        let keys: std::collections::BTreeSet<&str> = edges
            .split("key: ")
            .skip(1)
            .map(|rest| rest.split(',').next().unwrap())
            .collect();
        assert_eq!(keys.len(), 6, "{edges}");
        assert_eq!(o["edges_by_name none"], "[]");
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

// ---------------------------------------------------------------------------------------------
// Deletion, imports and the doctor's checks (pgmove): the same operations give the same rows.
// ---------------------------------------------------------------------------------------------

use lrt::error::Error;
use lrt::store::delete::DocumentDeletion;
use lrt::store::doctor::{RefCheck, RefRepair};
use lrt::store::kb::ExtractionRow;
use lrt::store::rows::EntityState;
use lrt::store::transfer::{ImportCacheEntry, ImportChunk, ImportDocument, ImportEntity, ImportRelation, ImportRows};

fn pin2() -> EmbeddingPin {
    EmbeddingPin {
        binding: "local".into(),
        model: "m".into(),
        dim: 2,
    }
}

fn import_doc(id: &str, path: &str, status: &str) -> ImportDocument {
    ImportDocument {
        doc_id: id.into(),
        file_path: path.into(),
        content: format!("content of {id}"),
        content_hash: format!("h-{id}"),
        status: status.into(),
        error: None,
        created_at: format!("2026-01-01T00:00:0{}Z", id.len() % 10),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

fn import_chunk(id: &str, doc: &str, path: &str) -> ImportChunk {
    ImportChunk {
        chunk_id: id.into(),
        doc_id: doc.into(),
        order: 0,
        tokens: 3,
        content: format!("text of {id}"),
        file_path: path.into(),
        embedding: vec![1.0, 0.5],
    }
}

fn import_entity(name: &str, sources: &[&str], dim: usize) -> ImportEntity {
    ImportEntity {
        name: name.into(),
        entity_type: "person".into(),
        description: format!("{name} is someone"),
        source_ids: sources.iter().map(|s| s.to_string()).collect(),
        all_source_ids: sources.iter().map(|s| s.to_string()).collect(),
        file_paths: vec!["a.txt".into()],
        truncate: String::new(),
        created_at: 7,
        embedding: vec![0.25; dim],
    }
}

fn import_relation(src: &str, tgt: &str, sources: &[&str]) -> ImportRelation {
    ImportRelation {
        src: src.into(),
        tgt: tgt.into(),
        keywords: "knows".into(),
        description: format!("{src} knows {tgt}"),
        weight: 1.5,
        source_ids: sources.iter().map(|s| s.to_string()).collect(),
        all_source_ids: sources.iter().map(|s| s.to_string()).collect(),
        file_paths: vec!["a.txt".into()],
        truncate: String::new(),
        created_at: 7,
        embedding: vec![0.5, 0.25],
    }
}

fn cache_entry(key: &str, kind: &str, chunk: Option<&str>, response: &str) -> ImportCacheEntry {
    ImportCacheEntry {
        key: key.into(),
        cache_type: kind.into(),
        chunk_id: chunk.map(str::to_string),
        response: response.into(),
        created_at: 1,
    }
}

/// Two processed documents: Alice in both, Bob only in `doc-a`, Carol only in `doc-b`.
fn two_documents() -> ImportRows {
    ImportRows {
        documents: vec![
            import_doc("doc-a", "a.txt", "processed"),
            import_doc("doc-bb", "b.txt", "processed"),
        ],
        chunks: vec![
            import_chunk("ca0", "doc-a", "a.txt"),
            import_chunk("cb0", "doc-bb", "b.txt"),
        ],
        entities: vec![
            import_entity("Alice", &["ca0", "cb0"], 2),
            import_entity("Bob", &["ca0"], 2),
            import_entity("Carol", &["cb0"], 2),
        ],
        relations: vec![
            import_relation("Alice", "Bob", &["ca0"]),
            import_relation("Alice", "Carol", &["cb0"]),
        ],
        doc_entities: vec![
            ("doc-a".into(), "Bob".into()),
            ("doc-a".into(), "Alice".into()),
            ("doc-bb".into(), "Alice".into()),
            ("doc-bb".into(), "Carol".into()),
        ],
        doc_relations: vec![
            ("doc-a".into(), "Alice".into(), "Bob".into()),
            ("doc-bb".into(), "Alice".into(), "Carol".into()),
        ],
        cache: vec![
            cache_entry("k-a", "extract", Some("ca0"), "answer a"),
            cache_entry("k-b", "extract", Some("cb0"), "answer b"),
            cache_entry("q-1", "query", None, "a cached answer"),
        ],
        extractions: vec![
            ExtractionRow {
                chunk_id: "ca0".into(),
                result: "answer a".into(),
                glean: None,
                cache_keys: vec!["k-a".into()],
                extracted_at: 20,
            },
            ExtractionRow {
                chunk_id: "cb0".into(),
                result: "answer b (not cached)".into(),
                glean: Some("more".into()),
                cache_keys: vec!["k-b".into()],
                extracted_at: 10,
            },
        ],
    }
}

#[test]
fn a_deletion_rebuilds_and_drops_the_same_rows_on_every_backend() {
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    for f in backends("a_deletion_rebuilds_and_drops_the_same_rows_on_every_backend") {
        let mut store = f.open();
        store.import_rows(&two_documents(), &pin2()).unwrap();
        let mut out = Vec::new();
        let docs = store.processed_documents_at("a.txt").unwrap();
        assert_eq!(docs.len(), 1, "{}", f.name);
        assert_eq!(docs[0].chunks_count, 1, "{}", f.name);

        let missing = store
            .deletion_scope(&["nope".into(), "doc-a".into(), "zzz".into()])
            .unwrap_err();
        assert!(
            matches!(missing, Error::NotFound(ref m) if m.contains("nope, zzz")),
            "{}: {missing}",
            f.name
        );

        let scope = store.deletion_scope(&["doc-a".into(), "doc-a".into()]).unwrap();
        assert_eq!(scope.documents.len(), 1, "{}", f.name);
        let names: Vec<&str> = scope.entities.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["Alice", "Bob"], "{}", f.name);
        assert_eq!(scope.relations.len(), 1, "{}", f.name);
        assert!(scope.chunk_ids.contains("ca0"), "{}", f.name);
        out.push(format!("scope generation {}", scope.generation));

        // Oldest extraction first; answers the cache holds are read back from it.
        let x = store
            .stored_extractions(&["ca0".into(), "missing".into(), "cb0".into()])
            .unwrap();
        out.extend(x.iter().map(|x| {
            format!(
                "{} {} {} {:?} {}",
                x.chunk_id, x.file_path, x.result, x.glean, x.extracted_at
            )
        }));

        let alice = store.entity("Alice").unwrap().unwrap();
        let rebuilt = EntityState {
            source_ids: vec!["cb0".into()],
            all_source_ids: vec!["cb0".into()],
            description: "Alice, rebuilt".into(),
            ..alice
        };
        let mut deletion = DocumentDeletion {
            doc_ids: vec!["doc-a".into()],
            remove_entities: vec!["Bob".into()],
            remove_relations: vec![],
            entities: vec![(rebuilt, Some(vec![0.0, 1.0]))],
            relations: vec![],
            drop_llm_cache: true,
            expected_generation: scope.generation + 5,
        };
        // A plan made for another generation changes nothing.
        let stale = store.commit_deletion(&deletion).unwrap_err();
        assert!(matches!(stale, Error::Conflict(_)), "{}: {stale}", f.name);
        assert!(store.document("doc-a").unwrap().is_some(), "{}", f.name);

        deletion.expected_generation = scope.generation;
        let changes = store.commit_deletion(&deletion).unwrap();
        out.push(format!(
            "chunks {} entities {} relations {} cache {} answers {} upserts {} removed {}",
            changes.chunks_deleted,
            changes.entities_removed,
            changes.relations_removed,
            changes.llm_cache_dropped,
            changes.answers_dropped,
            changes.upserts.len(),
            changes.removed.len()
        ));
        out.push(format!("generation {}", store.generation().unwrap()));
        out.push(format!(
            "doc-a {:?}",
            store.document("doc-a").unwrap().map(|d| d.doc_id)
        ));
        out.push(format!("Bob {:?}", store.entity("Bob").unwrap()));
        out.push(format!("Alice-Bob {:?}", store.relation("Bob", "Alice").unwrap()));
        out.push(format!("Alice {:?}", store.entity("Alice").unwrap()));
        out.push(format!("Alice-Carol {:?}", store.relation("Alice", "Carol").unwrap()));
        let left = store.stored_extractions(&["ca0".into(), "cb0".into()]).unwrap();
        out.extend(left.iter().map(|x| format!("left {} {}", x.chunk_id, x.result)));
        // Nothing dangles afterwards.
        assert_eq!(store.reference_problems(Some(2)).unwrap(), vec![], "{}", f.name);
        seen.push((f.name.to_string(), out));
    }
    let (_, sqlite) = &seen[0];
    assert!(sqlite.contains(&"chunks 1 entities 1 relations 1 cache 1 answers 1 upserts 1 removed 3".to_string()));
    assert!(sqlite.contains(&"generation 2".to_string()), "{sqlite:?}");
    for (name, rows) in &seen[1..] {
        assert_eq!(rows, sqlite, "{name} differs from sqlite");
    }
}

#[test]
fn import_rows_is_all_or_nothing_on_every_backend() {
    for f in backends("import_rows_is_all_or_nothing_on_every_backend") {
        let mut store = f.open();
        let mut bad = two_documents();
        bad.chunks.push(import_chunk("cx0", "doc-missing", "x.txt"));
        let e = store.import_rows(&bad, &pin2()).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{}: {e}", f.name);
        assert_eq!(store.generation().unwrap(), 0, "{}", f.name);
        assert!(store.document("doc-a").unwrap().is_none(), "{}", f.name);
        assert_eq!(store.embedding_pin().unwrap(), None, "{}", f.name);
        store.import_rows(&two_documents(), &pin2()).unwrap();
        assert_eq!(store.embedding_pin().unwrap(), Some(pin2()), "{}", f.name);
        assert_eq!(store.generation().unwrap(), 1, "{}", f.name);
        let e = store.import_rows(&two_documents(), &pin2()).unwrap_err();
        assert!(matches!(e, Error::Conflict(_)), "{}: {e}", f.name);
    }
}

#[test]
fn the_doctor_finds_and_repairs_the_same_references_on_every_backend() {
    let mut seen = Vec::new();
    for f in backends("the_doctor_finds_and_repairs_the_same_references_on_every_backend") {
        let mut store = f.open();
        assert_eq!(store.schema_problems().unwrap(), Vec::<String>::new(), "{}", f.name);
        assert_eq!(store.integrity_problems().unwrap(), Vec::<String>::new(), "{}", f.name);
        let mut rows = two_documents();
        rows.documents.push(import_doc("stuck", "s.txt", "processing"));
        rows.chunks.push(import_chunk("cs0", "stuck", "s.txt"));
        rows.doc_entities.push(("doc-a".into(), "Gone".into()));
        rows.doc_relations.push(("doc-a".into(), "Alice".into(), "Zed".into()));
        rows.relations.push(import_relation("Alice", "Nobody", &["ca0"]));
        rows.entities.push(import_entity("Wide", &["ca0"], 3));
        store.import_rows(&rows, &pin2()).unwrap();
        let found: Vec<(RefCheck, u64, Vec<String>)> = store
            .reference_problems(Some(2))
            .unwrap()
            .into_iter()
            .map(|p| {
                (
                    p.check,
                    p.count,
                    if p.check == RefCheck::EmbeddingDims {
                        vec![]
                    } else {
                        p.samples
                    },
                )
            })
            .collect();
        let generation = store.generation().unwrap();
        let repair = store.repair_references().unwrap();
        assert_eq!(
            repair,
            RefRepair {
                chunks_deleted: 1,
                doc_entities_deleted: 1,
                doc_relations_deleted: 1,
                requeued: 1
            },
            "{}",
            f.name
        );
        assert_eq!(store.generation().unwrap(), generation + 1, "{}", f.name);
        assert_eq!(store.repair_references().unwrap(), RefRepair::default(), "{}", f.name);
        let after: Vec<RefCheck> = store
            .reference_problems(Some(2))
            .unwrap()
            .into_iter()
            .map(|p| p.check)
            .collect();
        assert_eq!(
            after,
            [RefCheck::RelationEndpoints, RefCheck::EmbeddingDims],
            "{}",
            f.name
        );
        assert_eq!(store.integrity_problems().unwrap(), Vec::<String>::new(), "{}", f.name);
        seen.push(found);
    }
    assert_eq!(seen[0].len(), 6, "{:?}", seen[0]);
    for other in &seen[1..] {
        assert_eq!(other, &seen[0]);
    }
}

#[test]
fn the_doctor_reports_a_trigger_or_a_dropped_index_on_postgresql() {
    for f in backends("the_doctor_reports_a_trigger_or_a_dropped_index_on_postgresql") {
        let store = f.open();
        assert_eq!(store.schema_problems().unwrap(), Vec::<String>::new(), "{}", f.name);
        let Some(mut client) = f.pg_client() else {
            continue;
        };
        client
            .batch_execute(
                "CREATE FUNCTION copy_out() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
                 CREATE TRIGGER leak AFTER INSERT ON kb_chunks FOR EACH ROW EXECUTE FUNCTION copy_out();
                 DROP INDEX kb_relations_tgt;
                 ALTER TABLE kb_entities ADD COLUMN extra TEXT;",
            )
            .unwrap();
        let problems = store.schema_problems().unwrap();
        assert!(
            problems.iter().any(|p| p.contains("trigger leak on kb_chunks")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("missing index") && p.contains("kb_relations_tgt")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("unexpected column kb_entities.extra")),
            "{problems:?}"
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}

#[test]
fn a_kb_copied_to_another_backend_and_back_has_the_same_rows_and_keys() {
    let all = backends("a_kb_copied_to_another_backend_and_back_has_the_same_rows_and_keys");
    let sqlite = &all[0];
    let mut source = sqlite.open();
    source.import_rows(&two_documents(), &pin2()).unwrap();
    let original = lrt::store::copy::read_rows(&source).unwrap();
    for f in &all {
        // There (a fresh KB on this backend) and back (a fresh kb.db).
        let mut there = KbStore::open(&f.location_of(f.tenant, uuid::Uuid::new_v4())).unwrap();
        let counts = lrt::store::copy::copy_kb(&source, &mut there).unwrap();
        assert_eq!(
            (counts.documents, counts.chunks, counts.entities, counts.relations),
            (2, 2, 3, 2)
        );
        assert_eq!(lrt::store::copy::read_rows(&there).unwrap(), original, "{}", f.name);
        assert_eq!(
            there.entity("Alice").unwrap(),
            source.entity("Alice").unwrap(),
            "{}",
            f.name
        );
        let back_dir = tempfile::tempdir().unwrap();
        let back = lrt::store::copy::snapshot_into(&there, back_dir.path()).unwrap();
        assert_eq!(back, counts);
        let back = KbStore::open(&lrt::store::KbLocation::sqlite(back_dir.path())).unwrap();
        assert_eq!(lrt::store::copy::read_rows(&back).unwrap(), original, "{}", f.name);
        // A second copy into the same KB is refused and changes nothing.
        let again = lrt::store::copy::copy_kb(&source, &mut there).unwrap_err();
        assert!(matches!(again, Error::Conflict(_)), "{}: {again}", f.name);
        // Keys handed out after a copy never collide with the copied ones.
        let at = f.location_of(f.tenant, uuid::Uuid::new_v4());
        let mut fresh = KbStore::open(&at).unwrap();
        lrt::store::copy::copy_kb(&source, &mut fresh).unwrap();
        lrt::store::copy::remove_rows(&at).unwrap();
        if f.name == "postgres" {
            assert!(fresh.document("doc-a").unwrap().is_none());
            fresh.import_rows(&two_documents(), &pin2()).unwrap();
            let rows = lrt::store::copy::read_rows(&fresh).unwrap();
            let keys = |r: &lrt::store::copy::KbRows| r.tables[2].iter().map(|c| c[0].clone()).collect::<Vec<_>>();
            assert!(
                keys(&rows).iter().all(|k| !keys(&original).contains(k)),
                "{:?}",
                keys(&rows)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Documents, the LLM cache, a document's commit and the embeddings (store/pg/core.rs).

mod core_writes {
    use super::*;

    use std::sync::Arc;

    use lrt::store::KbStore;
    use lrt::store::kb::{CachedAnswer, ChunkRow, DocStatus, DocumentCommit, ExtractionRow, VectorKind};
    use lrt::store::rows::{EntityState, RelationState};

    fn ids(rows: &[lrt::store::kb::DocumentRow]) -> Vec<&str> {
        rows.iter().map(|d| d.doc_id.as_str()).collect()
    }

    #[test]
    fn documents_queue_and_change_status_alike() {
        for f in backends("documents_queue_and_change_status_alike") {
            let mut s = f.open();
            let n = f.name;
            assert!(s.enqueue("doc-b", "b.txt", "héllo", "hb").unwrap().is_none(), "{n}");
            // Added in the same instant as doc-b: the order they were added breaks the tie.
            assert!(s.enqueue("doc-a", "a.txt", "abc", "ha").unwrap().is_none(), "{n}");
            let again = s.enqueue("doc-b", "other.txt", "x", "hx").unwrap().expect(n);
            assert_eq!(
                (again.file_path.as_str(), again.content_hash.as_str()),
                ("b.txt", "hb"),
                "{n}"
            );
            let b = s.document("doc-b").unwrap().expect(n);
            assert_eq!(
                (b.content_length, b.status, b.chunks_count),
                (5, DocStatus::Pending, 0),
                "{n}"
            );
            assert_eq!(s.document("nope").unwrap().map(|d| d.doc_id), None, "{n}");
            assert_eq!(s.document_content("doc-b").unwrap().as_deref(), Some("héllo"), "{n}");
            assert_eq!(s.document_content("nope").unwrap(), None, "{n}");

            assert!(s.document_pages("doc-a").unwrap().is_empty(), "{n}");
            let pages = vec![
                lrt::extract::Page {
                    number: 1,
                    start: 0,
                    end: 2,
                },
                lrt::extract::Page {
                    number: 2,
                    start: 2,
                    end: 3,
                },
            ];
            s.set_document_pages("doc-a", &pages).unwrap();
            let back = f.open().document_pages("doc-a").unwrap();
            assert_eq!(
                back.iter().map(|p| (p.number, p.start, p.end)).collect::<Vec<_>>(),
                vec![(1, 0, 2), (2, 2, 3)],
                "{n}"
            );

            let pending = s.documents_with_status(&[DocStatus::Pending]).unwrap();
            assert_eq!(ids(&pending), vec!["doc-b", "doc-a"], "{n}");
            s.set_status("doc-b", DocStatus::Processing, None).unwrap();
            s.set_status("doc-a", DocStatus::Failed, Some("boom")).unwrap();
            assert_eq!(s.count_with_status(&[DocStatus::Pending]).unwrap(), 0, "{n}");
            assert_eq!(
                s.count_with_status(&[DocStatus::Processing, DocStatus::Failed])
                    .unwrap(),
                2,
                "{n}"
            );
            assert_eq!(
                s.document("doc-a").unwrap().unwrap().error.as_deref(),
                Some("boom"),
                "{n}"
            );
            assert_eq!(s.requeue_processing().unwrap(), 1, "{n}");
            let b = s.document("doc-b").unwrap().unwrap();
            assert_eq!((b.status, b.error), (DocStatus::Pending, None), "{n}");
            assert_eq!(s.requeue_processing().unwrap(), 0, "{n}");

            s.set_failed_many(&[
                ("doc-a".into(), "first".into()),
                ("doc-b".into(), "second".into()),
                ("doc-a".into(), "last".into()),
            ])
            .unwrap();
            let failed = s.documents_with_status(&[DocStatus::Failed]).unwrap();
            let errors: Vec<(&str, Option<&str>)> =
                failed.iter().map(|d| (d.doc_id.as_str(), d.error.as_deref())).collect();
            assert_eq!(errors, vec![("doc-b", Some("second")), ("doc-a", Some("last"))], "{n}");
            s.set_failed_many(&[]).unwrap();
            // Another KB of the same backend has none of these.
            let other = KbStore::open(&f.location_of(f.tenant, uuid::Uuid::new_v4())).unwrap();
            assert_eq!(other.count_with_status(&[DocStatus::Failed]).unwrap(), 0, "{n}");
            assert_eq!(other.document("doc-a").unwrap().map(|d| d.doc_id), None, "{n}");
        }
    }

    fn answer(response: &str, at: i64) -> CachedAnswer {
        CachedAnswer {
            cache_type: "extract",
            chunk_id: Some("c1".into()),
            response: response.into(),
            at,
        }
    }

    #[test]
    fn the_llm_cache_keeps_the_first_answer_and_drops_answers_older_than_a_commit() {
        for f in backends("the_llm_cache_keeps_the_first_answer_and_drops_answers_older_than_a_commit") {
            let mut s = f.open();
            let n = f.name;
            assert_eq!(s.cache_get("k").unwrap(), None, "{n}");
            s.cache_put("k", &answer("first", 5)).unwrap();
            s.cache_put("k", &answer("second", 6)).unwrap();
            assert_eq!(s.cache_get("k").unwrap(), Some(("first".into(), 5)), "{n}");
            // Many at once, as the ingest writes them: the existing entry is kept.
            let summary = CachedAnswer {
                cache_type: "summary",
                chunk_id: None,
                response: "a summary".into(),
                at: 8,
            };
            s.cache_put_many(&[("k", &answer("third", 7)), ("m", &summary), ("n", &answer("n", 9))])
                .unwrap();
            let got: Vec<_> = ["k", "m", "n"].iter().map(|k| s.cache_get(k).unwrap()).collect();
            let expected = [("first", 5), ("a summary", 8), ("n", 9)].map(|(r, at)| Some((r.to_string(), at)));
            assert_eq!(got, expected, "{n}");
            s.cache_put_many(&[]).unwrap();

            let made_at = s.generation().unwrap();
            s.enqueue("doc-1", "a.txt", "x", "h").unwrap();
            s.commit_document(&DocumentCommit {
                doc_id: "doc-1".into(),
                ..Default::default()
            })
            .unwrap();
            assert_eq!(s.generation().unwrap(), made_at + 1, "{n}");
            s.cache_put_answer("q", &answer("stale", 1), made_at).unwrap();
            assert_eq!(s.cache_get("q").unwrap(), None, "{n}");
            s.cache_put_answer("q", &answer("fresh", 2), made_at + 1).unwrap();
            assert_eq!(s.cache_get("q").unwrap(), Some(("fresh".into(), 2)), "{n}");
            let other = KbStore::open(&f.location_of(f.tenant, uuid::Uuid::new_v4())).unwrap();
            assert_eq!(other.cache_get("k").unwrap(), None, "{n}");
            // A fresh KB is at generation 0: an answer made there is kept.
            other.cache_put_answer("q", &answer("new kb", 3), 0).unwrap();
            assert_eq!(other.cache_get("q").unwrap(), Some(("new kb".into(), 3)), "{n}");
        }
    }

    fn entity(name: &str, chunks: &[&str], description: &str) -> EntityState {
        EntityState {
            name: name.into(),
            entity_type: "person".into(),
            description: description.into(),
            source_ids: chunks.iter().map(|c| c.to_string()).collect(),
            all_source_ids: chunks.iter().map(|c| c.to_string()).collect(),
            file_paths: vec!["a.txt".into()],
            truncate: String::new(),
        }
    }

    fn relation(src: &str, tgt: &str, weight: f64) -> RelationState {
        RelationState {
            src: src.into(),
            tgt: tgt.into(),
            keywords: "knows".into(),
            description: format!("{src} knows {tgt}"),
            weight,
            source_ids: vec!["d1-c0".into()],
            all_source_ids: vec!["d0-c9".into(), "d1-c0".into()],
            file_paths: vec!["a.txt".into(), "b.txt".into()],
            truncate: "FIFO 1/2".into(),
        }
    }

    fn chunk(doc: &str, order: usize, text: &str, pages: Option<(u32, u32)>) -> ChunkRow {
        ChunkRow {
            chunk_id: format!("{doc}-c{order}"),
            order,
            tokens: text.split_whitespace().count(),
            content: text.into(),
            embedding: vec![order as f32, 0.5, 0.0, -1.0],
            pages,
        }
    }

    /// Two documents' commits: the first creates Alice, Bob and their relation; the second adds
    /// Carol, re-embeds Alice and updates Bob and the relation without new vectors.
    fn commits() -> Vec<DocumentCommit> {
        let first = DocumentCommit {
            doc_id: "d1".into(),
            file_path: "a.txt".into(),
            chunks: vec![
                chunk("d1", 0, "Alice met Bob.", Some((1, 1))),
                chunk("d1", 1, "Bob\tknows Alice.", Some((1, 2))),
            ],
            extractions: vec![
                ExtractionRow {
                    chunk_id: "d1-c0".into(),
                    result: "cached answer".into(),
                    glean: Some("gleaned".into()),
                    cache_keys: vec!["default:extract:a".into(), "default:extract:g".into()],
                    extracted_at: 7,
                },
                ExtractionRow {
                    chunk_id: "d1-c1".into(),
                    result: "differs from the cache".into(),
                    glean: None,
                    cache_keys: vec!["default:extract:a".into()],
                    extracted_at: 8,
                },
            ],
            entities: vec![
                (
                    Arc::new(entity("Alice", &["d1-c0"], "A person")),
                    Some(vec![1.0, 0.0, 0.0, 0.0]),
                ),
                (
                    Arc::new(entity("Bob", &["d1-c0", "d1-c1"], "Another")),
                    Some(vec![0.0, 1.0, 0.0, 0.0]),
                ),
            ],
            relations: vec![(Arc::new(relation("Alice", "Bob", 1.5)), Some(vec![0.0, 0.0, 1.0, 0.0]))],
            created_at: 100,
        };
        let second = DocumentCommit {
            doc_id: "d2".into(),
            file_path: "b.txt".into(),
            chunks: vec![chunk("d2", 0, "Carol met Alice.", None)],
            extractions: vec![],
            entities: vec![
                (
                    Arc::new(entity("Carol", &["d2-c0"], "Third")),
                    Some(vec![0.0, 0.0, 0.0, 1.0]),
                ),
                (
                    Arc::new(entity("Alice", &["d1-c0", "d2-c0"], "A person<SEP>met Carol")),
                    Some(vec![0.5, 0.5, 0.0, 0.0]),
                ),
                (Arc::new(entity("Bob", &["d1-c0", "d1-c1"], "Another, updated")), None),
            ],
            relations: vec![
                (
                    Arc::new(relation("Alice", "Carol", 1.0)),
                    Some(vec![1.0, 1.0, 0.0, 0.0]),
                ),
                (Arc::new(relation("Alice", "Bob", 2.0)), None),
            ],
            created_at: 200,
        };
        vec![first, second]
    }

    /// Everything a commit is visible through, keys replaced by their rank (each backend hands out
    /// its own key values; their order is what the indexes rely on).
    fn snapshot(s: &KbStore) -> String {
        let mut out = String::new();
        let stats = s.stats().unwrap();
        out += &format!(
            "stats {} {} {} {}\n",
            stats.documents, stats.chunks, stats.entities, stats.relations
        );
        for kind in VectorKind::ALL {
            out += &format!("{} {}\n", kind.name(), s.vector_count(kind).unwrap());
            let vectors = s.vectors(kind).unwrap();
            let mut keys: Vec<u64> = vectors.iter().map(|(k, _)| *k).collect();
            keys.sort();
            for (k, v) in &vectors {
                out += &format!("  v#{} {v:?}\n", keys.binary_search(k).unwrap());
            }
            let mut texts = s.embedding_texts(kind).unwrap();
            texts.sort_by_key(|(k, _)| *k);
            for (k, t) in texts {
                out += &format!("  t#{} {t:?}\n", keys.binary_search(&k).unwrap());
            }
        }
        for name in ["Alice", "Bob", "Carol", "Dave"] {
            out += &format!("{name}: {:?}\n", s.entity(name).unwrap());
        }
        for (a, b) in [("Bob", "Alice"), ("Alice", "Carol"), ("Bob", "Carol")] {
            out += &format!("{a}-{b}: {:?}\n", s.relation(a, b).unwrap());
        }
        for d in s
            .documents_with_status(&[DocStatus::Processed, DocStatus::Pending])
            .unwrap()
        {
            out += &format!("{} {:?} {} {:?}\n", d.doc_id, d.status, d.chunks_count, d.error);
        }
        out += &format!("generation {}\n", s.generation().unwrap());
        out
    }

    /// The vector changes one commit reported: each collection's name and the rank of its key.
    type Reported = Vec<(&'static str, usize)>;

    #[test]
    fn the_same_commits_leave_the_same_rows_on_every_backend() {
        let mut seen: Vec<(&str, String, Vec<Reported>)> = Vec::new();
        for f in backends("the_same_commits_leave_the_same_rows_on_every_backend") {
            let mut s = f.open();
            let n = f.name;
            s.cache_put("default:extract:a", &answer("cached answer", 1)).unwrap();
            s.cache_put("default:extract:g", &answer("gleaned", 1)).unwrap();
            s.enqueue("d1", "a.txt", "Alice met Bob. Bob knows Alice.", "h1")
                .unwrap();
            s.enqueue("d2", "b.txt", "Carol met Alice.", "h2").unwrap();
            // The changes a commit reports: which collection, and the rank of each key.
            let mut reported = Vec::new();
            for commit in commits() {
                let changes = s.commit_document(&commit).unwrap();
                reported.push(
                    changes
                        .upserts
                        .iter()
                        .map(|(kind, key, v)| {
                            let all = s.vectors(*kind).unwrap();
                            assert!(all.iter().any(|(k, w)| k == key && w == v), "{n}: {key}");
                            let rank = all.iter().filter(|(k, _)| k < key).count();
                            (kind.name(), rank)
                        })
                        .collect(),
                );
            }
            // Reprocessing d1 replaces its chunks (new keys) and changes nothing else.
            let again = s.commit_document(&commits()[0]).unwrap();
            assert_eq!(again.upserts.len(), 5, "{n}");
            if let Some(mut c) = f.pg_client() {
                // An answer the cache holds word for word is stored once (NULL in the row).
                let rows: Vec<(String, Option<String>, Option<String>)> = c
                    .query(
                        "SELECT chunk_id, result, glean FROM kb_extractions ORDER BY chunk_id",
                        &[],
                    )
                    .unwrap()
                    .iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2)))
                    .collect();
                assert_eq!(
                    rows,
                    vec![
                        ("d1-c0".into(), None, None),
                        ("d1-c1".into(), Some("differs from the cache".into()), None)
                    ]
                );
                let links: i64 = c
                    .query_one(
                        "SELECT (SELECT count(*) FROM kb_doc_entities) * 100 + (SELECT count(*) FROM kb_doc_relations)",
                        &[],
                    )
                    .unwrap()
                    .get(0);
                assert_eq!(links, 5 * 100 + 3);
            }
            let reopened = f.open();
            seen.push((n, snapshot(&reopened), reported));
        }
        let (first, snap, reported) = &seen[0];
        assert!(snap.contains("stats 2 3 3 2"), "{snap}");
        assert!(snap.contains("generation 3"), "{snap}");
        assert!(snap.contains("t#0 \"Alice\\nA person\""), "{snap}");
        assert!(snap.contains("t#0 \"Carol met Alice.\""), "{snap}");
        assert!(snap.contains("\"knows\\tAlice\\nBob\\nAlice knows Bob\""), "{snap}");
        for (name, other, theirs) in &seen[1..] {
            assert_eq!(snap, other, "{first} vs {name}");
            assert_eq!(reported, theirs, "{first} vs {name}");
        }
    }

    #[test]
    fn a_commit_naming_a_missing_row_to_update_writes_nothing() {
        for f in backends("a_commit_naming_a_missing_row_to_update_writes_nothing") {
            let mut s = f.open();
            let n = f.name;
            s.enqueue("d2", "b.txt", "Carol met Alice.", "h2").unwrap();
            // The second commit updates Bob and Alice-Bob, which were never stored.
            let err = s.commit_document(&commits()[1]).unwrap_err();
            let message = err.to_string();
            assert_eq!(err.kind(), lrt::error::ErrorKind::Storage, "{n}: {message}");
            assert_eq!(s.stats().unwrap().chunks, 0, "{n}");
            assert_eq!(s.entity("Carol").unwrap(), None, "{n}");
            assert_eq!(s.generation().unwrap(), 0, "{n}");
            assert_eq!(s.document("d2").unwrap().unwrap().status, DocStatus::Pending, "{n}");
        }
    }

    #[test]
    fn embeddings_are_replaced_with_the_pin_at_once() {
        for f in backends("embeddings_are_replaced_with_the_pin_at_once") {
            let mut s = f.open();
            let n = f.name;
            let pin = EmbeddingPin {
                binding: "local".into(),
                model: "m".into(),
                dim: 4,
            };
            s.check_embedding(&pin).unwrap();
            s.check_embedding(&pin).unwrap();
            let other = EmbeddingPin { dim: 8, ..pin.clone() };
            let err = s.check_embedding(&other).unwrap_err();
            assert!(err.to_string().contains("lrt kb reindex --reembed"), "{n}: {err}");
            s.enqueue("d1", "a.txt", "x", "h").unwrap();
            s.commit_document(&commits()[0]).unwrap();
            let before = s.generation().unwrap();
            let mut new = Vec::new();
            for kind in VectorKind::ALL {
                for (key, _) in s.vectors(kind).unwrap() {
                    new.push((kind, key, vec![key as f32; 8]));
                }
            }
            s.replace_embeddings(&new, &other).unwrap();
            assert_eq!(s.generation().unwrap(), before + 1, "{n}");
            assert_eq!(s.embedding_pin().unwrap(), Some(other.clone()), "{n}");
            for kind in VectorKind::ALL {
                for (key, v) in s.vectors(kind).unwrap() {
                    assert_eq!(v, vec![key as f32; 8], "{n}");
                }
            }
            s.check_embedding(&other).unwrap();
        }
    }

    #[test]
    fn one_ingest_lock_per_kb_and_a_waiter_can_give_up() {
        use lrt::store::lock::KbLock;
        for f in backends("one_ingest_lock_per_kb_and_a_waiter_can_give_up") {
            let n = f.name;
            let at = f.location();
            assert!(!KbLock::is_held(&at).unwrap(), "{n}");
            let held = KbLock::acquire(&at, || panic!("nobody holds it")).unwrap();
            assert!(KbLock::is_held(&at).unwrap(), "{n}");
            let mut asked = false;
            let refused = KbLock::acquire(&at, || {
                asked = true;
                Err(lrt::Error::Conflict("busy".into()))
            });
            assert!(asked && refused.is_err(), "{n}");
            assert!(KbLock::try_acquire(&at).unwrap().is_none(), "{n}");
            // Another KB's lock is its own.
            let other = f.location_of(f.tenant, uuid::Uuid::new_v4());
            let _other = KbLock::try_acquire(&other).unwrap().expect(n);
            // A waiter gets the lock once the holder lets go.
            let waiter = std::thread::spawn(move || {
                let mut waited = false;
                let lock = KbLock::acquire(&at, || {
                    waited = true;
                    Ok(())
                })
                .unwrap();
                drop(lock);
                waited
            });
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(held);
            assert!(waiter.join().unwrap(), "{n}");
            assert!(!KbLock::is_held(&f.location()).unwrap(), "{n}");
        }
    }

    #[test]
    fn another_handle_sees_a_commit_through_the_generation() {
        for f in backends("another_handle_sees_a_commit_through_the_generation") {
            let n = f.name;
            let (mut writer, reader) = (f.open(), f.open());
            let before = reader.generation().unwrap();
            writer.enqueue("d1", "a.txt", "x", "h").unwrap();
            writer.commit_document(&commits()[0]).unwrap();
            // What a cached query engine compares to notice another process's (replica's) commit.
            assert_eq!(reader.generation().unwrap(), before + 1, "{n}");
            assert_eq!(reader.stats().unwrap().entities, 2, "{n}");
        }
    }

    /// Ends the PostgreSQL session holding the fixture KB's ingest lock (its process lives on)
    /// and waits until the server has freed the lock; the sessions ended.
    fn end_lock_session(f: &common::kbstore::KbFixture) -> usize {
        let ended = common::pg_cluster::end_lock_sessions(&mut f.pg_client().expect("postgres"), f.tenant, f.kb);
        // The server frees the lock once the session is gone.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while lrt::store::lock::KbLock::is_held(&f.location()).unwrap() {
            assert!(std::time::Instant::now() < deadline, "the lock outlived its session");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        ended
    }

    /// A holder whose lock's session was lost while its process lives (PostgreSQL): once another
    /// process holds the lock, every write of a store opened under the old holding is refused
    /// with `LockLost` and changes nothing, while the new holder's go through. A file lock
    /// (SQLite) cannot be lost: the same calls just work there.
    #[test]
    fn writes_under_a_lost_ingest_lock_are_refused_and_change_nothing() {
        use lrt::store::lock::KbLock;
        for f in backends("writes_under_a_lost_ingest_lock_are_refused_and_change_nothing") {
            let n = f.name;
            let first = KbLock::acquire(&f.location(), || panic!("nobody holds it")).unwrap();
            let mut stale = KbStore::open(first.location()).unwrap();
            stale.enqueue("d1", "a.txt", "x", "h1").unwrap();
            stale.enqueue("d2", "b.txt", "y", "h2").unwrap();
            stale.set_status("d1", DocStatus::Processing, None).unwrap();
            if n != "postgres" {
                assert_eq!(first.epoch(), None, "{n}");
                stale.commit_document(&commits()[0]).unwrap();
                continue;
            }
            assert_eq!(end_lock_session(&f), 1, "{n}");
            let second = KbLock::acquire(&f.location(), || panic!("the lost lock is free")).unwrap();
            assert_eq!(second.epoch(), first.epoch().map(|e| e + 1), "{n}");
            let generation = stale.generation().unwrap();

            let refused = |r: lrt::Result<()>, what: &str| {
                assert!(matches!(r, Err(lrt::Error::LockLost(_))), "{what}: {r:?}");
            };
            refused(stale.commit_document(&commits()[0]).map(drop), "commit");
            refused(stale.set_status("d2", DocStatus::Processing, None), "status");
            refused(stale.set_failed_many(&[("d2".into(), "x".into())]), "failures");
            refused(stale.requeue_processing().map(drop), "requeue");
            let err = stale.commit_document(&commits()[0]).unwrap_err();
            assert_eq!(err.kind(), lrt::ErrorKind::Conflict);
            assert!(err.to_string().contains("ingest lock was lost"), "{err}");
            let statuses: Vec<(String, DocStatus)> = stale
                .documents_with_status(&[DocStatus::Pending, DocStatus::Processing, DocStatus::Processed])
                .unwrap()
                .into_iter()
                .map(|d| (d.doc_id, d.status))
                .collect();
            assert_eq!(
                statuses,
                [("d1".into(), DocStatus::Processing), ("d2".into(), DocStatus::Pending)],
                "{n}"
            );
            assert_eq!(stale.generation().unwrap(), generation, "{n}");
            assert_eq!(stale.stats().unwrap().chunks, 0, "{n}");

            // The new holder's writes go through, and the old holding's stay refused.
            let mut holder = KbStore::open(second.location()).unwrap();
            holder.requeue_processing().unwrap();
            holder.commit_document(&commits()[0]).unwrap();
            assert_eq!(holder.generation().unwrap(), generation + 1, "{n}");
            refused(
                stale.set_status("d1", DocStatus::Failed, Some("late")),
                "after the takeover",
            );
            assert_eq!(holder.stats().unwrap().documents, 1, "{n}");
            drop(first);
            // Dropping the lost holding released nothing of the new one's.
            assert!(KbLock::is_held(&f.location()).unwrap(), "{n}");
        }
    }
}
