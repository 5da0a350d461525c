//! Scripts reading `--json`: one document on stdout with the guide's field names and
//! defaults, and errors as one JSON object on stderr.

mod common;

use common::{Lrt, ROOT, is_timestamp, is_uuid, keys, sorted};
use serde_json::{Value, json};

const TENANT_FIELDS: &[&str] = &[
    "tenant_id",
    "tenant_name",
    "description",
    "config",
    "quota",
    "is_active",
    "created_at",
    "updated_at",
    "created_by",
    "metadata",
    "kb_count",
    "total_documents",
    "total_storage_mb",
];

const KB_FIELDS: &[&str] = &[
    "kb_id",
    "tenant_id",
    "kb_name",
    "description",
    "config",
    "is_active",
    "created_at",
    "updated_at",
    "created_by",
    "document_count",
    "entity_count",
    "relation_count",
    "storage_size_mb",
];

const MEMBER_FIELDS: &[&str] = &["tenant_id", "user_id", "role", "created_at", "created_by", "updated_at"];

/// The guide's TenantConfig defaults.
fn config_defaults() -> Value {
    json!({
        "llm_model": "gpt-4o-mini",
        "embedding_model": "bge-m3:latest",
        "rerank_model": null,
        "llm_model_kwargs": {},
        "llm_temperature": 1.0,
        "llm_max_tokens": 4096,
        "embedding_dim": 1024,
        "embedding_batch_num": 10,
        "top_k": 40,
        "chunk_top_k": 20,
        "cosine_threshold": 0.2,
        "enable_llm_cache": true,
        "enable_rerank": true,
        "chunk_size": 1200,
        "chunk_overlap": 100,
        "custom_metadata": {},
    })
}

/// The guide's ResourceQuota defaults.
fn quota_defaults() -> Value {
    json!({
        "max_documents": 10000,
        "max_storage_gb": 100.0,
        "max_concurrent_queries": 10,
        "max_monthly_api_calls": 100000,
        "max_kb_per_tenant": 50,
        "max_entities_per_kb": 100000,
        "max_relationships_per_kb": 500000,
        "max_monthly_tokens": 0,
    })
}

/// `usage`, on `tenant show` only.
const USAGE_FIELDS: &[&str] = &[
    "period",
    "api_calls",
    "max_monthly_api_calls",
    "remaining",
    "resets_at",
    "tokens",
    "max_monthly_tokens",
];

fn check_tenant(t: &Value) {
    let mut fields = TENANT_FIELDS.to_vec();
    if t.get("usage").is_some() {
        fields.push("usage");
        let u = &t["usage"];
        assert_eq!(keys(u), sorted(USAGE_FIELDS), "{u}");
        assert!(is_timestamp(u["resets_at"].as_str().unwrap()), "{u}");
        assert!(u["api_calls"].is_u64() && u["remaining"].is_u64(), "{u}");
    }
    assert_eq!(keys(t), sorted(&fields), "{t}");
    assert!(is_uuid(t["tenant_id"].as_str().unwrap()));
    assert!(t["tenant_name"].is_string());
    assert!(t["description"].is_string() || t["description"].is_null());
    assert_eq!(keys(&t["config"]), keys(&config_defaults()));
    assert_eq!(keys(&t["quota"]), keys(&quota_defaults()));
    assert!(t["is_active"].is_boolean());
    assert!(is_timestamp(t["created_at"].as_str().unwrap()), "{}", t["created_at"]);
    assert!(is_timestamp(t["updated_at"].as_str().unwrap()), "{}", t["updated_at"]);
    assert!(t["created_by"].is_string() || t["created_by"].is_null());
    assert!(t["metadata"].is_object());
    assert!(t["kb_count"].is_u64() && t["total_documents"].is_u64());
    assert!(t["total_storage_mb"].is_f64(), "{}", t["total_storage_mb"]);
}

fn check_kb(kb: &Value, with_effective: bool) {
    let mut fields = KB_FIELDS.to_vec();
    if with_effective {
        fields.push("effective_config");
        assert_eq!(keys(&kb["effective_config"]), keys(&config_defaults()));
    }
    assert_eq!(keys(kb), sorted(&fields), "{kb}");
    assert!(is_uuid(kb["kb_id"].as_str().unwrap()) && is_uuid(kb["tenant_id"].as_str().unwrap()));
    assert!(kb["config"].is_object());
    assert!(kb["is_active"].is_boolean());
    assert!(is_timestamp(kb["created_at"].as_str().unwrap()));
    assert!(is_timestamp(kb["updated_at"].as_str().unwrap()));
    for counter in ["document_count", "entity_count", "relation_count"] {
        assert!(kb[counter].is_u64(), "{counter}: {}", kb[counter]);
    }
    assert!(kb["storage_size_mb"].is_f64());
}

