//! `lrt chat` driven through a pipe (stdin not a terminal: one line per input), on the demo
//! KB that `lrt quickstart` builds with the offline local provider.

mod common;

use common::{Lrt, ROOT};
use serde_json::Value;

#[test]
fn a_piped_chat_answers_keeps_the_conversation_and_obeys_its_commands() {
    let lrt = Lrt::new();
    assert!(lrt.run_as(ROOT, &["quickstart"]).ok());
    let first = lrt.root().join("first.json");
    let empty = lrt.root().join("empty.json");
    let script = format!(
        "Where is the TideRunner T2 assembled?\n/mode naive\n/mode\n/mode fast\n\
         Who founded Kestrel Tidal Systems?\n/context What is SeaGrid?\n/save {}\n/reset\n/save {}\n\
         /kb nosuch\n/bogus\n\n/quit\nWhere is SeaGrid?\n",
        first.display(),
        empty.display()
    );
    let out = lrt
        .cmd()
        .env("LRT_USER", ROOT)
        .args(["chat", "-t", "demo", "--kb", "docs"])
        .write_stdin(script)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Chatting with knowledge base 'docs' (mix mode)"),
        "{stderr}"
    );
    assert!(stdout.contains("Brest"), "{stdout}");
    assert!(stdout.contains("sources: [1] examples/docs/products.md"), "{stdout}");
    assert!(stdout.contains("mode: naive"), "{stdout}");
    assert!(stdout.contains("error: unknown mode \"fast\""), "{stdout}");
    // /context prints the retrieved context (or says there is none) and answers nothing.
    assert!(
        stdout.contains("Document Chunks") || stdout.contains("(no context was found for this question)"),
        "the /context output: {stdout}"
    );
    assert!(stdout.contains("not found"), "/kb nosuch: {stdout}");
    assert!(stdout.contains("unknown command \"/bogus\""), "{stdout}");
    // Two questions answered; the one after /quit never asked.
    assert_eq!(stdout.matches("sources: ").count(), 2, "{stdout}");

    let turns: Value = serde_json::from_str(&std::fs::read_to_string(&first).unwrap()).unwrap();
    let turns = turns.as_array().unwrap();
    assert_eq!(turns.len(), 4, "{turns:?}");
    assert_eq!(turns[0]["content"], "Where is the TideRunner T2 assembled?");
    assert_eq!(turns[2]["content"], "Who founded Kestrel Tidal Systems?");
    assert!(turns[1]["content"].as_str().unwrap().contains("Brest"));
    // /reset forgot them; the saved file is a valid, empty --history file.
    let after_reset: Value = serde_json::from_str(&std::fs::read_to_string(&empty).unwrap()).unwrap();
    assert_eq!(after_reset, serde_json::json!([]));
    let h = first.to_str().unwrap();
    let run = lrt.run_as(
        ROOT,
        &["query", "-t", "demo", "--kb", "docs", "--history", h, "And SeaGrid?"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn chat_is_for_people_and_checks_its_kb_first() {
    let lrt = Lrt::new();
    assert!(lrt.run_as(ROOT, &["quickstart"]).ok());
    assert_eq!(
        lrt.run_as(ROOT, &["chat", "-t", "demo", "--kb", "docs", "--json"]).code,
        2
    );
    let run = lrt.run_as(ROOT, &["chat", "-t", "demo", "--kb", "nosuch"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
}

/// The model server of [`the_conversation_reaches_the_model_where_upstream_sends_it`]: fixed
/// extraction records, keywords in JSON mode, "Answer to: QUESTION" for a grounded answer
/// (as SSE when asked to stream), and term-count embeddings so the question finds the chunk.
struct Model;

const ADA: &str = "Ada Lovelace wrote the first program for the Analytical Engine of Charles Babbage in London.";
const TERMS: [&str; 5] = ["ada", "lovelace", "babbage", "engine", "london"];

impl wiremock::Respond for Model {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        use serde_json::json;
        if request.url.path().ends_with("/embeddings") {
            return common::model::term_embeddings(request, &TERMS);
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let messages = body["messages"].as_array().unwrap();
        let first = messages[0]["content"].as_str().unwrap();
        let last = messages.last().unwrap()["content"].as_str().unwrap();
        let text = if first.starts_with("You build a knowledge graph") {
            match messages.len() {
                4 => "<|COMPLETE|>".to_string(),
                _ => "entity<|#|>Ada Lovelace<|#|>Person<|#|>Ada Lovelace wrote the first program.\n\
                      entity<|#|>Charles Babbage<|#|>Person<|#|>Charles Babbage designed the Analytical Engine.\n\
                      relation<|#|>Ada Lovelace<|#|>Charles Babbage<|#|>collaboration<|#|>Ada Lovelace programmed Babbage's engine.\n\
                      <|COMPLETE|>"
                    .to_string(),
            }
        } else if body["response_format"]["type"] == "json_object" {
            r#"{"high_level_keywords": ["programming"], "low_level_keywords": ["Ada Lovelace"]}"#.to_string()
        } else if first.starts_with("You merge several descriptions") {
            "A merged description.".to_string()
        } else {
            format!("Answer to: {last}")
        };
        if body["stream"] == true {
            let event = |t: &str| format!("data: {}\n\n", json!({"choices": [{"delta": {"content": t}}]}));
            return wiremock::ResponseTemplate::new(200)
                .set_body_raw(format!("{}data: [DONE]\n\n", event(&text)), "text/event-stream");
        }
        wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
        }))
    }
}

/// The (role, content) pairs of the grounded-answer requests the model received, and of the
/// keyword requests, in order.
async fn seen(server: &wiremock::MockServer) -> (Vec<Vec<(String, String)>>, Vec<Vec<(String, String)>>) {
    let (mut answers, mut keywords) = (Vec::new(), Vec::new());
    for r in server.received_requests().await.unwrap() {
        if r.url.path().ends_with("/embeddings") {
            continue;
        }
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let messages: Vec<(String, String)> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().into(),
                    m["content"].as_str().unwrap().into(),
                )
            })
            .collect();
        if body["response_format"]["type"] == "json_object" {
            keywords.push(messages);
        } else if messages[0].0 == "system" && messages[0].1.starts_with("You answer questions using only") {
            answers.push(messages);
        }
    }
    (answers, keywords)
}

