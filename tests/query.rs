//! `lrt query`: every mode against a graph built through a mocked OpenAI-compatible server
//! (fixed extraction records, keyword answers and term-count embeddings, so retrieval is
//! known exactly), the LLM cache, history and streaming, the offline `local` provider end
//! to end, authorization, and bad inputs.

mod common;

use common::{Lrt, ROOT};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CURIE: &str = "Marie Curie was a Polish physicist who worked at the University of Paris. \
In 1898 she and her husband Pierre Curie discovered polonium and radium in Paris. \
Marie Curie shared the Nobel Prize in Physics with Henri Becquerel in 1903.";
const NASA: &str = "NASA was founded in 1958 in Washington. The agency ran the Apollo program, \
and Neil Armstrong walked on the Moon in 1969.";

const CURIE_RECORDS: &str = "entity<|#|>Marie Curie<|#|>Person<|#|>Marie Curie was a physicist who discovered radium.
entity<|#|>Pierre Curie<|#|>Person<|#|>Pierre Curie was a physicist.
entity<|#|>Radium<|#|>NaturalObject<|#|>Radium is an element found in 1898.
entity<|#|>University of Paris<|#|>Organization<|#|>A university in Paris.
relation<|#|>Marie Curie<|#|>Pierre Curie<|#|>marriage, research<|#|>Marie and Pierre Curie worked together.
relation<|#|>Marie Curie<|#|>Radium<|#|>scientific discovery<|#|>Marie Curie discovered radium.
relation<|#|>Marie Curie<|#|>University of Paris<|#|>employment<|#|>Marie Curie worked at the University of Paris.
<|COMPLETE|>";
const NASA_RECORDS: &str = "entity<|#|>NASA<|#|>Organization<|#|>NASA is the space agency.
entity<|#|>Apollo Program<|#|>Event<|#|>The Apollo program landed people on the Moon.
entity<|#|>Neil Armstrong<|#|>Person<|#|>Neil Armstrong walked on the Moon.
relation<|#|>NASA<|#|>Apollo Program<|#|>space exploration<|#|>NASA ran the Apollo program.
relation<|#|>Neil Armstrong<|#|>Apollo Program<|#|>moon landing<|#|>Neil Armstrong flew on an Apollo mission.
<|COMPLETE|>";

/// The embedding features: how often each term occurs (plus a small constant, so no vector
/// is zero). Texts about different things are orthogonal, so every search result is known.
const TERMS: [&str; 9] = [
    "curie",
    "radium",
    "paris",
    "nasa",
    "apollo",
    "armstrong",
    "moon",
    "discover",
    "space",
];

struct Embeddings;

impl Respond for Embeddings {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        common::model::term_embeddings(request, &TERMS)
    }
}

/// Answers extraction, keyword and answer requests by what they ask for.
struct Chat;

fn completion(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
    }))
}

impl Respond for Chat {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let messages = body["messages"].as_array().unwrap();
        let first = messages[0]["content"].as_str().unwrap();
        let last = messages.last().unwrap()["content"].as_str().unwrap();
        if first.starts_with("You build a knowledge graph") {
            let text = match messages.len() {
                4 => "<|COMPLETE|>",
                _ if last.contains("Curie") => CURIE_RECORDS,
                _ => NASA_RECORDS,
            };
            return completion(text);
        }
        if body["response_format"]["type"] == "json_object" {
            let question = last.rsplit("Question:").next().unwrap();
            let text = if question.contains("Curie") {
                r#"{"high_level_keywords": ["scientific discovery"], "low_level_keywords": ["Marie Curie"]}"#
            } else if question.contains("NASA") {
                r#"{"high_level_keywords": ["space exploration"], "low_level_keywords": ["NASA"]}"#
            } else {
                r#"{"high_level_keywords": [], "low_level_keywords": []}"#
            };
            return completion(text);
        }
        let answer = format!("Answer to: {last}");
        if body["stream"] == true {
            let (a, b) = answer.split_at(answer.len() / 2);
            let event = |t: &str| format!("data: {}\n\n", json!({"choices": [{"delta": {"content": t}}]}));
            let sse = format!("{}{}data: [DONE]\n\n", event(a), event(b));
            return ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_raw(sse, "text/event-stream");
        }
        completion(&answer)
    }
}

