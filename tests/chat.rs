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
