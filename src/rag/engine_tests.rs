//! The engine against a scripted model on 127.0.0.1: what upstream 1.5.7 stores and embeds
//! for the same records (full chunk lists of untouched rows, which rows are embedded again),
//! and that a batch's graph does not depend on timing.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::*;
use crate::llm::{Binding, ProviderConfig};

const DIM: usize = 8;

/// A model whose extraction answers are written in the chunk itself: each line
/// `A|B|sentence` gives entity records for A and B (described by the sentence) and a relation
/// A–B; `A>B|sentence` gives only the relation. Extraction answers arrive after a random
/// delay of up to `jitter_ms`, so documents and chunks finish in a different order every run.
struct Scripted {
    jitter_ms: u64,
    state: AtomicU64,
}

impl Scripted {
    fn delay(&self) -> Duration {
        if self.jitter_ms == 0 {
            return Duration::ZERO;
        }
        // xorshift over a shared state seeded from the clock: differs from run to run.
        let mut x = self.state.load(Ordering::Relaxed);
        if x == 0 {
            x = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.store(x, Ordering::Relaxed);
        Duration::from_millis(x % self.jitter_ms)
    }
}

fn records(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((names, sentence)) = line.rsplit_once('|') else {
            continue;
        };
        let (a, b, relation_only) = match (names.split_once('|'), names.split_once('>')) {
            (Some((a, b)), _) => (a, b, false),
            (None, Some((a, b))) => (a, b, true),
            (None, None) => continue,
        };
        if !relation_only {
            for name in [a, b] {
                out.push(format!("entity<|#|>{name}<|#|>person<|#|>{name} in: {sentence}"));
            }
        }
        out.push(format!("relation<|#|>{a}<|#|>{b}<|#|>meeting<|#|>{sentence}"));
    }
    out.push("<|COMPLETE|>".into());
    out.join("\n")
}

fn chat(answer: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]
    }))
}

fn embedding_inputs(request: &Request) -> Vec<String> {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// A vector that differs with the text (only its stability matters here).
fn vector(text: &str) -> Vec<f32> {
    let h = ids::compute_mdhash_id(text, "");
    h.bytes().take(DIM).map(|b| f32::from(b) + 1.0).collect()
}

impl Respond for Scripted {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.url.path().ends_with("/embeddings") {
            let data: Vec<Value> = embedding_inputs(request)
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"index": i, "embedding": vector(t)}))
                .collect();
            return ResponseTemplate::new(200).set_body_json(json!({ "data": data }));
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let messages = body["messages"].as_array().unwrap();
        let last = messages.last().unwrap()["content"].as_str().unwrap();
        let chunk = prompts::extraction_text(last);
        match chunk {
            Some(text) => chat(&records(text)).set_delay(self.delay()),
            None if messages.len() > 2 => chat("<|COMPLETE|>"),
            // The summary names the fragments' order, so that the order stays visible.
            None => chat(&format!("Summary {}.", &ids::compute_mdhash_id(last, "")[..8])),
        }
    }
}

async fn model(jitter_ms: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Scripted {
            jitter_ms,
            state: AtomicU64::new(0),
        })
        .mount(&server)
        .await;
    server
}

fn provider(server: &MockServer, model: &str) -> Provider {
    Provider::new(&ProviderConfig {
        binding: Binding::Openai,
        model: model.into(),
        host: Some(server.uri()),
        api_key: Some("sk-test".into()),
        timeout: Duration::from_secs(30),
        max_retries: 0,
        backoff: Duration::from_millis(10),
        dim: DIM,
    })
    .unwrap()
}

fn engine(dir: &Path, server: &MockServer, options: EngineOptions) -> Arc<Engine> {
    let options = EngineOptions {
        max_gleaning: 0,
        embed_batch: 1,
        ..options
    };
    Arc::new(
        Engine::open(
            &crate::store::KbLocation::sqlite(dir),
            provider(server, "chat"),
            provider(server, "embed"),
            options,
        )
        .unwrap(),
    )
}

fn doc(path: &str, content: &str) -> NewDocument {
    NewDocument {
        file_path: path.into(),
        content: content.into(),
        pages: Vec::new(),
    }
}

fn limits(entity: usize, relation: usize) -> MergeLimits {
    MergeLimits {
        max_source_ids_per_entity: entity,
        max_source_ids_per_relation: relation,
        ..MergeLimits::default()
    }
}

/// Every entity and relation row as stored (full chunk lists included), in name order.
fn rows(engine: &Engine) -> (Vec<EntityState>, Vec<RelationState>) {
    let store = engine.store();
    let (nodes, edges) = store.graph().unwrap();
    let entities = nodes
        .iter()
        .map(|n| store.entity(&n.entity_id).unwrap().unwrap())
        .collect();
    let relations = edges
        .iter()
        .map(|e| store.relation(&e.source, &e.target).unwrap().unwrap())
        .collect();
    (entities, relations)
}

