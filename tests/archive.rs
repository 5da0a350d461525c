//! `kb export|import`, `tenant export|import` and `kb import-lightrag`, run through the real
//! binary with the offline `local` provider: round trips give the same query results, bad
//! archives and bad LightRAG directories are refused with nothing created, and an upstream
//! working directory written by hand (in the documented format) becomes a queryable KB.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::{Lrt, ROOT};
use serde_json::{Value, json};

const QUESTION: &str = "Where is the TideRunner T2 assembled?";

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/docs")
}

/// A tenant `acme` with KB `docs` holding the sample documents.
fn ingested() -> Lrt {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.kb("acme", "docs");
    let run = lrt.run_as(
        ROOT,
        &["ingest", "-t", "acme", "--kb", "docs", examples().to_str().unwrap()],
    );
    assert!(run.ok(), "{}", run.stderr);
    lrt
}

/// [`ingested`], with KB `docs` exported to `docs.lrtkb`.
fn exported() -> (Lrt, PathBuf) {
    let lrt = ingested();
    let file = lrt.root().join("docs.lrtkb");
    let out = file.to_str().unwrap();
    lrt.json_as(ROOT, &["kb", "export", "-t", "acme", "--kb", "docs", "-O", out]);
    (lrt, file)
}

/// The query result without what legitimately differs between runs.
fn answer(lrt: &Lrt, tenant: &str, kb: &str, mode: &str) -> Value {
    let mut v = lrt.json_as(ROOT, &["query", "-t", tenant, "--kb", kb, "--mode", mode, QUESTION]);
    let o = v.as_object_mut().unwrap();
    for volatile in ["timings_ms", "llm_calls", "cache_hits"] {
        o.remove(volatile);
    }
    v
}

fn counts(kb: &Value) -> (u64, u64, u64) {
    (
        kb["document_count"].as_u64().unwrap(),
        kb["entity_count"].as_u64().unwrap(),
        kb["relation_count"].as_u64().unwrap(),
    )
}

#[test]
fn kb_round_trip_gives_the_same_answers() {
    let lrt = ingested();
    let file = lrt.root().join("docs.lrtkb");
    let f = file.to_str().unwrap();
    let export = lrt.json_as(ROOT, &["kb", "export", "-t", "acme", "--kb", "docs", "--out", f]);
    assert_eq!(export["format"], "lrt-kb-archive");
    assert_eq!(export["kbs"][0]["documents"], 5);
    // Never replaced without --force.
    let again = lrt.run_as(ROOT, &["kb", "export", "-t", "acme", "--kb", "docs", "--out", f]);
    assert_eq!(again.code, 6, "{}", again.stderr);
    assert!(
        lrt.run_as(
            ROOT,
            &["kb", "export", "-t", "acme", "--kb", "docs", "--out", f, "--force"]
        )
        .ok()
    );

    // The same name is a conflict; --name picks another.
    let clash = lrt.run_as(ROOT, &["kb", "import", "-t", "acme", f]);
    assert_eq!(clash.code, 6, "{}", clash.stderr);
    assert!(clash.stderr.contains("--name"), "{}", clash.stderr);
    let imported = lrt.json_as(ROOT, &["kb", "import", "-t", "acme", f, "--name", "copy"]);
    assert_eq!(imported["embeddings"], "kept");
    let original = lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"]);
    let copy = lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "copy"]);
    assert_ne!(copy["kb_id"], original["kb_id"], "an import never reuses the id");
    assert_eq!(imported["kb_id"], copy["kb_id"]);
    assert_eq!(counts(&copy), counts(&original));
    assert!(counts(&copy).1 > 0);
    assert!(copy["storage_size_mb"].as_f64().unwrap() > 0.0);
    let tenant_id = original["tenant_id"].as_str().unwrap();
    let vectors = lrt.kb_dir(tenant_id, copy["kb_id"].as_str().unwrap()).join("vectors");
    assert!(
        vectors.join("entities.vec").is_file(),
        "vector indexes rebuilt on import"
    );
    assert_eq!(imported["vectors"]["entities"], original["entity_count"]);

    for mode in ["mix", "local", "global", "naive"] {
        let (a, b) = (answer(&lrt, "acme", "docs", mode), answer(&lrt, "acme", "copy", mode));
        assert_eq!(a, b, "mode {mode}");
        if mode == "mix" {
            assert!(!a["entities"].as_array().unwrap().is_empty());
            assert!(!a["relations"].as_array().unwrap().is_empty());
            assert!(!a["chunks"].as_array().unwrap().is_empty());
        }
    }
    let docs_a = lrt.json_as(ROOT, &["doc", "list", "-t", "acme", "--kb", "docs"]);
    let docs_b = lrt.json_as(ROOT, &["doc", "list", "-t", "acme", "--kb", "copy"]);
    assert_eq!(docs_a, docs_b);

    // Into another tenant, by a tenant admin (kb:create); a viewer may export but not import.
    lrt.tenant("other", Some("bob"));
    lrt.member("acme", "vera", "viewer");
    let vera_file = lrt.root().join("vera.lrtkb");
    let run = lrt.run_as(
        "vera",
        &[
            "kb",
            "export",
            "-t",
            "acme",
            "--kb",
            "docs",
            "-O",
            vera_file.to_str().unwrap(),
        ],
    );
    assert!(run.ok(), "{}", run.stderr);
    assert_eq!(
        lrt.code_as("vera", &["kb", "import", "-t", "acme", f, "--name", "v"]),
        5
    );
    lrt.member("acme", "ro", "viewer_readonly");
    let ro = lrt.root().join("ro.lrtkb");
    assert_eq!(
        lrt.code_as(
            "ro",
            &["kb", "export", "-t", "acme", "--kb", "docs", "-O", ro.to_str().unwrap()]
        ),
        5
    );
    assert!(!ro.exists());
    let moved = lrt.json_as("bob", &["kb", "import", "-t", "other", f]);
    assert_eq!(moved["kb_name"], "docs");
    assert_eq!(
        answer(&lrt, "other", "docs", "mix"),
        answer(&lrt, "acme", "docs", "mix")
    );
    let actions: Vec<String> = lrt
        .audit()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert!(actions.iter().any(|a| a == "kb.export") && actions.iter().any(|a| a == "kb.import"));
}

