"""Drives an MCP server with the official `mcp` SDK's client (tests/mcp.rs runs this).

Usage: python mcp_client.py PLAN.json

PLAN: {"transport": {"stdio": {"command", "args", "env"}} | {"http": {"url", "headers"}},
       "mode"?: "legacy" (the initialize handshake of protocols before 2026-07-28),
       "steps": [{"tool", "args", "save"?, "until"?: {"key", "in": [...]}, "timeout"?}]}

Connects with the SDK's `Client` (its own protocol negotiation), lists the tools, then calls
each step's tool. A string argument "${name.key}" is replaced by `key` of the structured result
saved as `name`. A step with `until` is repeated (every 0.2 s, at most `timeout` s) until its
structured result's `key` is one of the values. A protocol error (an exception) is recorded,
not raised. Prints one JSON document on stdout: the negotiated protocol version, the server's
name, the tools (wire form) and each step's result (wire form, or {"exception": text}).
"""

import asyncio
import json
import sys
import time

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


def substitute(value, saved):
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        name, key = value[2:-1].split(".", 1)
        return saved[name][key]
    if isinstance(value, dict):
        return {k: substitute(v, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, saved) for v in value]
    return value


def wire(model):
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def run(plan):
    transport = plan["transport"]
    if "stdio" in transport:
        spec = transport["stdio"]
        server = StdioServerParameters(command=spec["command"], args=spec["args"], env=spec["env"])
        http = None
    else:
        spec = transport["http"]
        http = httpx2.AsyncClient(headers=spec.get("headers", {}), timeout=120)
        server = streamable_http_client(spec["url"], http_client=http)
    out = {"results": []}
    saved = {}
    try:
        async with Client(server, read_timeout_seconds=120, mode=plan.get("mode", "auto")) as client:
            out["protocol_version"] = client.protocol_version
            info = client.server_info
            out["server_name"] = info.name if info is not None else None
            listed = await client.list_tools()
            out["tools"] = [wire(t) for t in listed.tools]
            for step in plan["steps"]:
                args = substitute(step.get("args", {}), saved)
                until = step.get("until")
                deadline = time.monotonic() + step.get("timeout", 60)
                while True:
                    try:
                        result = wire(await client.call_tool(step["tool"], args))
                    except Exception as e:  # a protocol error: recorded for the test to judge
                        result = {"exception": f"{type(e).__name__}: {e}"}
                        break
                    structured = result.get("structuredContent") or {}
                    if until is None or structured.get(until["key"]) in until["in"]:
                        break
                    if time.monotonic() > deadline:
                        result["timed_out"] = True
                        break
                    await asyncio.sleep(0.2)
                if "save" in step and "structuredContent" in result:
                    saved[step["save"]] = result["structuredContent"]
                out["results"].append(result)
    finally:
        if http is not None:
            await http.aclose()
    return out


def main():
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    out = asyncio.run(run(plan))
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