/// The texts embedded since `from` requests.
async fn embedded(server: &MockServer, from: usize) -> Vec<String> {
    let requests = server.received_requests().await.unwrap();
    requests[from.min(requests.len())..]
        .iter()
        .filter(|r| r.url.path().ends_with("/embeddings"))
        .flat_map(embedding_inputs)
        .collect()
}

/// The entities embedded since `from` requests (entity texts are `name\ndescription`;
/// relation texts start with keywords and a tab).
async fn embedded_entities(server: &MockServer, from: usize) -> Vec<String> {
    embedded(server, from)
        .await
        .iter()
        .filter(|t| !t.contains('\t') && !t.contains('|'))
        .filter_map(|t| t.split_once('\n').map(|(name, _)| name.to_string()))
        .collect()
}

async fn requests_so_far(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// Five documents name Ada and Bob together. With room for two chunks per row, the last
/// three leave both entities and their relation untouched (KEEP), but, as upstream writes
/// `entity_chunks`/`relation_chunks` before skipping, their full chunk lists still grow: the
/// same lists as with room for every chunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untouched_rows_keep_their_grown_full_chunk_lists() {
    let server = model(0).await;
    let docs: Vec<NewDocument> = (0..5)
        .map(|i| doc(&format!("d{i}.md"), &format!("Ada|Bob|In year {i}, Ada met Bob.")))
        .collect();
    let mut graphs = Vec::new();
    for limits in [limits(2, 2), MergeLimits::default()] {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(
            dir.path(),
            &server,
            EngineOptions {
                limits,
                ..EngineOptions::default()
            },
        );
        for d in &docs {
            engine.ingest(vec![d.clone()], false).await.unwrap();
        }
        graphs.push(rows(&engine));
    }
    let (limited, full) = (&graphs[0], &graphs[1]);
    let ada = &limited.0[0];
    assert_eq!(ada.name, "Ada");
    // Untouched rows are not rewritten: the limited list (and the `truncate` flag written when
    // it filled up) stay as they were.
    assert_eq!((ada.source_ids.len(), ada.truncate.as_str()), (2, ""));
    assert_eq!(ada.all_source_ids.len(), 5, "{ada:?}");
    for (a, b) in limited.0.iter().zip(&full.0) {
        assert_eq!(a.all_source_ids, b.all_source_ids, "entity {}", a.name);
    }
    let (rel, rel_full) = (&limited.1[0], &full.1[0]);
    assert_eq!(rel.source_ids.len(), 2);
    assert_eq!(rel.all_source_ids, rel_full.all_source_ids);
    assert_eq!(rel.all_source_ids.len(), 5);
}

/// Upstream embeds a stored entity again only when it is merged or when a relation changes
/// its (limited) chunk list; an endpoint at its chunk limit keeps its vector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_are_embedded_again_only_when_their_chunk_list_changes() {
    let server = model(0).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(
        dir.path(),
        &server,
        EngineOptions {
            limits: limits(2, 200),
            ..EngineOptions::default()
        },
    );
    for i in 0..2 {
        let d = doc(&format!("d{i}.md"), &format!("Ada|Bob|In year {i}, Ada met Bob."));
        engine.ingest(vec![d], false).await.unwrap();
    }
    // Ada is full: her record here comes from a cut chunk (untouched), and the new relation
    // credits her nothing she can keep. Carol is new.
    let from = requests_so_far(&server).await;
    let content = "Ada|Carol|Ada met Carol.";
    engine.ingest(vec![doc("d2.md", content)], false).await.unwrap();
    let mut texts = embedded(&server, from).await;
    texts.sort();
    assert_eq!(
        texts,
        vec![
            content.to_string(),
            "Carol\nCarol in: Ada met Carol.".to_string(),
            "meeting\tAda\nCarol\nAda met Carol.".to_string(),
        ]
    );
    // Bob has room for no more chunks either, Dan has: a relation-only record makes Dan a
    // new endpoint; Bob's list does not change, so he is not embedded again.
    let from = requests_so_far(&server).await;
    engine
        .ingest(vec![doc("d3.md", "Bob>Dan|Bob wrote to Dan.")], false)
        .await
        .unwrap();
    let names = embedded_entities(&server, from).await;
    assert!(names.contains(&"Dan".to_string()), "{names:?}");
    assert!(!names.contains(&"Bob".to_string()), "{names:?}");
    // With room left, an existing endpoint credited with a new chunk is embedded again,
    // as upstream re-upserts its vector row.
    let from = requests_so_far(&server).await;
    engine
        .ingest(vec![doc("d4.md", "Dan>Carol|Dan called Carol.")], false)
        .await
        .unwrap();
    let names = embedded_entities(&server, from).await;
    assert!(names.contains(&"Dan".to_string()) && names.contains(&"Carol".to_string()));
}