fn openai_env(server: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("LLM_BINDING", "openai".into()),
        ("LLM_BINDING_HOST", server.uri()),
        ("LLM_BINDING_API_KEY", "sk-test".into()),
        ("LLM_MODEL", "mock-chat".into()),
        ("EMBEDDING_BINDING", "openai".into()),
        ("EMBEDDING_BINDING_HOST", server.uri()),
        ("EMBEDDING_MODEL", "mock-embed".into()),
        ("EMBEDDING_DIM", "10".into()),
        ("LRT_LLM_MAX_RETRIES", "0".into()),
        ("LRT_EMBEDDING_MAX_RETRIES", "0".into()),
    ]
}

/// A tenant `acme` (admin alice) with a KB `docs`, and `curie.md` and `nasa.txt` in the
/// directory lrt runs in, so that their file paths are just their names. Returns the ingest
/// arguments for both files and for `curie.md` alone.
fn setup() -> (Lrt, &'static str, &'static str) {
    let lrt = Lrt::with_init(&["--multi-tenant"]);
    lrt.tenant("acme", Some("alice"));
    assert!(lrt.run_as(ROOT, &["kb", "create", "-t", "acme", "docs"]).ok());
    let home = lrt.root().join("home");
    std::fs::write(home.join("curie.md"), CURIE).unwrap();
    std::fs::write(home.join("nasa.txt"), NASA).unwrap();
    (lrt, "curie.md", "nasa.txt")
}

struct Kb<'a> {
    lrt: &'a Lrt,
    env: Vec<(&'static str, String)>,
}

impl Kb<'_> {
    fn run(&self, args: &[&str]) -> common::Run {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut all = vec!["query", "-t", "acme", "--kb", "docs"];
        all.extend_from_slice(args);
        self.lrt.run(Some("alice"), &env, &all)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let run = self.run(&all);
        assert_eq!(run.code, 0, "query {args:?} failed: {}", run.stderr);
        run.json()
    }
}