#[test]
fn an_archive_from_another_embedding_model_needs_reembed() {
    let (lrt, file) = exported();
    let f = file.to_str().unwrap();
    lrt.id_as(ROOT, &["tenant", "create", "small", "--set", "embedding_dim=16"]);
    let before = lrt.snapshot();
    let run = lrt.run_as(ROOT, &["kb", "import", "-t", "small", f]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.stderr.contains("--reembed"), "{}", run.stderr);
    assert_eq!(lrt.snapshot(), before);
    let imported = lrt.json_as(ROOT, &["kb", "import", "-t", "small", f, "--reembed"]);
    assert_eq!(imported["embeddings"], "reembedded");
    let q = lrt.json_as(ROOT, &["query", "-t", "small", "--kb", "docs", QUESTION]);
    assert!(!q["chunks"].as_array().unwrap().is_empty());
}

#[test]
fn tenant_round_trip_keeps_members_settings_and_kbs() {
    let lrt = ingested();
    lrt.member("acme", "vera", "viewer");
    lrt.kb("acme", "empty");
    let run = lrt.run_as(
        ROOT,
        &[
            "tenant",
            "update",
            "acme",
            "--set",
            "top_k=7",
            "--set",
            "max_documents=500",
        ],
    );
    assert!(run.ok(), "{}", run.stderr);
    let file = lrt.root().join("acme.lrtt");
    let f = file.to_str().unwrap();
    // Super-admins only.
    assert_eq!(lrt.code_as("alice", &["tenant", "export", "acme", "--out", f]), 5);
    let export = lrt.json_as(ROOT, &["tenant", "export", "acme", "--out", f]);
    assert_eq!(export["member_count"], 2);
    assert_eq!(export["kbs"].as_array().unwrap().len(), 2);
    assert_eq!(lrt.run_as(ROOT, &["tenant", "import", f]).code, 6);
    assert_eq!(lrt.code_as("alice", &["tenant", "import", f, "--name", "x"]), 5);
    let imported = lrt.json_as(ROOT, &["tenant", "import", f, "--name", "acme2"]);
    let t = lrt.json_as(ROOT, &["tenant", "show", "acme2"]);
    let src = lrt.json_as(ROOT, &["tenant", "show", "acme"]);
    assert_ne!(t["tenant_id"], src["tenant_id"]);
    assert_eq!(imported["tenant_id"], t["tenant_id"]);
    assert_eq!(t["config"]["top_k"], 7);
    assert_eq!(t["quota"]["max_documents"], 500);
    let members: Vec<(String, String)> = lrt
        .json_as(ROOT, &["member", "list", "-t", "acme2"])
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        members,
        vec![("alice".into(), "admin".into()), ("vera".into(), "viewer".into())]
    );
    let kbs = lrt.json_as(ROOT, &["kb", "list", "-t", "acme2"]);
    assert_eq!(kbs.as_array().unwrap().len(), 2);
    // The member can use the copy with the role they had.
    let q = lrt.json_as("vera", &["query", "-t", "acme2", "--kb", "docs", QUESTION]);
    let orig = lrt.json_as("vera", &["query", "-t", "acme", "--kb", "docs", QUESTION]);
    assert_eq!(q["answer"], orig["answer"]);
    assert_eq!(
        counts(&lrt.json_as(ROOT, &["kb", "show", "-t", "acme2", "docs"])),
        counts(&lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"]))
    );
    // A KB archive is not a tenant archive.
    let kb_file = lrt.root().join("docs.lrtkb");
    lrt.json_as(
        ROOT,
        &[
            "kb",
            "export",
            "-t",
            "acme",
            "--kb",
            "docs",
            "-O",
            kb_file.to_str().unwrap(),
        ],
    );
    let run = lrt.run_as(ROOT, &["tenant", "import", kb_file.to_str().unwrap(), "--name", "z"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("lrt kb import"), "{}", run.stderr);
}

/// Writes a tar whose entries have exactly these raw names (bypassing the tar crate's path
/// checks, as a hostile archive would).
fn raw_tar(path: &Path, entries: &[(&[u8], &[u8])]) {
    let mut out = Vec::new();
    for (name, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    std::fs::write(path, out).unwrap();
}

/// The manifest and kb.db bytes of a real archive.
fn parts(file: &Path) -> (Value, Vec<u8>) {
    let mut archive = tar::Archive::new(std::fs::File::open(file).unwrap());
    let mut manifest = Value::Null;
    let mut db = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        match name.as_str() {
            "manifest.json" => manifest = serde_json::from_slice(&bytes).unwrap(),
            _ => db = bytes,
        }
    }
    (manifest, db)
}

/// `kb import` of `path` is a usage error naming `expect`, and leaves the data as `before`.
fn assert_import_refused(lrt: &Lrt, path: &Path, expect: &str, before: &Value) {
    let file = path.to_str().unwrap();
    let run = lrt.run_as(ROOT, &["kb", "import", "-t", "acme", file, "--name", "x", "--json"]);
    assert_eq!(run.code, 2, "{}: {}", path.display(), run.stderr);
    let message = run.json_error()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains(expect), "{}: {message}", path.display());
    assert_eq!(&lrt.snapshot(), before, "{} created something", path.display());
}

