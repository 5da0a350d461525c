"""Drives lrt serve's Ollama-compatible API with the official `ollama` client (run by
tests/serve_compat.rs, which starts the server, a mock model and the tenants).

Environment: LRT_BASE (http://host:port), KEY_A (a viewer key of tenant acme), KEY_A_OTHER (a
key of acme limited to KB `other`), KEY_B (an admin key of tenant globex), MODEL_A
(acme/docs), MODEL_B (globex/secret), MODEL_B_ID (globex's KB by tenant and KB ids)."""

import os

import ollama

env = os.environ
BASE, A, B, B_ID = env["LRT_BASE"], env["MODEL_A"], env["MODEL_B"], env["MODEL_B_ID"]
QUESTION = "What did Marie Curie discover?"


def client(key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return ollama.Client(host=BASE, headers=headers)


def expect_status(status, call):
    try:
        call()
    except ollama.ResponseError as e:
        assert e.status_code == status, (status, e.status_code, e.error)
        assert "CANARY-B" not in e.error, e.error
        return e
    raise AssertionError(f"expected HTTP {status}")


def ask(c, content, model=A, stream=False, history=()):
    messages = list(history) + [{"role": "user", "content": content}]
    return c.chat(model=model, messages=messages, stream=stream)


a, b, other = client(env["KEY_A"]), client(env["KEY_B"]), client(env["KEY_A_OTHER"])

# Models: each key sees exactly the KBs it may query, with the `latest` tag.
assert [m.model for m in a.list().models] == [A + ":latest", "acme/other:latest"], a.list()
assert [m.model for m in b.list().models] == [B + ":latest"], b.list()
assert [m.model for m in other.list().models] == ["acme/other:latest"], other.list()
listed = a.list().models[0]
assert listed.details.family == "lrt" and listed.size > 0 and len(listed.digest) == 64, listed
show = a.show(A + ":latest")
assert show.details.family == "lrt" and "completion" in show.capabilities, show

# Chat, not streamed: an answer from the KB with Ollama's statistics and the references.
r = ask(a, QUESTION)
assert r.done and r.done_reason == "stop", r
assert r.message.role == "assistant" and "MOCK-ANSWER" in r.message.content, r
assert "### References" in r.message.content and "curie.txt" in r.message.content, r
assert r.prompt_eval_count > 0 and r.eval_count > 0 and r.total_duration > 0, r

# Streamed: several pieces, then one final `done` object with the counts.
parts = list(ask(a, "Which element did Marie Curie find?", stream=True))
assert len(parts) >= 4, parts
assert all(not p.done for p in parts[:-1]) and parts[-1].done, parts
assert parts[-1].done_reason == "stop" and parts[-1].eval_count > 0, parts[-1]
text = "".join(p.message.content for p in parts)
assert "MOCK-ANSWER" in text and "curie.txt" in text, text

# Mode prefixes and history.
ctx = ask(a, "/context " + QUESTION).message.content
assert "CANARY-A" in ctx and "MOCK-ANSWER" not in ctx, ctx
ctx = "".join(p.message.content for p in ask(a, "/naivecontext " + QUESTION, stream=True))
assert "CANARY-A" in ctx and "MOCK-ANSWER" not in ctx, ctx
history = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there"}]
bypass = ask(a, "/bypass Tell me a joke", history=history).message.content
assert bypass == "ECHO(3): Tell me a joke", bypass
local = ask(a, "/local[TABLE-PLEASE] " + QUESTION, history=history).message.content
assert "MOCK-ANSWER" in local and "(messages: 4, user prompt)" in local, local

# Generate: the KB's model alone, streamed and not; an empty prompt only loads.
g = a.generate(model=A, prompt="Say hi", system="Be terse.", stream=False)
assert g.done and g.response == "ECHO(2): Say hi", g
pieces = list(a.generate(model=A, prompt="Say hi", stream=True))
assert pieces[-1].done and "".join(p.response for p in pieces) == "ECHO(1): Say hi", pieces
assert a.generate(model=A, prompt="").done_reason == "load"

# Isolation: tenant A's key cannot reach B's KB, by name or id, streamed or not; A's key
# limited to `other` cannot reach `docs`; unknown models and missing keys as Ollama says.
for model in (B, B + ":latest", B_ID):
    e = expect_status(404, lambda: ask(a, QUESTION, model=model))
    assert "secret" not in e.error or model in e.error, e.error
    expect_status(404, lambda: list(ask(a, QUESTION, model=model, stream=True)))
    expect_status(404, lambda: a.show(model))
    expect_status(404, lambda: a.generate(model=model, prompt="hi"))
expect_status(404, lambda: ask(other, QUESTION))
expect_status(404, lambda: ask(a, QUESTION, model="llama3"))
assert "MOCK-ANSWER" in ask(b, QUESTION, model=B).message.content
expect_status(401, lambda: client().list())
expect_status(401, lambda: client("lrt_" + "x" * 52).list())
print("ollama client: ok")