fn names(v: &Value) -> Vec<String> {
    v["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entity_name"].as_str().unwrap().to_string())
        .collect()
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["src_id"].as_str().unwrap().to_string(),
                r["tgt_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn chunk_files(v: &Value) -> Vec<String> {
    v["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}:{}",
                c["reference_id"].as_str().unwrap(),
                c["file_path"].as_str().unwrap()
            )
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_retrieves_exactly_what_the_graph_and_vectors_say() {
    let (lrt, curie, nasa) = setup();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Chat)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(Embeddings)
        .mount(&server)
        .await;
    let kb = Kb {
        lrt: &lrt,
        env: openai_env(&server),
    };
    let env: Vec<(&str, &str)> = kb.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ingest = lrt.run(
        Some("alice"),
        &env,
        &["ingest", "-t", "acme", "--kb", "docs", curie, nasa],
    );
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);

    const Q: &str = "What did Marie Curie discover?";
    // local: entities by "Marie Curie" (Pierre's vector is the closer one), then all their
    // relations ranked by edge degree (all 4 here) and weight, in stored order.
    let local = kb.json(&["--mode", "local", Q]);
    assert_eq!(local["mode"], "local");
    assert_eq!(
        local["keywords"],
        json!({"high": ["scientific discovery"], "low": ["Marie Curie"]})
    );
    assert_eq!(names(&local), ["Pierre Curie", "Marie Curie"]);
    assert_eq!(
        pairs(&local),
        [
            pair("Marie Curie", "Pierre Curie"),
            pair("Marie Curie", "Radium"),
            pair("Marie Curie", "University of Paris")
        ]
    );
    assert_eq!(chunk_files(&local), ["1:curie.md"]);
    assert_eq!(
        local["references"],
        json!([{"reference_id": "1", "file_path": "curie.md", "cited": false}])
    );
    assert_eq!(local["answer"], format!("Answer to: {Q}"));
    assert_eq!(
        (local["llm_calls"].as_u64(), local["cache_hits"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(local["warnings"], json!([]));
    assert_eq!(local["entities"][0]["reference_id"], "1");

    // global: relations by "scientific discovery", then their endpoints.
    let global = kb.json(&["--mode", "global", Q]);
    assert_eq!(pairs(&global), [pair("Marie Curie", "Radium")]);
    assert_eq!(names(&global), ["Marie Curie", "Radium"]);

    // hybrid: local and global merged round-robin, deduplicated.
    let hybrid = kb.json(&["--mode", "hybrid", Q]);
    assert_eq!(names(&hybrid), ["Pierre Curie", "Marie Curie", "Radium"]);
    assert_eq!(pairs(&hybrid), pairs(&local));

    // mix adds the chunk vectors of the raw question: the Curie chunk, already there.
    let mix = kb.json(&[Q]);
    assert_eq!(mix["mode"], "mix");
    assert_eq!(names(&mix), names(&hybrid));
    assert_eq!(chunk_files(&mix), ["1:curie.md"]);

    // naive: chunk vectors only.
    let naive = kb.json(&["--mode", "naive", "When was NASA founded?"]);
    assert_eq!(chunk_files(&naive), ["1:nasa.txt"]);
    assert_eq!((names(&naive).len(), pairs(&naive).len()), (0, 0));
    assert_eq!(naive["keywords"], json!({"high": [], "low": []}));
    assert_eq!(naive["llm_calls"].as_u64(), Some(1));

    // The rendered context: four blocks, Python-style JSON lines.
    let run = kb.run(&["--mode", "local", "--only-context", Q]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let context = run.stdout;
    for line in [
        "Knowledge Graph Data (Entity):",
        r#"{"entity": "Pierre Curie", "type": "person", "description": "Pierre Curie was a physicist."}"#,
        r#"{"entity1": "Marie Curie", "entity2": "Radium", "description": "Marie Curie discovered radium."}"#,
        &format!("{{\"reference_id\": \"1\", \"content\": \"{CURIE}\"}}"),
        "[1] curie.md",
    ] {
        assert!(context.contains(line), "missing {line:?} in:\n{context}");
    }
    let entity_block = context.find("Knowledge Graph Data (Entity)").unwrap();
    let relation_block = context.find("Knowledge Graph Data (Relationship)").unwrap();
    let chunk_block = context.find("Document Chunks").unwrap();
    let reference_block = context.find("Reference Document List").unwrap();
    assert!(entity_block < relation_block && relation_block < chunk_block && chunk_block < reference_block);

    // A tight entity budget keeps whole entities only.
    let tight = kb.json(&["--mode", "local", "--max-entity-tokens", "30", Q]);
    assert_eq!(names(&tight), ["Pierre Curie"]);
    assert!(tight["tokens"]["entities"].as_u64().unwrap() <= 30);

    // --only-prompt in JSON: the prompt and the context, no answer.
    let prompt = kb.json(&[
        "--mode",
        "local",
        "--only-prompt",
        "--user-prompt",
        "Answer in French.",
        Q,
    ]);
    assert!(prompt["answer"].is_null());
    let text = prompt["prompt"].as_str().unwrap();
    assert!(text.contains("Answer in French.") && text.ends_with(&format!("---User Query---\n\n{Q}")));
    assert!(text.contains(prompt["context"].as_str().unwrap()));
    assert!(prompt["tokens"]["prompt"].as_u64().unwrap() > 100);

    // The answer request: the context as the system prompt, the question as the user turn.
    let requests = server.received_requests().await.unwrap();
    let answer_req: Value = requests
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .find(|b| {
            b["messages"][0]["content"]
                .as_str()
                .is_some_and(|s| s.contains("---Context---"))
        })
        .expect("an answer request");
    assert_eq!(answer_req["messages"][0]["role"], "system");
    assert!(
        answer_req["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("[1] curie.md")
    );
    assert_eq!(answer_req["messages"][1], json!({"role": "user", "content": Q}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_history_streaming_bypass_and_missing_keywords() {
    let (lrt, curie, nasa) = setup();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Chat)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(Embeddings)
        .mount(&server)
        .await;
    let kb = Kb {
        lrt: &lrt,
        env: openai_env(&server),
    };
    let env: Vec<(&str, &str)> = kb.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(
        lrt.run(
            Some("alice"),
            &env,
            &["ingest", "-t", "acme", "--kb", "docs", curie, nasa]
        )
        .ok()
    );
    const Q: &str = "Tell me about NASA";

    // Keywords and answer are cached ({mode}:keywords / {mode}:query), per mode.
    let first = kb.json(&["--mode", "local", Q]);
    assert_eq!(
        (first["llm_calls"].as_u64(), first["cache_hits"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(names(&first), ["NASA"]);
    let again = kb.json(&["--mode", "local", Q]);
    assert_eq!(
        (again["llm_calls"].as_u64(), again["cache_hits"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(again["answer"], first["answer"]);
    let uncached = kb.json(&["--mode", "local", "--no-cache", Q]);
    assert_eq!(
        (uncached["llm_calls"].as_u64(), uncached["cache_hits"].as_u64()),
        (Some(2), Some(0))
    );
    let other_mode = kb.json(&["--mode", "global", Q]);
    assert_eq!(other_mode["cache_hits"].as_u64(), Some(0));

    // With history: the turns are sent, and the answer is neither read from nor written to the cache.
    let history = lrt.root().join("history.json");
    std::fs::write(
        &history,
        r#"[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]"#,
    )
    .unwrap();
    let h = history.to_str().unwrap();
    for _ in 0..2 {
        let with_history = kb.json(&["--mode", "local", "--history", h, Q]);
        assert_eq!(
            (with_history["llm_calls"].as_u64(), with_history["cache_hits"].as_u64()),
            (Some(1), Some(1)),
            "keywords cached, answer not: {with_history}"
        );
    }
    let requests = server.received_requests().await.unwrap();
    let last: Value = serde_json::from_slice(&requests.last().unwrap().body).unwrap();
    let roles: Vec<&str> = last["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);

    // Streaming prints the pieces as they come; it is never cached.
    for _ in 0..2 {
        let run = kb.run(&["--mode", "local", "--stream", Q]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout, format!("Answer to: {Q}\n"));
    }
    let streamed = kb.json(&["--mode", "local", "--stream", Q]);
    assert_eq!(streamed["answer"], format!("Answer to: {Q}"));
    assert_eq!(streamed["llm_calls"].as_u64(), Some(1));

    // Bypass: straight to the model, no retrieval.
    let bypass = kb.json(&["--mode", "bypass", Q]);
    assert_eq!(bypass["answer"], format!("Answer to: {Q}"));
    assert_eq!((names(&bypass).len(), chunk_files(&bypass).len()), (0, 0));

    // Only high-level keywords in local mode: no silent switch to global; a warning instead.
    let run = kb.run(&["--mode", "local", "--hl-keywords", "space exploration", Q]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("[no-context]"), "{}", run.stdout);
    assert!(run.stderr.contains("warning: no low-level keywords"), "{}", run.stderr);
    let global = kb.json(&["--mode", "global", "--hl-keywords", "space exploration", Q]);
    assert_eq!(pairs(&global), [pair("Apollo Program", "NASA")]);
    assert_eq!(global["keywords"], json!({"high": ["space exploration"], "low": []}));
    let hybrid = kb.json(&["--mode", "hybrid", "--hl-keywords", "space exploration", Q]);
    assert_eq!(hybrid["warnings"].as_array().unwrap().len(), 1, "{hybrid}");
    assert_eq!(pairs(&hybrid), pairs(&global));

    // No keywords at all: a short question stands in for them; a long one gets no context.
    let short = kb.json(&["--mode", "local", "What is up?"]);
    assert_eq!(short["keywords"]["low"], json!(["What is up?"]));
    let long_q = "Could you please tell me something interesting about whatever is stored here?";
    let long = kb.json(&["--mode", "local", long_q]);
    assert_eq!(long["no_context"], true);
    assert_eq!(
        long["answer"],
        "Sorry, I'm not able to provide an answer to that question.[no-context]"
    );
}

#[test]
fn the_local_provider_answers_with_the_fact_and_its_reference() {
    let (lrt, curie, nasa) = setup();
    assert!(
        lrt.run_as("alice", &["ingest", "-t", "acme", "--kb", "docs", curie, nasa])
            .ok()
    );
    let out = lrt.json_as(
        "alice",
        &["query", "-t", "acme", "--kb", "docs", "When was NASA founded?"],
    );
    let refs = out["references"].as_array().unwrap();
    let nasa_ref = refs
        .iter()
        .find(|r| r["file_path"] == "nasa.txt")
        .expect("nasa.txt is a reference")["reference_id"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = out["answer"].as_str().unwrap();
    assert!(
        answer.starts_with(&format!("NASA was founded in 1958 in Washington. [{nasa_ref}]")),
        "{answer}"
    );
    assert!(answer.contains(&format!("* [{nasa_ref}] nasa.txt")), "{answer}");
    assert!(!answer.contains("Curie"), "{answer}");
    // References are numbered in order of first citation; the uncited ones come after, marked.
    assert_eq!(nasa_ref, "1");
    for (i, r) in refs.iter().enumerate() {
        assert_eq!(r["reference_id"], (i + 1).to_string());
        assert_eq!(r["cited"], r["file_path"] == "nasa.txt", "{r}");
    }
    // The JSON object has exactly the documented fields.
    assert_eq!(
        common::keys(&out),
        common::sorted(&[
            "answer",
            "mode",
            "keywords",
            "no_context",
            "entities",
            "relations",
            "chunks",
            "references",
            "tokens",
            "llm_calls",
            "cache_hits",
            "timings_ms",
            "rerank",
            "warnings",
            "context",
            "prompt",
        ])
    );
    // The local provider reranks offline by default.
    assert_eq!(
        common::keys(&out["rerank"]),
        common::sorted(&[
            "binding",
            "model",
            "candidates",
            "ranked",
            "below_min_score",
            "min_score",
            "cached"
        ])
    );
    assert_eq!(
        common::keys(&out["tokens"]),
        common::sorted(&["entities", "relations", "chunks", "prompt"])
    );
    assert_eq!(
        common::keys(&out["timings_ms"]),
        common::sorted(&["keywords", "retrieval", "context", "answer", "total"])
    );
    assert_eq!(
        common::keys(&out["chunks"][0]),
        common::sorted(&["reference_id", "content", "file_path", "chunk_id", "rerank_score"])
    );

    // Human mode prints the answer; the second time it comes from the cache.
    let run = lrt.run_as(
        "alice",
        &[
            "query",
            "-t",
            "acme",
            "--kb",
            "docs",
            "--mode",
            "naive",
            "What did Marie Curie discover?",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("discovered polonium and radium in Paris. [1]"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("* [1] curie.md"), "{}", run.stdout);
}

#[test]
fn queries_need_query_run_and_never_pin_an_empty_kb() {
    let (lrt, curie, _) = setup();
    lrt.member("acme", "rita", "viewer_readonly");
    // An empty KB answers "no context" and stays unpinned: a later ingest may pick any model.
    let empty = lrt.json_as("rita", &["query", "-t", "acme", "--kb", "docs", "Who was Marie Curie?"]);
    assert_eq!(empty["no_context"], true);
    let ingest = lrt.run(
        Some("alice"),
        &[("EMBEDDING_DIM", "64")],
        &["ingest", "-t", "acme", "--kb", "docs", curie],
    );
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let run = lrt.run(
        Some("rita"),
        &[("EMBEDDING_DIM", "64")],
        &["query", "-t", "acme", "--kb", "docs", "Who was Marie Curie?"],
    );
    assert_eq!(run.code, 0, "viewer_readonly has query:run: {}", run.stderr);
    assert!(run.stdout.contains("[1]"), "{}", run.stdout);
    // Another embedding model than the KB's is refused.
    let other = lrt.run_as("rita", &["query", "-t", "acme", "--kb", "docs", "Who was Marie Curie?"]);
    assert_eq!(other.code, 6, "{}", other.stderr);

    let stranger = lrt.run_as(
        "mallory",
        &["query", "-t", "acme", "--kb", "docs", "Who was Marie Curie?", "--json"],
    );
    assert_eq!(stranger.code, 3, "{}", stranger.stderr);
    assert_eq!(stranger.json_error()["error"]["kind"], "not_found");
    assert!(lrt.run_as(ROOT, &["tenant", "deactivate", "acme"]).ok());
    let denied = lrt.run_as("rita", &["query", "-t", "acme", "--kb", "docs", "Who was Marie Curie?"]);
    assert_eq!(denied.code, 5, "{}", denied.stderr);
}

#[test]
fn bad_inputs_are_usage_errors() {
    let (lrt, _, _) = setup();
    let q = |extra: &[&str]| {
        let mut args = vec!["query", "-t", "acme", "--kb", "docs"];
        args.extend_from_slice(extra);
        lrt.run_as("alice", &args)
    };
    assert_eq!(q(&["--mode", "fuzzy", "Who?"]).code, 2);
    assert_eq!(q(&["   "]).code, 2);
    assert_eq!(q(&["--top-k", "0", "Who is Ada?"]).code, 2);
    assert_eq!(q(&["--max-total-tokens", "2000000", "Who is Ada?"]).code, 2);
    assert_eq!(q(&["--only-context", "--only-prompt", "Who is Ada?"]).code, 2);
    let history = lrt.root().join("history.json");
    for bad in [
        "not json",
        r#"{"role": "user"}"#,
        r#"[{"role": "robot", "content": "x"}]"#,
    ] {
        std::fs::write(&history, bad).unwrap();
        let run = q(&["--history", history.to_str().unwrap(), "Who is Ada?", "--json"]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert_eq!(run.json_error()["error"]["kind"], "usage");
    }
    let missing = q(&["--history", "/nonexistent/history.json", "Who is Ada?"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("--history"), "{}", missing.stderr);
}

#[test]
fn questions_from_stdin_saved_history_and_an_empty_context_that_says_so() {
    let (lrt, curie, _) = setup();
    let query = |args: &[&str], stdin: &str| {
        let mut all = vec!["query", "-t", "acme", "--kb", "docs"];
        all.extend_from_slice(args);
        let out = lrt
            .cmd()
            .env("LRT_USER", "alice")
            .args(&all)
            .write_stdin(stdin)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    // An empty KB: --only-context says there is nothing, on stderr, and exits 0.
    let (code, stdout, stderr) = query(&["--only-context", "Who was Marie Curie?"], "");
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    assert!(stderr.contains("No context was found"), "{stderr}");

    assert!(
        lrt.run_as("alice", &["ingest", "-t", "acme", "--kb", "docs", curie])
            .ok()
    );
    let (code, stdout, stderr) = query(&["--mode", "naive", "-"], "What did Marie Curie discover?\n");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("radium"), "{stdout}");
    let (code, _, stderr) = query(&["-"], "  \n");
    assert_eq!(code, 2, "{stderr}");

    // --save-history creates the file, then appends each turn; the file is what --history reads.
    let history = lrt.root().join("chat.json");
    let h = history.to_str().unwrap();
    for q in ["What did Marie Curie discover?", "Where did she work?"] {
        let (code, _, stderr) = query(&["--history", h, "--save-history", "--mode", "naive", q], "");
        assert_eq!(code, 0, "{stderr}");
    }
    let turns: Value = serde_json::from_str(&std::fs::read_to_string(&history).unwrap()).unwrap();
    let roles: Vec<&str> = turns
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    assert_eq!(turns[2]["content"], "Where did she work?");
    assert!(turns[1]["content"].as_str().unwrap().contains("radium"), "{turns}");
    // --save-history needs --history.
    assert_eq!(query(&["--save-history", "x"], "").0, 2);
}

#[test]
fn pdf_references_carry_their_page_numbers() {
    let (lrt, _, nasa) = setup();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats/report.pdf");
    std::fs::copy(fixture, lrt.root().join("home/report.pdf")).unwrap();
    let run = lrt.run_as("alice", &["ingest", "-t", "acme", "--kb", "docs", "report.pdf", nasa]);
    assert!(run.ok(), "{} {}", run.stdout, run.stderr);
    let out = lrt.json_as(
        "alice",
        &[
            "query",
            "-t",
            "acme",
            "--kb",
            "docs",
            "--mode",
            "naive",
            "Which costs fell by four percent?",
        ],
    );
    let refs = out["references"].as_array().unwrap();
    let report = refs
        .iter()
        .find(|r| r["file_path"] == "report.pdf")
        .unwrap_or_else(|| panic!("report.pdf is no reference: {out}"));
    assert_eq!(report["pages"], json!([[1, 3]]), "{out}");
    let chunk = out["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["file_path"] == "report.pdf")
        .unwrap();
    assert_eq!(chunk["pages"], json!([1, 3]));
    let nasa_ref = refs.iter().find(|r| r["file_path"] == "nasa.txt");
    assert!(nasa_ref.is_none_or(|r| r.get("pages").is_none()), "{out}");
    let answer = out["answer"].as_str().unwrap();
    assert!(answer.contains("report.pdf p. 1–3"), "{answer}");
}