#[test]
fn bad_archives_are_refused_and_create_nothing() {
    let (lrt, file) = exported();
    let bytes = std::fs::read(&file).unwrap();
    let (manifest, db) = parts(&file);
    let bad = |name: &str| lrt.root().join(name);
    let mut cases: Vec<(PathBuf, &str)> = Vec::new();

    std::fs::write(bad("truncated"), &bytes[..bytes.len() / 2]).unwrap();
    cases.push((bad("truncated"), "truncated"));
    std::fs::write(bad("empty"), b"").unwrap();
    cases.push((bad("empty"), "empty"));
    std::fs::write(bad("text"), b"hello, this is not a tar archive at all").unwrap();
    cases.push((bad("text"), "not a valid lrt archive"));

    let mut flipped = db.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    let m = serde_json::to_vec(&manifest).unwrap();
    raw_tar(&bad("checksum"), &[(b"manifest.json", &m), (b"kb.db", &flipped)]);
    cases.push((bad("checksum"), "SHA-256"));

    let mut v2 = manifest.clone();
    v2["format_version"] = json!(99);
    raw_tar(
        &bad("version"),
        &[(b"manifest.json", &serde_json::to_vec(&v2).unwrap()), (b"kb.db", &db)],
    );
    cases.push((bad("version"), "format version 99"));

    let mut foreign = manifest.clone();
    foreign["format"] = json!("something-else");
    raw_tar(
        &bad("foreign"),
        &[
            (b"manifest.json", &serde_json::to_vec(&foreign).unwrap()),
            (b"kb.db", &db),
        ],
    );
    cases.push((bad("foreign"), "unknown format"));

    // A manifest that names a path outside, and an extra entry that climbs out.
    let mut evil = manifest.clone();
    evil["kb"]["file"]["name"] = json!("../../evil.db");
    raw_tar(
        &bad("evil-name"),
        &[
            (b"manifest.json", &serde_json::to_vec(&evil).unwrap()),
            (b"../../evil.db", &db),
        ],
    );
    cases.push((bad("evil-name"), "unexpected entry name"));
    raw_tar(
        &bad("evil-entry"),
        &[
            (b"manifest.json", &m),
            (b"kb.db", &db),
            (b"../../../tmp/evil.txt", b"x"),
        ],
    );
    cases.push((bad("evil-entry"), "unexpected entry"));
    raw_tar(&bad("missing"), &[(b"manifest.json", &m)]);
    cases.push((bad("missing"), "missing"));
    raw_tar(&bad("no-manifest"), &[(b"kb.db", &db)]);
    cases.push((bad("no-manifest"), "manifest.json"));

    // A valid tar and checksum around a file that is not a database.
    let junk = vec![7u8; 4096];
    let mut junk_manifest = manifest.clone();
    junk_manifest["kb"]["file"]["size"] = json!(junk.len());
    junk_manifest["kb"]["file"]["sha256"] = json!(sha256_hex(&junk));
    raw_tar(
        &bad("junk-db"),
        &[
            (b"manifest.json", &serde_json::to_vec(&junk_manifest).unwrap()),
            (b"kb.db", &junk),
        ],
    );
    cases.push((bad("junk-db"), "snapshot"));

    let before = lrt.snapshot();
    for (path, expect) in &cases {
        assert_import_refused(&lrt, path, expect, &before);
    }
    assert!(!lrt.root().join("evil.txt").exists() && !Path::new("/tmp/evil.txt").exists());
    let leftovers: Vec<_> = std::fs::read_dir(lrt.data_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".staging"))
        .collect();
    assert!(leftovers.is_empty(), "staging folders left behind");
    let run = lrt.run_as(ROOT, &["kb", "import", "-t", "acme", "/nonexistent/archive"]);
    assert_eq!(run.code, 9, "{}", run.stderr);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// LightRAG working directories

