"""Drives lrt serve's OpenAI-compatible API with the official `openai` client (run by
tests/serve_compat.rs; the environment is that of ollama_compat.py)."""

import os

import openai

env = os.environ
BASE, A, B, B_ID = env["LRT_BASE"], env["MODEL_A"], env["MODEL_B"], env["MODEL_B_ID"]
QUESTION = [{"role": "user", "content": "What did Marie Curie discover?"}]


def client(key):
    return openai.OpenAI(base_url=BASE + "/v1", api_key=key, max_retries=0)


def expect(error, call):
    try:
        call()
    except error as e:
        assert "CANARY-B" not in str(e), e
        return e
    raise AssertionError(f"expected {error.__name__}")


a, b, other = client(env["KEY_A"]), client(env["KEY_B"]), client(env["KEY_A_OTHER"])

assert [m.id for m in a.models.list()] == [A, "acme/other"]
assert [m.id for m in b.models.list()] == [B]
assert [m.id for m in other.models.list()] == ["acme/other"]

# Not streamed: the answer, usage, and the references in the text and as a field.
r = a.chat.completions.create(model=A, messages=QUESTION)
choice = r.choices[0]
assert r.object == "chat.completion" and r.model == A and choice.finish_reason == "stop", r
assert "MOCK-ANSWER" in choice.message.content, r
assert "### References" in choice.message.content and "curie.txt" in choice.message.content, r
u = r.usage
assert u.prompt_tokens > 0 and u.completion_tokens > 0, u
assert u.total_tokens == u.prompt_tokens + u.completion_tokens, u
refs = r.model_extra["references"]
assert refs and refs[0]["file_path"].endswith("curie.txt") and refs[0]["cited"] is True, refs

# Streamed, with the usage chunk asked for: pieces, a final chunk with the references,
# then a chunk with no choices and the usage.
chunks = list(
    a.chat.completions.create(
        model=A,
        messages=[{"role": "user", "content": "Which element did Marie Curie find?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
)
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
assert "MOCK-ANSWER" in text and "curie.txt" in text, text
assert len(chunks) >= 5, chunks
finished = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
assert len(finished) == 1 and finished[0].model_extra["references"], chunks
assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0, chunks[-1]
# Without it, the usage rides on the final chunk.
stream = a.chat.completions.create(model=A, messages=QUESTION, stream=True)
last = list(stream)[-1]
assert last.choices[0].finish_reason == "stop" and last.usage.completion_tokens > 0, last

# Prefixes and history, as in the Ollama API.
ctx = a.chat.completions.create(model=A, messages=[{"role": "user", "content": "/context Marie Curie polonium"}])
assert "CANARY-A" in ctx.choices[0].message.content, ctx
history = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi there"},
    {"role": "user", "content": [{"type": "text", "text": "/bypass Tell me a joke"}]},
]
bypass = a.chat.completions.create(model=A, messages=history)
assert bypass.choices[0].message.content == "ECHO(4): Tell me a joke", bypass
assert bypass.model_extra["references"] == [], bypass

# Isolation and errors, with OpenAI's exceptions.
for model in (B, B_ID, B + ":latest"):
    e = expect(openai.NotFoundError, lambda: a.chat.completions.create(model=model, messages=QUESTION))
    assert e.status_code == 404 and e.body["code"] == "model_not_found", e.body
    expect(openai.NotFoundError, lambda: list(a.chat.completions.create(model=model, messages=QUESTION, stream=True)))
expect(openai.NotFoundError, lambda: other.chat.completions.create(model=A, messages=QUESTION))
expect(openai.NotFoundError, lambda: a.chat.completions.create(model="gpt-4o", messages=QUESTION))
assert "MOCK-ANSWER" in b.chat.completions.create(model=B, messages=QUESTION).choices[0].message.content
expect(openai.AuthenticationError, lambda: client("not-a-key").models.list())
expect(openai.AuthenticationError, lambda: client("lrt_" + "x" * 52).models.list())
expect(openai.BadRequestError, lambda: a.chat.completions.create(model=A, messages=[{"role": "assistant", "content": "x"}]))
print("openai client: ok")
