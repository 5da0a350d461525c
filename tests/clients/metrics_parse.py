"""Scrapes an lrt /metrics URL and parses it with prometheus_client's own parsers.

Usage: metrics_parse.py URL

The Content-Type picks the parser, as Prometheus does: OpenMetrics text with
prometheus_client.openmetrics.parser, else the classic text format with
prometheus_client.parser. Prints one JSON object: {"content_type": ..., "families":
{name: {"type": ..., "help": ..., "samples": [[sample name, labels, value], ...]}}}.
A parse error exits non-zero with the parser's message.
"""

import json
import sys
import urllib.request

from prometheus_client import parser as text_parser
from prometheus_client.openmetrics import parser as openmetrics_parser


def main() -> None:
    url = sys.argv[1]
    with urllib.request.urlopen(url, timeout=10) as response:
        content_type = response.headers.get("Content-Type", "")
        body = response.read().decode("utf-8")
    if content_type.startswith("application/openmetrics-text"):
        families = openmetrics_parser.text_string_to_metric_families(body)
    else:
        families = text_parser.text_string_to_metric_families(body)
    out = {}
    for family in families:
        out[family.name] = {
            "type": family.type,
            "help": family.documentation,
            "samples": [[s.name, s.labels, s.value] for s in family.samples],
        }
    json.dump({"content_type": content_type, "families": out}, sys.stdout)


if __name__ == "__main__":
    main()