const SEP: &str = "<SEP>";

fn md5(s: &str) -> String {
    use md5::Digest;
    md5::Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A deterministic unit vector for `text`.
fn vector(text: &str, dim: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dim)
        .map(|i| ((text.len() * 31 + i * 17) % 13) as f32 + 1.0)
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn vdb(dim: usize, rows: Vec<(String, Value)>) -> Value {
    let mut matrix = Vec::new();
    let mut data = Vec::new();
    for (id, mut meta) in rows {
        for x in vector(&id, dim) {
            matrix.extend_from_slice(&x.to_le_bytes());
        }
        meta["__id__"] = json!(id);
        meta["__created_at__"] = json!(1_735_689_600);
        data.push(meta);
    }
    json!({
        "embedding_dim": dim,
        "data": data,
        "matrix": base64::engine::general_purpose::STANDARD.encode(matrix),
    })
}

const DOC_A: &str = "Marie Curie discovered radium in Paris. She worked with Pierre Curie.";
const DOC_B: &str = "NASA ran the Apollo program. Neil Armstrong walked on the Moon.";

/// Writes a small LightRAG 1.5 working directory: 2 documents, 3 chunks, 5 entities, 3
/// relations, LLM cache entries, and vdb files of `dim` dimensions.
fn write_lightrag(dir: &Path, dim: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let (a, b) = (format!("doc-{}", md5("curie.txt")), format!("doc-{}", md5("nasa.txt")));
    let chunks = [
        (
            format!("{a}-chunk-000"),
            a.clone(),
            0,
            "Marie Curie discovered radium in Paris.",
            "curie.txt",
        ),
        (
            format!("{a}-chunk-001"),
            a.clone(),
            1,
            "She worked with Pierre Curie.",
            "curie.txt",
        ),
        (format!("{b}-chunk-000"), b.clone(), 0, DOC_B, "nasa.txt"),
    ];
    let write = |name: &str, v: &Value| {
        std::fs::write(dir.join(name), serde_json::to_string_pretty(v).unwrap()).unwrap();
    };
    write(
        "kv_store_full_docs.json",
        &json!({
            a.clone(): {"content": DOC_A, "file_path": "curie.txt", "create_time": 1735689600, "update_time": 1735689600, "_id": a},
            b.clone(): {"content": DOC_B, "file_path": "nasa.txt", "create_time": 1735689600, "update_time": 1735689600, "_id": b},
        }),
    );
    write(
        "kv_store_doc_status.json",
        &json!({
            a.clone(): {"status": "processed", "content_summary": DOC_A, "content_length": DOC_A.len(), "file_path": "curie.txt",
                "track_id": "insert_20250101_000000_abcd1234", "chunks_count": 2, "chunks_list": [chunks[0].0, chunks[1].0],
                "error_msg": null, "metadata": {}, "created_at": "2025-01-01T00:00:00.000000+00:00", "updated_at": "2025-01-01T00:01:00.000000+00:00"},
            b.clone(): {"status": "processed", "content_summary": DOC_B, "content_length": DOC_B.len(), "file_path": "nasa.txt",
                "chunks_count": 1, "chunks_list": [chunks[2].0],
                "created_at": "2025-01-02T00:00:00+00:00", "updated_at": "2025-01-02T00:00:00+00:00"},
            format!("dup-{}", md5("x")): {"status": "failed", "file_path": "curie.txt", "content_summary": "[DUPLICATE:…]"},
        }),
    );
    let cache_key = format!("default:extract:{}", md5("chunk0"));
    let mut text_chunks = serde_json::Map::new();
    for (i, (id, doc, order, content, path)) in chunks.iter().enumerate() {
        let list = if i == 0 { json!([cache_key]) } else { json!([]) };
        text_chunks.insert(
            id.clone(),
            json!({"tokens": content.len() / 4, "content": content, "chunk_order_index": order, "full_doc_id": doc,
                "file_path": path, "llm_cache_list": list, "create_time": 1735689600, "update_time": 1735689600, "_id": id}),
        );
    }
    write("kv_store_text_chunks.json", &Value::Object(text_chunks));
    write(
        "kv_store_llm_response_cache.json",
        &json!({
            cache_key.clone(): {"return": "entity<|#|>Marie Curie<|#|>Person<|#|>A physicist.\n<|COMPLETE|>", "cache_type": "extract",
                "chunk_id": chunks[0].0, "original_prompt": "…", "create_time": 1735689600, "update_time": 1735689600, "_id": cache_key},
            format!("hybrid:keywords:{}", md5("q")): {"return": "{\"high_level_keywords\": [], \"low_level_keywords\": []}",
                "cache_type": "keywords", "chunk_id": null, "create_time": 1735689600},
        }),
    );
    let (c0, c1, c2) = (&chunks[0].0, &chunks[1].0, &chunks[2].0);
    let nodes = [
        (
            "Marie Curie",
            "person",
            format!("Marie Curie was a physicist.{SEP}She discovered radium."),
            format!("{c0}{SEP}{c1}"),
            "curie.txt",
        ),
        (
            "Pierre Curie",
            "person",
            "Pierre Curie was a physicist.".to_string(),
            c1.clone(),
            "curie.txt",
        ),
        (
            "Radium",
            "concept",
            "Radium is an element.".to_string(),
            c0.clone(),
            "curie.txt",
        ),
        (
            "NASA",
            "organization",
            "NASA is the US space agency.".to_string(),
            c2.clone(),
            "nasa.txt",
        ),
        (
            "Apollo Program",
            "event",
            "The Apollo program went to the Moon.".to_string(),
            c2.clone(),
            "nasa.txt",
        ),
    ];
    let edges = [
        (
            "Marie Curie",
            "Radium",
            "discovery",
            "Marie Curie discovered radium.",
            "2.0",
            c0.clone(),
            "curie.txt",
        ),
        (
            "Pierre Curie",
            "Marie Curie",
            "collaboration,marriage",
            "They worked together.",
            "1.0",
            c1.clone(),
            "curie.txt",
        ),
        (
            "NASA",
            "Apollo Program",
            "space exploration",
            "NASA ran the Apollo program.",
            "1.0",
            c2.clone(),
            "nasa.txt",
        ),
    ];
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut g = String::from(
        "<?xml version='1.0' encoding='utf-8'?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n\
<key id=\"d0\" for=\"node\" attr.name=\"entity_id\" attr.type=\"string\"/>\n\
<key id=\"d1\" for=\"node\" attr.name=\"entity_type\" attr.type=\"string\"/>\n\
<key id=\"d2\" for=\"node\" attr.name=\"description\" attr.type=\"string\"/>\n\
<key id=\"d3\" for=\"node\" attr.name=\"source_id\" attr.type=\"string\"/>\n\
<key id=\"d4\" for=\"node\" attr.name=\"file_path\" attr.type=\"string\"/>\n\
<key id=\"d5\" for=\"node\" attr.name=\"created_at\" attr.type=\"long\"/>\n\
<key id=\"d6\" for=\"edge\" attr.name=\"weight\" attr.type=\"double\"/>\n\
<key id=\"d7\" for=\"edge\" attr.name=\"description\" attr.type=\"string\"/>\n\
<key id=\"d8\" for=\"edge\" attr.name=\"keywords\" attr.type=\"string\"/>\n\
<key id=\"d9\" for=\"edge\" attr.name=\"source_id\" attr.type=\"string\"/>\n\
<key id=\"d10\" for=\"edge\" attr.name=\"file_path\" attr.type=\"string\"/>\n\
<key id=\"d11\" for=\"edge\" attr.name=\"created_at\" attr.type=\"long\"/>\n\
<graph edgedefault=\"undirected\">\n",
    );
    for (name, ty, desc, src, path) in &nodes {
        g.push_str(&format!(
            "<node id=\"{n}\"><data key=\"d0\">{n}</data><data key=\"d1\">{ty}</data><data key=\"d2\">{d}</data>\
<data key=\"d3\">{s}</data><data key=\"d4\">{path}</data><data key=\"d5\">1735689600</data></node>\n",
            n = esc(name),
            d = esc(desc),
            s = esc(src)
        ));
    }
    for (s, t, kw, desc, w, src, path) in &edges {
        g.push_str(&format!(
            "<edge source=\"{s}\" target=\"{t}\"><data key=\"d6\">{w}</data><data key=\"d7\">{d}</data>\
<data key=\"d8\">{kw}</data><data key=\"d9\">{src}</data><data key=\"d10\">{path}</data><data key=\"d11\">1735689600</data></edge>\n",
            d = esc(desc),
            src = esc(src)
        ));
    }
    g.push_str("</graph></graphml>\n");
    std::fs::write(dir.join("graph_chunk_entity_relation.graphml"), g).unwrap();
    write(
        "kv_store_full_entities.json",
        &json!({a.clone(): {"entity_names": ["Marie Curie", "Pierre Curie", "Radium"], "count": 3},
                b.clone(): {"entity_names": ["Apollo Program", "NASA"], "count": 2}}),
    );
    write(
        "kv_store_full_relations.json",
        &json!({a.clone(): {"relation_pairs": [["Marie Curie", "Pierre Curie"], ["Marie Curie", "Radium"]], "count": 2},
                b.clone(): {"relation_pairs": [["Apollo Program", "NASA"]], "count": 1}}),
    );
    write(
        "vdb_chunks.json",
        &vdb(
            dim,
            chunks
                .iter()
                .map(|c| {
                    (
                        c.0.clone(),
                        json!({"full_doc_id": c.1, "content": c.3, "file_path": c.4}),
                    )
                })
                .collect(),
        ),
    );
    write(
        "vdb_entities.json",
        &vdb(
            dim,
            nodes
                .iter()
                .map(|n| {
                    (
                        format!("ent-{}", md5(n.0)),
                        json!({"entity_name": n.0, "source_id": n.3}),
                    )
                })
                .collect(),
        ),
    );
    write(
        "vdb_relationships.json",
        &vdb(
            dim,
            edges
                .iter()
                .map(|e| {
                    let (x, y) = if e.0 < e.1 { (e.0, e.1) } else { (e.1, e.0) };
                    (
                        format!("rel-{}", md5(&format!("{x}{y}"))),
                        json!({"src_id": x, "tgt_id": y}),
                    )
                })
                .collect(),
        ),
    );
}

#[test]
fn a_lightrag_working_directory_becomes_a_kb() {
    let lrt = Lrt::new();
    lrt.id_as(ROOT, &["tenant", "create", "acme", "--set", "embedding_dim=8"]);
    let dir = lrt.root().join("rag_storage");
    write_lightrag(&dir, 8);
    let d = dir.to_str().unwrap();
    let report = lrt.json_as(
        ROOT,
        &[
            "kb",
            "import-lightrag",
            "-t",
            "acme",
            d,
            "--source-embedding-model",
            "lrt-hash-v2",
        ],
    );
    assert_eq!(report["kb_name"], "rag_storage");
    assert_eq!(
        (
            &report["documents"],
            &report["chunks"],
            &report["entities"],
            &report["relations"],
            &report["llm_cache"]
        ),
        (&json!(2), &json!(3), &json!(5), &json!(3), &json!(2))
    );
    assert_eq!(report["embeddings"], "kept", "{report}");
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("doc_status"))
    );
    let kb = lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "rag_storage"]);
    assert_eq!(counts(&kb), (2, 5, 3));
    // Upstream's vectors are stored bit for bit, so exact search ranks as upstream's does.
    let db = common::kbsql::KbSql::open(&lrt, kb["tenant_id"].as_str().unwrap(), kb["kb_id"].as_str().unwrap());
    let stored: Vec<(String, Vec<u8>)> = db.all("SELECT chunk_id, embedding FROM chunks");
    assert_eq!(stored.len(), 3);
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    for (id, blob) in stored {
        let kept = lrt::store::codec::decode_vector(&blob).unwrap();
        assert_eq!(bits(kept), bits(vector(&id, 8)), "chunk {id}");
    }

    let e = lrt.json_as(
        ROOT,
        &["graph", "show", "-t", "acme", "--kb", "rag_storage", "Marie Curie"],
    );
    assert_eq!(e["entity_type"], "person");
    assert_eq!(
        e["description"],
        json!(["Marie Curie was a physicist.", "She discovered radium."])
    );
    assert_eq!(e["source_ids"].as_array().unwrap().len(), 2);
    assert_eq!(e["file_paths"], json!(["curie.txt"]));
    let neighbours: Vec<&str> = e["neighbours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(neighbours, ["Radium", "Pierre Curie"], "strongest (weight 2) first");
    assert_eq!(e["neighbours"][1]["keywords"], json!(["collaboration", "marriage"]));
    assert_eq!(e["documents"].as_array().unwrap().len(), 1);
    let docs = lrt.json_as(ROOT, &["doc", "list", "-t", "acme", "--kb", "rag_storage"]);
    assert_eq!(docs.as_array().unwrap().len(), 2);
    assert!(docs.as_array().unwrap().iter().all(|d| d["status"] == "processed"));
    let curie = docs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["file_path"] == "curie.txt")
        .unwrap();
    assert_eq!(curie["chunks_count"], 2);
    assert_eq!(curie["created_at"], "2025-01-01T00:00:00.000Z");

    // The kept vectors are all positive: the question's local vector is too (in 8 dimensions,
    // "Who discovered radium?" hashes to one negative component).
    let q = lrt.json_as(
        ROOT,
        &[
            "query",
            "-t",
            "acme",
            "--kb",
            "rag_storage",
            "--mode",
            "naive",
            "What did Marie Curie discover?",
        ],
    );
    assert!(!q["chunks"].as_array().unwrap().is_empty(), "{q}");
    let q = lrt.json_as(
        ROOT,
        &[
            "query",
            "-t",
            "acme",
            "--kb",
            "rag_storage",
            "--mode",
            "mix",
            "Who discovered radium?",
        ],
    );
    assert!(q["answer"].as_str().is_some_and(|a| !a.is_empty()));

    // Re-embedding: vectors of another dimension, no model named, or --reembed.
    let other = lrt.root().join("rag_dim4");
    write_lightrag(&other, 4);
    let report = lrt.json_as(
        ROOT,
        &[
            "kb",
            "import-lightrag",
            "-t",
            "acme",
            other.to_str().unwrap(),
            "--source-embedding-model",
            "lrt-hash-v2",
        ],
    );
    assert_eq!(report["embeddings"], "reembedded");
    assert!(
        report["embeddings_reason"].as_str().unwrap().contains("4 dimensions"),
        "{report}"
    );
    let q = lrt.json_as(
        ROOT,
        &[
            "query",
            "-t",
            "acme",
            "--kb",
            "rag_dim4",
            "--mode",
            "naive",
            "What did Marie Curie discover?",
        ],
    );
    assert!(!q["chunks"].as_array().unwrap().is_empty());
    let report = lrt.json_as(ROOT, &["kb", "import-lightrag", "-t", "acme", d, "--name", "again"]);
    assert_eq!(report["embeddings"], "reembedded");
    assert!(
        report["embeddings_reason"]
            .as_str()
            .unwrap()
            .contains("--source-embedding-model")
    );
    // The name is taken now.
    assert_eq!(lrt.code_as(ROOT, &["kb", "import-lightrag", "-t", "acme", d]), 6);
}