fn check_member(m: &Value) {
    assert_eq!(keys(m), sorted(MEMBER_FIELDS), "{m}");
    assert!(is_uuid(m["tenant_id"].as_str().unwrap()));
    assert!(["admin", "editor", "viewer", "viewer_readonly"].contains(&m["role"].as_str().unwrap()));
    assert!(is_timestamp(m["created_at"].as_str().unwrap()) && is_timestamp(m["updated_at"].as_str().unwrap()));
}

#[test]
fn tenant_json_has_the_guide_fields_and_defaults() {
    let lrt = Lrt::new();
    let t = lrt.json_as(ROOT, &["tenant", "create", "acme"]);
    check_tenant(&t);
    assert_eq!(t["config"], config_defaults());
    assert_eq!(t["quota"], quota_defaults());
    assert_eq!(t["description"], Value::Null);
    assert_eq!(t["metadata"], json!({}));
    assert_eq!(t["is_active"], true);
    assert_eq!(t["created_by"], "root");
    assert_eq!(
        (t["kb_count"].as_u64(), t["total_documents"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(t["total_storage_mb"], 0.0);
    assert_eq!(t["created_at"], t["updated_at"]);

    let shown = lrt.json_as(ROOT, &["tenant", "show", "acme"]);
    assert_eq!(shown["usage"]["api_calls"], 0);
    assert_eq!(shown["usage"]["max_monthly_api_calls"], 100000);
    for args in [
        vec!["tenant", "show", "acme"],
        vec!["tenant", "update", "acme", "--set", "top_k=41"],
        vec!["tenant", "deactivate", "acme"],
        vec!["tenant", "activate", "acme"],
    ] {
        check_tenant(&lrt.json_as(ROOT, &args));
    }
    let list = lrt.json_as(ROOT, &["tenant", "list"]);
    assert!(list.is_array(), "tenant list is a bare array");
    assert_eq!(list.as_array().unwrap().len(), 1);
    check_tenant(&list[0]);
    assert_eq!(list[0]["config"]["top_k"], 41);

    // Types of every setting survive --set.
    let t = lrt.json_as(
        ROOT,
        &[
            "tenant",
            "update",
            "acme",
            "--set",
            "cosine_threshold=0.5",
            "--set",
            "llm_temperature=0",
            "--set",
            "enable_llm_cache=no",
            "--set",
            "rerank_model=bge-reranker",
            "--set",
            "llm_model_kwargs={\"seed\": 1}",
            "--set",
            "max_storage_gb=1.5",
        ],
    );
    assert_eq!(t["config"]["cosine_threshold"], 0.5);
    assert_eq!(t["config"]["llm_temperature"], 0.0);
    assert_eq!(t["config"]["enable_llm_cache"], false);
    assert_eq!(t["config"]["rerank_model"], "bge-reranker");
    assert_eq!(t["config"]["llm_model_kwargs"], json!({"seed": 1}));
    assert_eq!(t["quota"]["max_storage_gb"], 1.5);
    let t = lrt.json_as(ROOT, &["tenant", "update", "acme", "--set", "rerank_model=none"]);
    assert_eq!(t["config"]["rerank_model"], Value::Null);
}

#[test]
fn kb_json_has_the_guide_fields_and_effective_config_on_show() {
    let lrt = Lrt::new();
    let t = lrt.tenant("acme", None);
    lrt.json_as(ROOT, &["tenant", "update", "acme", "--set", "top_k=11"]);
    let kb = lrt.json_as(ROOT, &["kb", "create", "-t", "acme", "docs", "--set", "chunk_top_k=3"]);
    check_kb(&kb, true);
    assert_eq!(kb["tenant_id"], t.as_str());
    assert_eq!(
        kb["config"],
        json!({"chunk_top_k": 3}),
        "config holds only the KB's overrides"
    );
    let mut eff = config_defaults();
    eff["top_k"] = json!(11);
    eff["chunk_top_k"] = json!(3);
    assert_eq!(kb["effective_config"], eff);
    assert_eq!(kb["is_active"], true);
    assert_eq!(kb["created_by"], "root");
    assert_eq!(kb["document_count"], 0);
    assert_eq!(kb["storage_size_mb"], 0.0);

    // `kb show` adds the providers that answer (the offline local ones by default).
    let mut shown = lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"]);
    let providers = shown.as_object_mut().unwrap().remove("providers").unwrap_or_default();
    assert_eq!(providers["llm"]["binding"], "local", "{providers}");
    assert_eq!(providers["embedding"]["binding"], "local", "{providers}");
    check_kb(&shown, true);
    check_kb(
        &lrt.json_as(ROOT, &["kb", "update", "-t", "acme", "docs", "--description", "d"]),
        true,
    );
    let list = lrt.json_as(ROOT, &["kb", "list", "-t", "acme"]);
    assert!(list.is_array());
    check_kb(&list[0], false);

    let dry = lrt.json_as(ROOT, &["kb", "delete", "-t", "acme", "docs", "--dry-run"]);
    let report_fields = [
        "dry_run",
        "tenant_id",
        "tenant_name",
        "kb_id",
        "kb_name",
        "kb_count",
        "member_count",
        "document_count",
        "entity_count",
        "relation_count",
        "bytes",
    ];
    assert_eq!(keys(&dry), sorted(&report_fields));
    assert_eq!(dry["dry_run"], true);
    let done = lrt.json_as(ROOT, &["kb", "delete", "-t", "acme", "docs", "--yes"]);
    assert_eq!(keys(&done), sorted(&report_fields));
    assert_eq!(done["dry_run"], false);
    let tenant_report = lrt.json_as(ROOT, &["tenant", "delete", "acme", "--dry-run"]);
    let tenant_fields: Vec<&str> = report_fields
        .iter()
        .copied()
        .filter(|f| !f.starts_with("kb_") || *f == "kb_count")
        .collect();
    assert_eq!(keys(&tenant_report), sorted(&tenant_fields));
}

#[test]
fn member_audit_whoami_use_and_can_i_json_shapes() {
    let lrt = Lrt::new();
    let t = lrt.tenant("acme", Some("alice"));
    let k = lrt.kb("acme", "docs");
    let m = lrt.json_as("alice", &["member", "add", "-t", "acme", "bob", "--role", "viewer"]);
    check_member(&m);
    assert_eq!(
        (m["user_id"].as_str(), m["role"].as_str()),
        (Some("bob"), Some("viewer"))
    );
    check_member(&lrt.json_as(
        "alice",
        &["member", "update", "-t", "acme", "bob", "--role", "viewer_readonly"],
    ));
    let list = lrt.json_as("alice", &["member", "list", "-t", "acme"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    list.as_array().unwrap().iter().for_each(check_member);
    let removed = lrt.json_as("alice", &["member", "remove", "-t", "acme", "bob", "--yes"]);
    assert_eq!(keys(&removed), ["dry_run", "member"]);
    check_member(&removed["member"]);

    let audit = lrt.json_as(ROOT, &["audit", "list"]);
    assert!(audit.is_array());
    for e in audit.as_array().unwrap() {
        assert_eq!(
            keys(e),
            sorted(&[
                "id",
                "at",
                "user_id",
                "real_user",
                "action",
                "tenant_id",
                "kb_id",
                "outcome",
                "detail",
                "api_key_id"
            ]),
            "{e}"
        );
        assert!(e["id"].is_i64() && is_timestamp(e["at"].as_str().unwrap()));
        assert!(["ok", "denied"].contains(&e["outcome"].as_str().unwrap()));
    }
    let kb_create = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "kb.create")
        .unwrap();
    assert_eq!(
        (kb_create["tenant_id"].as_str(), kb_create["kb_id"].as_str()),
        (Some(t.as_str()), Some(k.as_str()))
    );

    let me = lrt.json_as("alice", &["whoami"]);
    assert_eq!(
        keys(&me),
        sorted(&[
            "user",
            "real_user",
            "super_admin",
            "multi_tenant",
            "memberships",
            "context",
            "api_key_id"
        ])
    );
    assert_eq!(keys(&me["memberships"][0]), ["role", "tenant_id", "tenant_name"]);

    // API keys: `key create` has the key and the listed fields; `key list` never the key.
    let listed = [
        "key_id",
        "name",
        "prefix",
        "tenant_id",
        "kb_id",
        "role",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    ];
    let created = lrt.json_as(
        "alice",
        &["key", "create", "-t", "acme", "--kb", "docs", "--role", "viewer"],
    );
    let mut with_key = listed.to_vec();
    with_key.push("key");
    assert_eq!(keys(&created), sorted(&with_key));
    assert_eq!(
        (created["tenant_id"].as_str(), created["kb_id"].as_str()),
        (Some(t.as_str()), Some(k.as_str()))
    );
    assert!(is_timestamp(created["expires_at"].as_str().unwrap()));
    let list = lrt.json_as("alice", &["key", "list"]);
    assert_eq!(keys(&list[0]), sorted(&listed));
    let revoked = lrt.json_as("alice", &["key", "revoke", created["key_id"].as_str().unwrap()]);
    assert_eq!(keys(&revoked), sorted(&listed));
    assert!(is_timestamp(revoked["revoked_at"].as_str().unwrap()));

    let ctx = lrt.json_as("alice", &["use", "acme", "docs"]);
    assert_eq!(keys(&ctx), ["kb_id", "kb_name", "tenant_id", "tenant_name"]);
    assert_eq!(lrt.json_as("alice", &["use", "--clear"]), Value::Null);

    let can = lrt.json_as("alice", &["auth", "can-i", "kb:create", "-t", "acme"]);
    assert_eq!(
        keys(&can),
        sorted(&[
            "user",
            "tenant_id",
            "tenant_name",
            "kb_id",
            "permission",
            "allowed",
            "reason"
        ])
    );
    assert_eq!(
        (can["allowed"].as_bool(), can["permission"].as_str()),
        (Some(true), Some("kb:create"))
    );
    // In JSON mode a "no" is still exit 1, with the answer on stdout.
    let run = lrt.run_as(
        "alice",
        &["auth", "can-i", "kb:create", "-t", "acme", "--as", "nobody", "--json"],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["allowed"], false);
    let with_kb = lrt.json_as("alice", &["auth", "can-i", "kb:create", "-t", "acme", "--kb", "docs"]);
    assert_eq!(with_kb["kb_id"], k.as_str());
    let all = lrt.json_as("alice", &["auth", "can-i", "--list", "-t", "acme"]);
    assert_eq!(all.as_array().unwrap().len(), 10);

    // init --json
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    let run = lrt.run(
        None,
        &[],
        &[
            "init",
            "--json",
            "--user",
            "u",
            "--super-admins",
            "u,v",
            "--config",
            cfg.to_str().unwrap(),
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let init = run.json();
    assert_eq!(
        keys(&init),
        sorted(&["config_file", "data_dir", "user", "super_admins", "multi_tenant"])
    );
    assert_eq!(init["super_admins"], json!(["u", "v"]));
    assert_eq!(init["multi_tenant"], false);
}

fn assert_json_error(run: &common::Run, kind: &str, code: i32) {
    assert_eq!(run.code, code, "{}", run.stderr);
    assert_eq!(run.stdout, "", "stdout must be empty on failure");
    let err = run.json_error();
    assert_eq!(keys(&err), ["error"], "{err}");
    assert_eq!(keys(&err["error"]), ["exit_code", "kind", "message"], "{err}");
    assert_eq!(err["error"]["kind"], kind, "{err}");
    assert_eq!(err["error"]["exit_code"], code, "{err}");
    assert!(!err["error"]["message"].as_str().unwrap().is_empty());
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
}

#[test]
fn errors_in_json_mode_are_one_object_on_stderr() {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.json_as(ROOT, &["tenant", "update", "acme", "--set", "max_kb_per_tenant=1"]);
    lrt.kb("acme", "docs");
    lrt.member("acme", "vi", "viewer");

    let cases: &[(&str, &[&str], &str, i32)] = &[
        (ROOT, &["tenant", "show", "nope"], "not_found", 3),
        ("vi", &["kb", "create", "-t", "acme", "x"], "forbidden", 5),
        (ROOT, &["tenant", "create", "ACME"], "conflict", 6),
        (ROOT, &["kb", "create", "-t", "acme", "more"], "quota_exceeded", 7),
        (ROOT, &["tenant", "delete", "acme"], "confirmation_required", 10),
        (ROOT, &["tenant", "update", "acme", "--set", "top_k=abc"], "usage", 2),
        ("alice", &["--as", "vi", "tenant", "list"], "forbidden", 5),
    ];
    for (user, args, kind, code) in cases {
        let mut with_flag: Vec<&str> = args.to_vec();
        with_flag.push("--json");
        assert_json_error(&lrt.run_as(user, &with_flag), kind, *code);
        // The flag may come first, -o json is the same, and so is LRT_OUTPUT=json.
        let mut first = vec!["--json"];
        first.extend_from_slice(args);
        assert_json_error(&lrt.run_as(user, &first), kind, *code);
        let mut o = vec!["-o", "json"];
        o.extend_from_slice(args);
        assert_json_error(&lrt.run_as(user, &o), kind, *code);
        assert_json_error(&lrt.run(Some(user), &[("LRT_OUTPUT", "json")], args), kind, *code);
        // Without JSON: a plain "error: …" line.
        let plain = lrt.run_as(user, args);
        assert_eq!(plain.code, *code);
        assert!(plain.stderr.starts_with("error: "), "{}", plain.stderr);
        assert_eq!(plain.stdout, "");
    }
    // The not-found message is the documented one.
    let run = lrt.run_as(ROOT, &["tenant", "show", "x", "--json"]);
    assert_eq!(run.json_error()["error"]["message"], "tenant 'x' not found");
}

#[test]
fn usage_errors_from_the_command_line_parser_are_json_too() {
    let lrt = Lrt::new();
    for args in [
        vec!["--json", "tenant", "create"],
        vec!["tenant", "create", "--json"],
        vec!["tenant", "frobnicate", "--json"],
        vec!["--json", "member", "add", "-t", "acme", "bob", "--role", "owner"],
        vec!["tenant", "list", "--page", "two", "--json"],
        vec!["tenant", "list", "--bogus-flag", "-o", "json"],
        vec!["--json", "nonsense"],
    ] {
        assert_json_error(&lrt.run_as(ROOT, &args), "usage", 2);
    }
    let run = lrt.run(Some(ROOT), &[("LRT_OUTPUT", "json")], &["tenant", "create"]);
    assert_json_error(&run, "usage", 2);
    // Without JSON, clap's own message and exit code 2.
    let run = lrt.run_as(ROOT, &["tenant", "create"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("Usage"), "{}", run.stderr);
    // --help is not an error, even with --json.
    assert_eq!(lrt.code_as(ROOT, &["tenant", "--help", "--json"]), 0);
}

#[test]
fn lrt_output_json_and_o_json_print_json_and_o_table_wins_over_the_env() {
    let lrt = Lrt::new();
    lrt.tenant("acme", None);
    let env = [("LRT_OUTPUT", "json")];
    let run = lrt.run(Some(ROOT), &env, &["tenant", "list"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.json()[0]["tenant_name"], "acme");
    let run = lrt.run_as(ROOT, &["tenant", "show", "acme", "-o", "json"]);
    assert_eq!(run.json()["tenant_name"], "acme");
    let run = lrt.run(Some(ROOT), &[("LRT_OUTPUT", "JSON")], &["tenant", "show", "acme"]);
    assert_eq!(run.json()["tenant_name"], "acme");
    let run = lrt.run(Some(ROOT), &env, &["tenant", "show", "acme", "-o", "table"]);
    assert!(serde_json::from_str::<Value>(&run.stdout).is_err(), "{}", run.stdout);
    assert!(run.stdout.contains("tenant_name"));
    // No ANSI escapes, nothing but the document.
    let run = lrt.run_as(ROOT, &["tenant", "show", "acme", "--json"]);
    assert!(!run.stdout.contains('\u{1b}'));
    assert_eq!(run.stderr, "");
    // --json and -q together are a usage error, in JSON.
    assert_json_error(&lrt.run_as(ROOT, &["tenant", "list", "--json", "-q"]), "usage", 2);
}

#[test]
fn json_usage_errors_are_complete() {
    let lrt = Lrt::new();
    let message = |args: &[&str]| {
        let run = lrt.run_as(ROOT, args);
        assert_json_error(&run, "usage", 2);
        run.json_error()["error"]["message"].as_str().unwrap().to_string()
    };
    let missing = message(&["tenant", "create", "--json"]);
    assert!(
        missing.contains("required arguments were not provided") && missing.contains("<NAME>"),
        "{missing}"
    );
    let values = message(&["query", "--mode", "fast", "q", "--json"]);
    for mode in ["naive", "local", "global", "hybrid", "mix", "bypass"] {
        assert!(values.contains(mode), "{values}");
    }
    assert!(!values.starts_with("error:"), "{values}");
    let file = message(&["kb", "export", "-o", "out.lrtkb", "--json"]);
    assert!(file.contains("-O FILE"), "{file}");
}

#[test]
fn config_show_and_path_json() {
    let lrt = Lrt::new();
    let doc = lrt.json_as(ROOT, &["config", "show"]);
    for key in [
        "config_file",
        "identity.user",
        "storage.data_dir",
        "multi_tenancy.enabled",
        "multi_tenancy.strict",
        "multi_tenancy.require_user_auth",
        "multi_tenancy.super_admins",
        "auth.token_secret",
        "auth.jwt_algorithm",
        "auth.token_expire_hours",
    ] {
        assert_eq!(keys(&doc[key]), ["source", "value"], "{key}: {doc}");
    }
    assert_eq!(doc["auth.token_secret"], json!({"value": null, "source": "default"}));
    assert_eq!(doc["auth.token_expire_hours"]["value"], 24);
    assert_eq!(keys(&lrt.json_as(ROOT, &["config", "path"])), ["config_file"]);
}