/// The conversation without the system prompt (the context), as `(role, content)`.
fn turns(messages: &[(String, String)]) -> Vec<(&str, &str)> {
    messages[1..].iter().map(|(r, c)| (r.as_str(), c.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conversation_reaches_the_model_where_upstream_sends_it() {
    use wiremock::matchers::method;
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .respond_with(Model)
        .mount(&server)
        .await;
    let env = common::model::env_with_dim(&server, TERMS.len() + 1);
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.kb("acme", "docs");
    let doc = lrt.root().join("ada.md");
    std::fs::write(&doc, ADA).unwrap();
    let ingest = lrt.run(
        Some("alice"),
        &env_ref,
        &["ingest", "-t", "acme", "--kb", "docs", doc.to_str().unwrap()],
    );
    assert!(ingest.ok(), "{}", ingest.stderr);

    // `lrt chat`: the second answer request carries the first turn, question and answer,
    // between the system prompt and the new question (upstream's history_messages).
    const Q1: &str = "Who was Ada Lovelace?";
    const Q2: &str = "What did she write?";
    let mut chat = lrt.cmd();
    chat.env("LRT_USER", "alice")
        .args(["chat", "-t", "acme", "--kb", "docs"]);
    for (k, v) in &env {
        chat.env(k, v);
    }
    let out = chat.write_stdin(format!("{Q1}\n{Q2}\n")).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let a1 = format!("Answer to: {Q1}");
    let (answers, keywords) = seen(&server).await;
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(turns(&answers[0]), [("user", Q1)]);
    assert_eq!(
        turns(&answers[1]),
        [("user", Q1), ("assistant", a1.as_str()), ("user", Q2)]
    );
    // Keyword extraction gets the question alone, as upstream 1.5.7 asks for keywords
    // (one user message, no system prompt, no history).
    assert_eq!(keywords.len(), 2, "{keywords:?}");
    for (k, q) in keywords.iter().zip([Q1, Q2]) {
        assert_eq!(k.len(), 1, "{k:?}");
        assert_eq!(k[0].0, "user");
        assert!(k[0].1.contains(q) && !k[0].1.contains("Answer to"), "{k:?}");
    }
    assert!(!keywords[1][0].1.contains(Q1), "no history in keyword extraction");

    // `lrt query --history FILE`: the turns of the file, verbatim, before the question.
    let history = lrt.root().join("history.json");
    std::fs::write(
        &history,
        serde_json::json!([
            {"role": "user", "content": "Who designed the engine?"},
            {"role": "assistant", "content": "Charles Babbage."}
        ])
        .to_string(),
    )
    .unwrap();
    const Q3: &str = "And who programmed it?";
    let run = lrt.run(
        Some("alice"),
        &env_ref,
        &[
            "query",
            "-t",
            "acme",
            "--kb",
            "docs",
            "--history",
            history.to_str().unwrap(),
            Q3,
        ],
    );
    assert!(run.ok(), "{}", run.stderr);
    let (answers, _) = seen(&server).await;
    assert_eq!(
        turns(answers.last().unwrap()),
        [
            ("user", "Who designed the engine?"),
            ("assistant", "Charles Babbage."),
            ("user", Q3)
        ]
    );

    // The OpenAI- and Ollama-compatible routes: the messages before the last are the history.
    let srv = common::server::start(&lrt, &env_ref);
    let alice = common::server::token(&lrt, "alice");
    let earlier = serde_json::json!([
        {"role": "user", "content": Q1},
        {"role": "assistant", "content": "She was a mathematician."},
        {"role": "user", "content": Q2}
    ]);
    let expected = [("user", Q1), ("assistant", "She was a mathematician."), ("user", Q2)];
    for (path, model) in [("/v1/chat/completions", "acme/docs"), ("/api/chat", "acme/docs:latest")] {
        let r = srv
            .post(
                path,
                &alice,
                serde_json::json!({"model": model, "messages": earlier, "stream": false}),
            )
            .await;
        assert_eq!(r.status, reqwest::StatusCode::OK, "{path}: {}", r.body);
        let (answers, _) = seen(&server).await;
        assert_eq!(turns(answers.last().unwrap()), expected, "{path}");
    }
}