/// Damages a working directory.
type Spoil = Box<dyn Fn(&Path)>;

#[test]
fn a_malformed_lightrag_directory_creates_nothing() {
    let lrt = Lrt::new();
    lrt.tenant("acme", None);
    let base = lrt.root().join("bad");
    let before = lrt.snapshot();
    let cases: Vec<(&str, Spoil, &str)> = vec![
        (
            "broken-json",
            Box::new(|d: &Path| std::fs::write(d.join("kv_store_text_chunks.json"), "{\"x\": [").unwrap()),
            "kv_store_text_chunks.json",
        ),
        (
            "not-object",
            Box::new(|d: &Path| std::fs::write(d.join("kv_store_full_docs.json"), "[1, 2]").unwrap()),
            "kv_store_full_docs.json",
        ),
        (
            "no-docs",
            Box::new(|d: &Path| std::fs::remove_file(d.join("kv_store_full_docs.json")).unwrap()),
            "kv_store_full_docs.json is missing",
        ),
        (
            "bad-graph",
            Box::new(|d: &Path| {
                std::fs::write(d.join("graph_chunk_entity_relation.graphml"), "<graphml><graph>").unwrap()
            }),
            "graph_chunk_entity_relation.graphml",
        ),
        (
            "bad-matrix",
            Box::new(|d: &Path| {
                let mut v: Value = serde_json::from_slice(&std::fs::read(d.join("vdb_chunks.json")).unwrap()).unwrap();
                v["matrix"] = json!("AAAA");
                std::fs::write(d.join("vdb_chunks.json"), v.to_string()).unwrap();
            }),
            "vdb_chunks.json",
        ),
    ];
    for (name, spoil, expect) in cases {
        let dir = base.join(name);
        write_lightrag(&dir, 8);
        spoil(&dir);
        let run = lrt.run_as(
            ROOT,
            &["kb", "import-lightrag", "-t", "acme", dir.to_str().unwrap(), "--json"],
        );
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        let message = run.json_error()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(expect), "{name}: {message}");
        assert_eq!(lrt.snapshot(), before, "{name} created something");
    }
    #[cfg(unix)]
    {
        let dir = base.join("symlink");
        write_lightrag(&dir, 8);
        std::fs::remove_file(dir.join("kv_store_full_docs.json")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("kv_store_full_docs.json")).unwrap();
        let run = lrt.run_as(ROOT, &["kb", "import-lightrag", "-t", "acme", dir.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("symbolic links"), "{}", run.stderr);
    }
    let _ = std::io::stdout().flush();
}