/// A batch ingested at once, with extractions finishing in a random order, builds exactly the
/// graph its documents build ingested one at a time in the order given, every time:
/// documents merge in queue order and a document's fragments sort longest first, then in
/// chunk order, whatever the clock says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_builds_the_same_graph_every_time_and_as_its_files_one_by_one() {
    let server = model(30).await;
    // Several chunks per document (a small chunk size) naming the same people, so that
    // descriptions are made of many fragments from several chunks and documents.
    let people = ["Ada", "Bob", "Carol", "Dan"];
    let docs: Vec<NewDocument> = (0..6)
        .map(|d| {
            let lines: Vec<String> = (0..12)
                .map(|s| {
                    let a = people[(d + s) % 4];
                    let b = people[(d + 2 * s + 1) % 4];
                    let b = if a == b { people[(d + s + 1) % 4] } else { b };
                    let pad = "x".repeat((d * 7 + s * 5) % 13);
                    format!("{a}|{b}|Document {d} line {s}: {a} and {b} {pad}.")
                })
                .collect();
            doc(&format!("notes{d}.md"), &lines.join("\n"))
        })
        .collect();
    let options = || EngineOptions {
        chunk_size: 60,
        chunk_overlap: 0,
        max_parallel_insert: 3,
        ..EngineOptions::default()
    };
    let mut graphs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path(), &server, options());
        let report = engine.ingest(docs.clone(), false).await.unwrap();
        assert_eq!(report.added, docs.len());
        assert!(report.chunks > 2 * docs.len(), "{} chunks", report.chunks);
        graphs.push(rows(&engine));
    }
    let dir = tempfile::tempdir().unwrap();
    let serial = engine(dir.path(), &server, options());
    for d in &docs {
        serial.ingest(vec![d.clone()], false).await.unwrap();
    }
    let serial = rows(&serial);
    assert!(
        serial.0.iter().any(|e| e.description.matches(merge::SEP).count() >= 3),
        "descriptions of several fragments"
    );
    assert_eq!(graphs[0], graphs[1], "two runs of the same batch");
    assert_eq!(graphs[0], serial, "the batch against its files one by one");
}

/// `lrt ingest F1 … Fn` queues the files in the order given and processes them in that order
/// (not in the order of their content ids).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_processed_in_the_order_given() {
    let server = model(0).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(
        dir.path(),
        &server,
        EngineOptions {
            max_parallel_insert: 1,
            ..EngineOptions::default()
        },
    );
    let names = ["zeta", "alpha", "mid", "beta", "omega", "gamma"];
    let docs: Vec<NewDocument> = names
        .iter()
        .map(|n| doc(&format!("{n}.md"), &format!("{n}|Other|{n} met Other.")))
        .collect();
    engine.ingest(docs, false).await.unwrap();
    let extracted: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/chat/completions"))
        .filter_map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let last = body["messages"].as_array()?.last()?["content"].as_str()?.to_string();
            names
                .iter()
                .find(|n| last.contains(&format!("{n}|Other")))
                .map(|n| n.to_string())
        })
        .collect();
    assert_eq!(extracted, names);
}

/// A chunk's `tokens` is its stored (decoded, stripped) text counted again, as upstream's
/// `enforce_chunk_token_limit_before_embedding` records it, not the length of the token
/// window it was cut from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunk_tokens_count_the_stored_text() {
    let server = model(0).await;
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        chunk_size: 7,
        chunk_overlap: 0,
        ..EngineOptions::default()
    };
    // Runs of spaces and newlines: windows that start or end inside them lose tokens to
    // stripping, and words cut from their leading space encode differently.
    let content = "Ada|Bob|Ada   met    Bob.\n\n\n   Then  \n Bob|Carol|Bob   wrote \n\n to Carol    again.   \n";
    let tok = Tokenizer::global();
    let windows = chunk::chunk_by_token_size(tok, content, None, false, 0, 7).unwrap();
    assert!(
        windows
            .iter()
            .any(|c| !c.content.is_empty() && c.tokens != tok.count(&c.content)),
        "the text must have a window whose stripped text counts differently"
    );
    let engine = engine(dir.path(), &server, options);
    engine.ingest(vec![doc("t.md", content)], false).await.unwrap();
    let store = crate::store::kb::KbStore::open_read_only(&crate::store::KbLocation::sqlite(dir.path()))
        .unwrap()
        .unwrap();
    let doc_id = store.list_documents(None, 0, 10).unwrap().0[0].doc_id.clone();
    let detail = store.document_detail(&doc_id).unwrap().unwrap();
    let contents: Vec<String> = windows
        .into_iter()
        .map(|c| c.content)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(detail.chunks.len(), contents.len());
    for (chunk, text) in detail.chunks.iter().zip(&contents) {
        assert_eq!(chunk.tokens as usize, tok.count(text), "{text:?}");
    }
}