#[test]
fn imported_document_names_follow_the_upload_rule() {
    // An archive whose kb.db names a document with a terminal escape.
    let (lrt, file) = exported();
    let (manifest, db) = parts(&file);
    let before = lrt.snapshot();
    for (name, bad) in [
        ("escape", "'esc' || char(27) || '[31m.md'"),
        ("c1", "'c1' || char(133) || '.md'"),
    ] {
        let sql = format!("UPDATE documents SET file_path = {bad} WHERE rowid = (SELECT min(rowid) FROM documents);");
        let archive = hostile(&lrt, &manifest, &db, name, &sql);
        assert_import_refused(&lrt, &archive, "invalid file name", &before);
    }

    // A LightRAG directory whose document name holds a bidi override (in doc_status and
    // full_docs, as upstream writes it).
    let lrt = Lrt::new();
    lrt.id_as(ROOT, &["tenant", "create", "acme", "--set", "embedding_dim=8"]);
    lrt.kb("acme", "other"); // the tenant's kbs/ folder exists, as after any KB
    let before = lrt.snapshot();
    let dir = lrt.root().join("rag_storage");
    write_lightrag(&dir, 8);
    for file in ["kv_store_doc_status.json", "kv_store_full_docs.json"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        std::fs::write(dir.join(file), text.replace("\"nasa.txt\"", "\"nasa\\u202etxt.exe\"")).unwrap();
    }
    let run = lrt.run_as(
        ROOT,
        &[
            "kb",
            "import-lightrag",
            "-t",
            "acme",
            dir.to_str().unwrap(),
            "--source-embedding-model",
            "lrt-hash-v2",
            "--json",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let message = run.json_error()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("invalid file name \"nasa\\u{202e}txt.exe\"") && message.contains("nothing was imported"),
        "{message}"
    );
    assert_eq!(lrt.snapshot(), before, "the refused import created something");
}

/// `db` changed by `sql`, as a hostile archive would bring it, with a manifest that matches it.
fn hostile(lrt: &Lrt, manifest: &Value, db: &[u8], name: &str, sql: &str) -> PathBuf {
    let file = lrt.root().join(format!("{name}.db"));
    std::fs::write(&file, db).unwrap();
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute_batch(sql).unwrap();
    conn.execute_batch("PRAGMA journal_mode=DELETE;").unwrap();
    drop(conn);
    let bytes = std::fs::read(&file).unwrap();
    let mut m = manifest.clone();
    m["kb"]["file"]["size"] = json!(bytes.len());
    m["kb"]["file"]["sha256"] = json!(sha256_hex(&bytes));
    let archive = lrt.root().join(format!("{name}.lrtkb"));
    raw_tar(
        &archive,
        &[(b"manifest.json", &serde_json::to_vec(&m).unwrap()), (b"kb.db", &bytes)],
    );
    archive
}

#[test]
fn an_archive_schema_that_is_not_lrts_is_refused_and_doctor_finds_one_in_place() {
    let (lrt, file) = exported();
    let (manifest, db) = parts(&file);
    let cases = [
        (
            hostile(
                &lrt,
                &manifest,
                &db,
                "trigger",
                "CREATE TABLE kept (content TEXT);
                 CREATE TRIGGER keep AFTER INSERT ON documents BEGIN INSERT INTO kept VALUES (new.content); END;",
            ),
            "trigger \"keep\" is not part of lrt's schema",
        ),
        (
            hostile(
                &lrt,
                &manifest,
                &db,
                "view",
                "DROP TABLE llm_cache;
                 CREATE VIEW llm_cache AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r)
                     SELECT n AS cache_key FROM r;",
            ),
            "view \"llm_cache\" is not part of lrt's schema",
        ),
        (
            hostile(&lrt, &manifest, &db, "missing", "DROP TABLE doc_relations;"),
            "table \"doc_relations\" is missing",
        ),
    ];
    // A staging folder a killed import left behind goes at the next import.
    let stale = lrt.data_dir().join(".staging-killed");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join(".lock"), b"").unwrap();
    std::fs::write(stale.join("entry-0"), b"half a snapshot").unwrap();
    let report = lrt.json_as(ROOT, &["doctor"]);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "staging"),
        "{report}"
    );
    let mut before = lrt.snapshot();
    before["tree"]
        .as_array_mut()
        .unwrap()
        .retain(|p| !p.as_str().unwrap().starts_with(".staging-killed"));

    for (path, expect) in &cases {
        let started = std::time::Instant::now();
        assert_import_refused(&lrt, path, expect, &before);
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }
    let leftovers: Vec<_> = std::fs::read_dir(lrt.data_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".staging"))
        .collect();
    assert!(leftovers.is_empty(), "staging folders left behind: {leftovers:?}");

    // A KB that already holds a foreign trigger (an import made before this check) is a
    // problem doctor names.
    let show = lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"]);
    let dir = lrt.kb_dir(show["tenant_id"].as_str().unwrap(), show["kb_id"].as_str().unwrap());
    rusqlite::Connection::open(dir.join("kb.db"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE kept (content TEXT);
             CREATE TRIGGER keep AFTER DELETE ON documents BEGIN INSERT INTO kept VALUES (old.content); END;",
        )
        .unwrap();
    let run = lrt.run_as(ROOT, &["doctor", "--json"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "schema")
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        finding["detail"].as_str().unwrap().contains("trigger \"keep\""),
        "{finding}"
    );
}

#[test]
fn an_export_is_never_written_inside_the_data_directory() {
    let lrt = ingested();
    let show = lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"]);
    let dir = lrt.kb_dir(show["tenant_id"].as_str().unwrap(), show["kb_id"].as_str().unwrap());
    let catalog = lrt.data_dir().join("catalog.db");
    let before = std::fs::read(&catalog).unwrap();
    for target in [catalog.clone(), dir.join("kb.db"), dir.join("new-file")] {
        let out = target.to_str().unwrap();
        for args in [
            vec!["kb", "export", "-t", "acme", "--kb", "docs", "-O", out, "--force"],
            vec!["tenant", "export", "acme", "-O", out, "--force"],
            vec![
                "graph", "export", "-t", "acme", "--kb", "docs", "--format", "json", "--out", out, "--force",
            ],
        ] {
            let run = lrt.run_as(ROOT, &args);
            assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
            assert!(run.stderr.contains("inside the data directory"), "{}", run.stderr);
        }
    }
    assert_eq!(std::fs::read(&catalog).unwrap(), before);
    assert!(!dir.join("new-file").exists());
    assert_eq!(
        lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"])["document_count"],
        show["document_count"]
    );
}
